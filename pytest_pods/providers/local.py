"""The ``local`` provider: the Docker-free cluster of :mod:`pytest_pods.localcluster`.

It imports the cluster package's face only (whose names load on first use, so that a session that
uses no cluster does not pay for the certificates and the build), and translates the package's own
errors into the plugin's at one boundary, :func:`local_errors`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

from pytest_pods import errors, localcluster
from pytest_pods.core.progress import Progress
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.providers.base import ClusterInfo, ProviderStatus
from pytest_pods.settings import Settings


def translated(exc: localcluster.LocalClusterError) -> errors.ClusterError:
    """The plugin's error for one the local cluster raised: the same class name, fields and message
    (the message as the builder wrote it)."""
    if isinstance(exc, localcluster.PreflightError):
        return errors.PreflightError(str(exc), missing=exc.missing, fix=exc.fix)
    if isinstance(exc, localcluster.BuildError):
        return errors.BuildError(str(exc), what=exc.what, detail=exc.detail, log_tail=exc.log_tail)
    if isinstance(exc, localcluster.ComponentError):
        return errors.ComponentError(
            str(exc), component=exc.component, detail=exc.detail, log_path=exc.log_path, log_tail=exc.log_tail
        )
    return errors.ClusterError(*exc.args)


@contextlib.contextmanager
def local_errors() -> Iterator[None]:
    """The boundary: what the local cluster raises leaves as the plugin's error (the original is its
    cause). The kind provider passes its builds (which run through the local cluster's) through it too."""
    try:
        yield
    except localcluster.LocalClusterError as exc:
        raise translated(exc) from exc


def local_unavailable() -> str | None:
    """None if this machine can run the local cluster, else what it lacks and how to fix it: the
    cluster package's own preflight (root, tools, kernel; not the ports, which a running cluster
    holds)."""
    try:
        localcluster.Preflight.check_root()
        localcluster.Preflight.check_kernel()
        localcluster.Preflight.check_tools()
    except localcluster.PreflightError as exc:
        return str(exc)
    return None


class LocalProvider:
    """A single-node cluster made of host processes, reused across runs when healthy."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cluster: localcluster.LocalCluster | None = None

    def _get(self) -> localcluster.LocalCluster:
        if self._cluster is None:
            version = self.settings.kubernetes_version
            config = localcluster.ClusterConfig()
            self._cluster = localcluster.LocalCluster(
                dataclasses.replace(config, kubernetes_version=version) if version else config
            )
        return self._cluster

    def unavailable(self) -> str | None:
        return local_unavailable()

    def describe(self) -> str:
        version = self.settings.kubernetes_version or DEFAULT_KUBERNETES_VERSION
        return f"local Docker-free cluster (reused when running, else started), Kubernetes {version}"

    def start(self, progress: Progress) -> ClusterInfo:
        with local_errors():
            return self._get().up(progress=progress)

    def stop(self, progress: Progress) -> None:
        cluster = self._get()
        with local_errors():
            cluster.down(progress=progress)
        progress(f"cluster {cluster.config.name!r} is down; nothing of it is left but the cache")

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        with local_errors():
            self._get().load_images([Path(a) for a in archives], progress=progress)

    def status(self) -> ProviderStatus:
        with local_errors():
            st = self._get().status()
        return ProviderStatus(
            f"cluster {self._get().config.name!r}: {'healthy' if st.healthy else 'NOT healthy'} ({st.phase})",
            st.healthy,
            [f"{name:<24} {state}" for name, state in st.components.items()]
            + [f"problem: {problem}" for problem in st.problems],
        )
