"""The persistent cache every provider shares (binaries, images, Go caches, kind), and log tails.

The cache is keyed by version and survives ``cluster down``. A cluster's own state (the local
cluster's :class:`~pytest_pods.localcluster.StatePaths`) lives with its provider.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def log_tail(path: str | Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file, or "" when it cannot be read."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def cache_root() -> Path:
    """``$PYTEST_PODS_CACHE``, else ``$XDG_CACHE_HOME/pytest-pods``, else ``~/.cache/pytest-pods``."""
    if env := os.environ.get("PYTEST_PODS_CACHE"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "pytest-pods"


@dataclass(frozen=True)
class CachePaths:
    """The persistent cache, outside any repository."""

    root: Path

    @classmethod
    def default(cls) -> CachePaths:
        return cls(cache_root())

    @property
    def go_modcache(self) -> Path:
        return self.root / "go" / "mod"

    @property
    def go_buildcache(self) -> Path:
        return self.root / "go" / "build"

    def build_dir(self, name: str, version: str) -> Path:
        """The wrapper Go module that builds ``name`` at ``version``."""
        return self.root / "build" / f"{name}-{version}"

    def bin_dir(self, name: str, version: str) -> Path:
        """Finished binaries of ``name`` at ``version``."""
        return self.root / "bin" / f"{name}-{version}"

    @property
    def images(self) -> Path:
        """OCI layouts of the stand-in images, keyed by recipe."""
        return self.root / "images"

    def ca(self, cluster: str) -> Path:
        """The CA of cluster ``cluster``: kept across ``down`` so that its kubeconfigs stay valid."""
        return self.root / "ca" / cluster

    @property
    def image_store(self) -> Path:
        """containerd image stores (content, unpacked layers, image records), one per set of images;
        hard-linked into the cluster's containerd root by every ``up`` (see ``imagestore``)."""
        return self.root / "containerd"

    @property
    def registry_storage(self) -> Path:
        """The local registry's blob storage; kept so that a warm ``up`` pushes nothing."""
        return self.root / "registry"
