"""The ``local`` provider: the Docker-free cluster of :mod:`pytest_pods.localcluster`.

The cluster package is imported inside functions only, so that the rest of the plugin loads (and
other providers work) on machines that cannot run it.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_pods.errors import PodsError, PreflightError, ProviderError
from pytest_pods.providers.base import ClusterInfo, ProgressFn
from pytest_pods.settings import Settings

NEEDED_TOOLS = ("containerd", "runc")


def local_unavailable() -> str | None:
    """None if this machine can run the local cluster, else what it lacks and how to fix it.

    Asks the cluster package's own preflight (``localcluster.host.Preflight``: root, tools, kernel;
    not the ports, which a running cluster holds); without it, checks root and the runtime on PATH.
    """
    try:
        module: Any = importlib.import_module("pytest_pods.localcluster.host")
    except ImportError:
        module = None
    preflight = getattr(module, "Preflight", None)
    checks: list[Any] = [getattr(preflight, n, None) for n in ("check_root", "check_kernel", "check_tools")]
    if preflight is not None and all(callable(c) for c in checks):
        try:
            for check in checks:
                check()
        except PreflightError as exc:
            return str(exc)
        return None
    if os.geteuid() != 0:
        return (
            "the local provider needs root (it runs containerd and a kubelet): run pytest as root, "
            "or use --pods-provider=kind (with Docker) or --pods-provider=existing"
        )
    missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
    if missing:
        tools = " ".join(missing)
        return f"the local provider needs {tools} on PATH: apt-get install {tools}"
    return None


class LocalProvider:
    """A single-node cluster made of host processes, reused across runs when healthy."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cluster: Any = None

    def _get(self) -> Any:
        if self._cluster is None:
            try:
                from pytest_pods.localcluster.cluster import ClusterConfig, LocalCluster
            except ImportError as exc:
                raise ProviderError(f"the local cluster package cannot be imported: {exc}") from exc
            version = self.settings.kubernetes_version
            config = ClusterConfig(kubernetes_version=version) if version else ClusterConfig()
            self._cluster = LocalCluster(config)
        return self._cluster

    def unavailable(self) -> str | None:
        return local_unavailable()

    def describe(self) -> str:
        try:
            cluster = self._get()
            status = cluster.status()
        except (PodsError, OSError, ValueError) as exc:
            return f"local Docker-free cluster (status unknown: {exc})"
        wanted = getattr(getattr(cluster, "config", None), "kubernetes_version", "the default")
        if status.healthy:
            version = status.kubernetes_version or wanted
            return f"local Docker-free cluster, running (reused), Kubernetes {version}"
        return f"local Docker-free cluster, not running ({status.phase}): starts Kubernetes {wanted}"

    def start(self, progress: ProgressFn) -> ClusterInfo:
        info = self._get().up(progress=progress)
        return ClusterInfo(
            provider=self.name,
            kubeconfig=Path(info.kubeconfig),
            context=None,
            kubernetes_version=str(info.kubernetes_version),
            description=f"local cluster {info.name!r} (Docker-free) at {getattr(info, 'server', '?')}"
            + (", reused" if info.reused else ""),
            reused=bool(info.reused),
        )

    def stop(self, progress: ProgressFn) -> None:
        self._get().down(progress=progress)

    def load_images(self, archives: Sequence[Path], progress: ProgressFn) -> None:
        self._get().load_images([Path(a) for a in archives], progress=progress)
