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

from pytest_pods.errors import PreflightError, ProviderError
from pytest_pods.providers.base import ClusterInfo, ProgressFn
from pytest_pods.settings import Settings

NEEDED_TOOLS = ("containerd", "runc")


def local_unavailable() -> str | None:
    """None if this machine can run the local cluster, else what it lacks and how to fix it.

    Asks ``pytest_pods.localcluster.preflight`` when that module offers a ``preflight``/``check``
    function; otherwise checks for root and the container runtime on PATH.
    """
    try:
        module: Any = importlib.import_module("pytest_pods.localcluster.preflight")
    except ImportError:
        module = None
    check = getattr(module, "preflight", None) or getattr(module, "check", None)
    if callable(check):
        try:
            problems = check()
        except PreflightError as exc:
            return str(exc)
        except TypeError:
            problems = None  # a signature we do not know: fall back to our own checks
        else:
            if not problems:
                return None
            if isinstance(problems, str):
                return problems
            if isinstance(problems, (list, tuple)):
                return "; ".join(str(p) for p in problems)
    if os.geteuid() != 0:
        return (
            "the local provider needs root (it runs containerd and a kubelet): run pytest as root, "
            "or use --pods-provider=kind (with Docker) or --pods-provider=existing"
        )
    missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"the local provider needs {' and '.join(missing)} on PATH: apt-get install {' '.join(missing)}"
        )
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
