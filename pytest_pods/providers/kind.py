"""The ``kind`` provider: a kind cluster named ``pytest-pods``, the default where a Docker engine
answers. A thin layer over :mod:`pytest_pods.kindcluster`, which calls the kind and docker commands
itself: nothing is downloaded (kind comes from ``--pods-kind-binary``, the cached
``pytest-pods kind install`` build, or PATH), and nothing is written to the working directory.

What the kind lifecycle raises (its own :class:`~pytest_pods.kindcluster.KindError`, and the local
cluster's errors from the builds it shares) leaves as the plugin's errors at one boundary,
:func:`kind_errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import ProviderError
from pytest_pods.kindcluster import (
    CLUSTER_NAME,
    KindCluster,
    KindError,
    KindSpec,
    describe,
    docker_unavailable,
    find_kind,
)
from pytest_pods.providers.base import ClusterInfo, ProgressFn, ProviderStatus
from pytest_pods.providers.local import local_errors
from pytest_pods.settings import Settings

if TYPE_CHECKING:
    from pytest_pods.kindcluster import OfflineKindHandle

__all__ = ["CLUSTER_NAME", "KindProvider", "docker_unavailable", "kind_binary", "kind_errors"]


@contextlib.contextmanager
def kind_errors() -> Iterator[None]:
    """The boundary: a :class:`~pytest_pods.kindcluster.KindError` leaves as :class:`ProviderError`
    (same message; the original is its cause), and the local cluster's errors of the builds kind
    shares as the plugin's cluster errors."""
    with local_errors():
        try:
            yield
        except KindError as exc:
            raise ProviderError(*exc.args) from exc


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
        with kind_errors():
            return self.cluster.unavailable()

    def describe(self) -> str:
        return describe(self.cluster.spec)

    def start(self, progress: ProgressFn) -> ClusterInfo:
        with kind_errors():
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
        with kind_errors():
            return self.cluster.handle(missing=ProviderError)

    def stop(self, progress: ProgressFn) -> None:
        with kind_errors():
            self.cluster.delete(progress)
        progress(f"kind cluster {self.cluster.spec.name!r} is deleted")

    def status(self) -> ProviderStatus:
        with kind_errors():
            problem = self.cluster.health()
        name = self.cluster.spec.name
        if problem is None:
            return ProviderStatus(f"kind cluster {name!r}: healthy", True)
        return ProviderStatus(f"kind cluster {name!r}: NOT healthy", False, [f"problem: {problem}"])

    def load_images(self, archives: Sequence[Path], progress: ProgressFn) -> None:
        with kind_errors():
            if not self.cluster.exists():
                raise ProviderError("the kind cluster is not running: start it before loading images")
            self.cluster.load_images(archives, progress)
