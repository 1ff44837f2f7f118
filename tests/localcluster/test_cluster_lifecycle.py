"""Faults and teardown of the real local cluster: a dead component is reported, a killed cluster
is cleaned up by the next ``up``, and ``down`` leaves nothing of ours behind.

Each test leaves a healthy cluster behind it, so that tests running later still have one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pytest_pods.localcluster import LocalCluster, cgroups, host

from .conftest import CLI, EXAMPLES, Kubectl, needs_root

pytestmark = [pytest.mark.cluster, pytest.mark.disruptive, needs_root]


def _component_pid(cluster: LocalCluster, name: str) -> int:
    status = json.loads(cluster.state.status_file.read_text())
    return int(status["components"][name]["pid"])


def test_a_component_that_dies_is_reported_by_status(local_cluster: LocalCluster) -> None:
    os.kill(_component_pid(local_cluster, "kube-scheduler"), signal.SIGKILL)
    cli = subprocess.run([*CLI, "cluster", "status"], capture_output=True, text=True, timeout=30)
    assert cli.returncode == 1
    # "dead" until the supervisor reaps it, then "exited (exit code -9)"
    assert "problem: kube-scheduler is dead" in cli.stdout or "kube-scheduler is exited" in cli.stdout, (
        cli.stdout
    )
    assert not local_cluster.status().healthy
    # The next up notices and starts a new cluster.
    info = local_cluster.up()
    assert not info.reused and local_cluster.status().healthy


def test_a_killed_cluster_is_cleaned_up_by_the_next_up(local_cluster: LocalCluster) -> None:
    kubectl = Kubectl(local_cluster)
    kubectl("apply", "-n", "default", "-f", str(EXAMPLES / "pods03.yaml"))
    kubectl("wait", "-n", "default", "--for=condition=Ready", "pod/mc1", "--timeout=120s")
    # kill -9 of everything, as after a crash: no teardown of any kind runs.
    status = json.loads(local_cluster.state.status_file.read_text())
    os.kill(int(status["supervisor_pid"]), signal.SIGKILL)
    cgroups.kill_all(local_cluster.config.cgroup_root)
    assert not local_cluster.status().healthy

    info = local_cluster.up()
    assert not info.reused
    assert local_cluster.status().healthy
    pods = kubectl("get", "pods", "-A", "-o", "name").stdout
    assert "mc1" not in pods  # a new cluster, with a fresh etcd


def _leftovers(cluster: LocalCluster, netns_before: set[str]) -> dict[str, object]:
    net = cluster.config.network
    # the apiserver relay names only the node's address
    marks = (
        str(cluster.state.lib),
        str(cluster.state.run),
        cluster.config.cgroup_root,
        f"bind={net.node_ip}",
    )
    procs = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if any(m in cmd for m in marks) and int(proc.name) != os.getpid():
                procs.append(cmd[:120])
    ours = (
        f"{cluster.state.lib_root}/",
        f"{cluster.state.run_root}/",
    )  # not e.g. /var/lib/pytest-pods-docker
    mounts = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if (line.split()[4] + "/").startswith(ours)
    ]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    netns = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    rules = ""
    for tool in ("iptables-save", "ip6tables-save"):
        rules += subprocess.run([tool], capture_output=True, text=True).stdout
    return {
        "processes": procs,
        "processes in our cgroup": sorted(cgroups.pids(cluster.config.cgroup_root)),
        "mounts": mounts,
        "links": [ln for ln in links.splitlines() if net.bridge in ln or net.node_link in ln],
        "network namespaces": sorted(n for n in netns - netns_before if n.startswith("cni-")),
        "iptables": [r for r in rules.splitlines() if "KUBE-" in r or "CNI-" in r or "pytest-pods" in r],
        "conntrack": host.conntrack_leftovers(net),
        "cgroups": cgroups.exists(cluster.config.cgroup_root),
        "state": [str(p) for p in (cluster.state.lib, cluster.state.run) if p.exists()],
    }


def _kept_store(cluster: LocalCluster) -> dict[str, tuple[int, int]]:
    """The kept image stores' files (the cache's, outside the cluster's state): path -> size, mtime."""
    root = cluster.cache.image_store
    files = {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and not path.name.startswith(".")
    }
    assert any(name.endswith("/images.json") for name in files), f"no complete image store in {root}"
    return files


VOLUME = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: keeper, labels: {app: keeper}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: docker.io/afakharany/watcher:latest
    command: [sh, -c, "date > /data/x; exec sleep infinity"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""


def test_down_leaves_nothing_behind(local_cluster: LocalCluster, tmp_path: Path) -> None:
    netns_before = set(subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split())
    kubectl = Kubectl(local_cluster)
    kubectl("apply", "-n", "default", "-f", str(EXAMPLES / "pods03.yaml"))
    manifest = tmp_path / "volume.yaml"
    manifest.write_text(VOLUME)
    kubectl("apply", "-n", "default", "-f", str(manifest))
    kubectl("wait", "-n", "default", "--for=condition=Ready", "pod/mc1", "pod/keeper", "--timeout=120s")
    assert subprocess.run(["ip", "link", "show", local_cluster.config.network.bridge]).returncode == 0
    # Traffic through a Service and DNS (conntrack entries), and a provisioned volume with data in it.
    kubectl(
        "exec",
        "-n",
        "default",
        "keeper",
        "--",
        "curl",
        "-sk",
        "-o",
        "/dev/null",
        "https://kubernetes.default/",
    )
    assert host.conntrack_leftovers(local_cluster.config.network)
    assert any(local_cluster.state.storage.glob("pvc-*/x"))
    assert host.iptables_leftovers()

    old_kubeconfig = local_cluster.kubeconfig.read_bytes()
    kept_before = _kept_store(local_cluster)
    cli = subprocess.run([*CLI, "cluster", "down"], capture_output=True, text=True, timeout=180)
    assert cli.returncode == 0, cli.stderr
    left = _leftovers(local_cluster, netns_before)
    assert not any(left.values()), left
    # What down keeps on purpose: containerd's image store in the cache, as it was (the cluster's
    # containerd had hard links to it, and wrote its own copies of the databases).
    assert _kept_store(local_cluster) == kept_before
    cli = subprocess.run([*CLI, "cluster", "status"], capture_output=True, text=True)
    assert cli.returncode == 1

    local_cluster.up()  # leave a cluster for the tests after this one
    # The CA outlives the cluster: a kubeconfig from before down still works after up.
    kept = Path(tempfile.mkdtemp()) / "old-kubeconfig"
    kept.write_bytes(old_kubeconfig)
    got = subprocess.run(
        [str(kubectl.binary), f"--kubeconfig={kept}", "get", "nodes"], capture_output=True, text=True
    )
    assert got.returncode == 0, got.stderr


def _supervisors() -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"pytest_pods.localcluster.supervisor" in cmd:
                found.append(int(proc.name))
    return found


def test_an_up_that_fails_while_preparing_leaves_no_supervisor(
    local_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `up` starts the supervisor before it prepares the host; the supervisor waits for the plan.
    local_cluster.down()

    def broken(*args: object) -> None:
        raise OSError("the host cannot be prepared")

    monkeypatch.setattr(host, "prepare", broken)
    with pytest.raises(OSError, match="cannot be prepared"):
        LocalCluster().up()
    assert _supervisors() == []
    monkeypatch.undo()
    local_cluster.down()
    local_cluster.up()  # leave a cluster for the tests after this one
    assert len(_supervisors()) == 1


def test_up_without_root_fails_at_once_and_says_why() -> None:
    # The interpreter lives under /root, which nobody may read: import first, then drop to nobody.
    script = (
        "import os, sys; from pytest_pods.cli import main; import pytest_pods.localcluster.cluster; "
        "os.setegid(65534); os.seteuid(65534); sys.exit(main(['cluster', 'up']))"
    )
    began = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert time.monotonic() - began < 10
    assert proc.returncode == 1
    assert "must run as root" in proc.stderr and "how to fix" in proc.stderr, proc.stderr
