"""Real tests of the local cluster itself (issue: the `local` provider). They need root."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_pods.localcluster import LocalCluster

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pods101"
#: The `pytest-pods` command of this checkout (the console script may belong to another install).
CLI = [sys.executable, "-m", "pytest_pods"]

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the local cluster needs root")


@pytest.fixture(scope="session")
def local_cluster() -> LocalCluster:
    """The machine's local cluster, started (or reused) once."""
    cluster = LocalCluster()
    cluster.up()
    return cluster


class Kubectl:
    """The kubectl we built, pointed at the local cluster."""

    def __init__(self, cluster: LocalCluster, namespace: str | None = None) -> None:
        self.binary = cluster.cache.bin_dir("kubernetes", cluster.config.kubernetes_version) / "kubectl"
        self.kubeconfig = cluster.kubeconfig
        self.namespace = namespace

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), f"--kubeconfig={self.kubeconfig}"]
        if self.namespace:
            argv.append(f"--namespace={self.namespace}")
        proc = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
        return proc


@pytest.fixture
def kubectl_ns(local_cluster: LocalCluster) -> Iterator[Kubectl]:
    """kubectl in a fresh namespace, deleted (without waiting) afterwards."""
    ns = f"lc-{uuid.uuid4().hex[:8]}"
    Kubectl(local_cluster)("create", "namespace", ns)
    yield Kubectl(local_cluster, ns)
    Kubectl(local_cluster)("delete", "namespace", ns, "--wait=false", check=False)
