"""Where one local cluster's files live while it exists (its state); the persistent cache is
:class:`pytest_pods.core.paths.CachePaths`.

The state directory belongs to one running cluster and is removed by ``down``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
