"""The ``kind`` provider: a kind cluster named ``pytest-pods``, the default where a Docker engine
answers. A thin layer over :mod:`pytest_pods.kindcluster.cluster`, which calls the kind and docker
commands itself: nothing is downloaded (kind comes from ``--pods-kind-binary``, the cached
``pytest-pods kind install`` build, or PATH), and nothing is written to the working directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import ProviderError
from pytest_pods.kindcluster.cluster import CLUSTER_NAME, KindCluster, KindSpec, describe
from pytest_pods.kindcluster.tools import docker_unavailable, find_kind
from pytest_pods.providers.base import ClusterInfo, ProgressFn
from pytest_pods.settings import Settings

if TYPE_CHECKING:
    from pytest_pods.kindcluster.handle import OfflineKindHandle

__all__ = ["CLUSTER_NAME", "KindProvider", "docker_unavailable", "kind_binary"]


def kind_binary(settings: Settings) -> Path | None:
    return find_kind(settings.kind_binary, CachePaths.default())


class KindProvider:
    """A kind cluster, created if missing, reused when its version, image and config match."""

    name = "kind"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cluster = KindCluster(
            KindSpec(
                kubernetes_version=settings.kubernetes_version,
                image=settings.kind_image,
                config=settings.kind_config,
                kind_binary=settings.kind_binary,
            )
        )

    def unavailable(self) -> str | None:
        return self.cluster.unavailable()

    def describe(self) -> str:
        return describe(self.cluster.spec)

    def start(self, progress: ProgressFn) -> ClusterInfo:
        info = self.cluster.up(progress)
        return ClusterInfo(
            provider=self.name,
            kubeconfig=info.kubeconfig,
            context=info.context,
            kubernetes_version=info.kubernetes_version,
            description=f"kind cluster {info.name!r} ({info.why})",
            reused=info.reused,
            server=self.cluster.server(),
            name=info.name,
        )

    def pytest_kind(self) -> OfflineKindHandle:
        """pytest-kind's ``KindCluster`` for this cluster (offline: it never downloads)."""
        return self.cluster.handle()

    def stop(self, progress: ProgressFn) -> None:
        self.cluster.delete(progress)

    def load_images(self, archives: Sequence[Path], progress: ProgressFn) -> None:
        if not self.cluster.exists():
            raise ProviderError("the kind cluster is not running: start it before loading images")
        self.cluster.load_images(archives, progress)
