"""The ``local`` provider: the Docker-free cluster of :mod:`pytest_pods.localcluster`.

The cluster package is typed here like any import; its heavier modules (certificates, the build) are
imported on first use only, so that a session that uses no cluster does not pay for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pods.core.progress import Progress
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.errors import mapped_local_errors
from pytest_pods.localcluster.errors import PreflightError
from pytest_pods.localcluster.host import Preflight
from pytest_pods.providers.base import ClusterInfo
from pytest_pods.settings import Settings

if TYPE_CHECKING:
    from pytest_pods.localcluster.cluster import LocalCluster


def local_unavailable() -> str | None:
    """None if this machine can run the local cluster, else what it lacks and how to fix it: the
    cluster package's own preflight (root, tools, kernel; not the ports, which a running cluster
    holds)."""
    try:
        Preflight.check_root()
        Preflight.check_kernel()
        Preflight.check_tools()
    except PreflightError as exc:
        return str(exc)
    return None


class LocalProvider:
    """A single-node cluster made of host processes, reused across runs when healthy."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cluster: LocalCluster | None = None

    def _get(self) -> LocalCluster:
        if self._cluster is None:
            from pytest_pods.localcluster.cluster import ClusterConfig, LocalCluster

            version = self.settings.kubernetes_version
            config = ClusterConfig(kubernetes_version=version) if version else ClusterConfig()
            self._cluster = LocalCluster(config)
        return self._cluster

    def unavailable(self) -> str | None:
        return local_unavailable()

    def describe(self) -> str:
        version = self.settings.kubernetes_version or DEFAULT_KUBERNETES_VERSION
        return f"local Docker-free cluster (reused when running, else started), Kubernetes {version}"

    def start(self, progress: Progress) -> ClusterInfo:
        with mapped_local_errors():
            return self._get().up(progress=progress)

    def stop(self, progress: Progress) -> None:
        with mapped_local_errors():
            self._get().down(progress=progress)

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        with mapped_local_errors():
            self._get().load_images([Path(a) for a in archives], progress=progress)
