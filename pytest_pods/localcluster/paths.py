"""Where things live: a persistent cache (binaries, images, Go caches) and per-cluster state.

The cache is keyed by version and survives ``down``; the state directory belongs to one running
cluster and is removed by ``down``.
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


@dataclass(frozen=True)
class StatePaths:
    """The files of one cluster while it exists. ``down`` removes both trees."""

    name: str = "local"
    lib_root: Path = Path("/var/lib/pytest-pods")
    run_root: Path = Path("/run/pytest-pods")

    @property
    def lib(self) -> Path:
        return self.lib_root / self.name

    @property
    def run(self) -> Path:
        return self.run_root / self.name

    @property
    def pki(self) -> Path:
        return self.lib / "pki"

    @property
    def logs(self) -> Path:
        return self.lib / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.lib / "etcd"

    @property
    def kubelet_root(self) -> Path:
        return self.lib / "kubelet"

    @property
    def containerd_root(self) -> Path:
        return self.lib / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.run / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.lib / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        return self.lib / "cni" / "networks"

    @property
    def config_dir(self) -> Path:
        return self.lib / "config"

    @property
    def storage(self) -> Path:
        """Where local-path PersistentVolumes keep their data."""
        return self.lib / "storage"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.lib / "kubeconfig"

    @property
    def status_file(self) -> Path:
        """Written by the supervisor: each component's pid and state."""
        return self.run / "status.json"

    @property
    def plan_file(self) -> Path:
        """Read by the supervisor: which components to start, in order."""
        return self.run / "plan.json"

    @property
    def lock_file(self) -> Path:
        return self.lib_root / f"{self.name}.lock"

    @property
    def host_changes_file(self) -> Path:
        """Sysctls and the like that ``up`` changed, so that ``down`` puts them back."""
        return self.lib / "host-changes.json"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
