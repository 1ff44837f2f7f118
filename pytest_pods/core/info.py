"""What starting a cluster gives back: the one ``ClusterInfo`` of pytest-pods.

The local cluster returns it, and so does every provider (``pytest_pods.providers.base`` re-exports
it, for a third-party provider to type against).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClusterInfo:
    """A running cluster: how to reach it, and what to say about it in the report.

    ``reused`` is True for a cluster that was already running (a run never stops one it did not
    start); ``server`` is the API server's URL and ``name`` the cluster's own name, where known.
    """

    provider: str
    kubeconfig: Path
    context: str | None
    kubernetes_version: str
    description: str
    reused: bool = False
    server: str = ""
    name: str = ""
