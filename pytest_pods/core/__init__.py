"""What every cluster provider shares, and nothing else: progress of long steps, what a started
cluster gives back, the persistent cache, and the Kubernetes versions pytest-pods builds.

It imports nothing else of pytest-pods, so the cluster builders (:mod:`pytest_pods.localcluster`,
:mod:`pytest_pods.kindcluster`), the providers and a third-party provider can all type against it.
"""

from __future__ import annotations

from pytest_pods.core.info import ClusterInfo
from pytest_pods.core.paths import CachePaths, cache_root, log_tail
from pytest_pods.core.progress import Progress, Stopwatch, silent, to_stderr
from pytest_pods.core.versions import (
    DEFAULT_KUBERNETES_VERSION,
    MIN_KUBERNETES_MINOR,
    normalize_kubernetes_version,
)

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "MIN_KUBERNETES_MINOR",
    "CachePaths",
    "ClusterInfo",
    "Progress",
    "Stopwatch",
    "cache_root",
    "log_tail",
    "normalize_kubernetes_version",
    "silent",
    "to_stderr",
]
