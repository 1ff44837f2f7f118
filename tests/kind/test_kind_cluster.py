"""The kind provider on a real kind cluster: no side effects, keyed reuse, deletion. The session's
cluster is the one of .ci/run's kind pass; the reuse test makes a cluster of its own name."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_pods import Cluster
from pytest_pods.core.paths import cache_root
from pytest_pods.kindcluster import KindError
from pytest_pods.kindcluster.cluster import KindCluster, KindSpec
from pytest_pods.kindcluster.tools import run

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]

GUARD = """
import ipaddress, socket

SEEN = []
_connect = socket.socket.connect

def _guarded(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = ipaddress.ip_address(address[0])
        docker = ipaddress.ip_network("172.16.0.0/12")
        if not (host.is_loopback or host in docker):
            SEEN.append(str(address))
    return _connect(self, address)

def pytest_configure(config):
    socket.socket.connect = _guarded

def pytest_unconfigure(config):
    socket.socket.connect = _connect
    (__import__("pathlib").Path(__file__).parent / "connects.txt").write_text("\\n".join(SEEN))
"""


def test_no_pytest_kind_directory_and_no_download_even_through_pytest_kind(
    kind_session: Cluster, pytester: pytest.Pytester, same_provider_args: list[str]
) -> None:
    bins = sorted(p.name for p in (cache_root() / "bin").iterdir())
    pytester.makeconftest(GUARD)
    pytester.makepyfile(
        """
        def test_pod(pods_namespace):
            pods_namespace.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, wait=True)
            assert pods_namespace.pod("p").exec(["nginx", "-v"]).returncode == 0

        def test_pytest_kind_handle(pods_kind_cluster):
            # pytest-kind's own KindCluster, on the cluster pytest-pods made
            assert "Ready" in pods_kind_cluster.kubectl("get", "nodes")
        """
    )
    result = pytester.runpytest(*same_provider_args)
    result.assert_outcomes(passed=2)
    assert not (pytester.path / ".pytest-kind").exists()
    assert not list(pytester.path.rglob(".pytest-kind"))
    assert (pytester.path / "connects.txt").read_text() == "", "only loopback and Docker: no download"
    assert sorted(p.name for p in (cache_root() / "bin").iterdir()) == bins, "nothing downloaded or built"


def test_reuse_is_keyed_by_version_image_and_config(scratch_cluster: KindCluster, tmp_path: Path) -> None:
    lines: list[str] = []
    first = scratch_cluster.up(lines.append)
    assert not first.reused
    assert first.why.startswith("created")
    again = KindCluster(scratch_cluster.spec).up(lines.append)
    assert again.reused
    assert again.why == "reused: same version, image and config"
    assert again.kubeconfig == first.kubeconfig
    config = tmp_path / "kind.yaml"
    assert scratch_cluster.spec.config is not None
    config.write_text(
        scratch_cluster.spec.config.read_text()
        + "nodes:\n- role: control-plane\n  labels:\n    pytest-pods.test/changed: 'yes'\n"
    )
    changed = KindSpec(name=scratch_cluster.spec.name, image=scratch_cluster.spec.image, config=config)
    lines.clear()
    third = KindCluster(changed).up(lines.append)
    assert not third.reused
    assert third.why.startswith("recreated: config ")
    assert any("differs from what is asked" in line and "config" in line for line in lines), lines
    # a cluster of that name that pytest-pods has no record of is someone else's: left alone, named
    KindCluster(changed).key_file.unlink()
    began = time.monotonic()
    with pytest.raises(KindError, match="exists that pytest-pods did not make") as info:
        KindCluster(changed).up(lines.append)
    assert time.monotonic() - began < 10
    assert f"kind delete cluster --name {changed.name}" in str(info.value)
    assert KindCluster(changed).exists()


@pytest.mark.disruptive
def test_keep_cluster_no_deletes_a_cluster_the_run_made(
    kind_session: Cluster, pytester: pytest.Pytester, same_provider_args: list[str]
) -> None:
    spec = KindSpec(
        kubernetes_version=kind_session.settings.kubernetes_version,
        image=kind_session.settings.kind_image,
        config=kind_session.settings.kind_config,
        kind_binary=kind_session.settings.kind_binary,
    )
    KindCluster(spec).delete(lambda message: None)
    pytester.makepyfile("def test_x(pods_namespace):\n    pass\n")
    result = pytester.runpytest(*same_provider_args, "--pods-keep-cluster=no")
    result.assert_outcomes(passed=1)
    assert not KindCluster(spec).exists()


@pytest.mark.disruptive
def test_cluster_down_deletes_the_kind_cluster(kind_session: Cluster) -> None:
    s = kind_session.settings
    spec = KindSpec(kubernetes_version=s.kubernetes_version, image=s.kind_image, config=s.kind_config)
    KindCluster(spec).up(lambda message: None)
    down = subprocess.run(
        [sys.executable, "-m", "pytest_pods", "cluster", "down", "--provider", "kind"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert down.returncode == 0, down.stderr
    assert "kind cluster 'pytest-pods' is deleted" in down.stderr
    assert not KindCluster(spec).exists()
    assert not KindCluster(spec).state_dir.exists()
    KindCluster(spec).up(lambda message: None)  # leave the session's cluster as it found it


def test_a_new_cluster_routes_no_service_address_away_and_probes_coredns_each_second(
    kind_session: Cluster,
) -> None:
    """The offline node image's two changes for a cluster usable sooner: until kube-proxy's rules, a
    connection to a Service address fails at once (an unreachable route for the service subnet)
    instead of hanging 30 s; CoreDNS's readiness is probed each second (a kubeadm patch)."""
    node = f"{KindSpec().name}-control-plane"
    routes = run(["docker", "exec", node, "ip", "route"], timeout=30)
    assert "unreachable 10.96.0.0/16" in routes.stdout, routes.stdout
    probe = kind_session.kube.request("GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns")
    (container,) = probe["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["periodSeconds"] == 1
    assert container["readinessProbe"]["failureThreshold"] == 30


def test_a_new_clusters_controller_manager_is_not_throttled_and_holds_no_lease(kind_session: Cluster) -> None:
    """The offline node's kubeadm patches of the control plane: the controller manager's client may
    send 200 requests/s (its 20 held a new cluster's controllers back about 5 s), and on this single
    control plane neither it nor the scheduler holds a leader lease."""
    node = f"{KindSpec().name}-control-plane"
    commands = {}
    for component in ("kube-controller-manager", "kube-scheduler"):
        pod = kind_session.kube.request("GET", f"/api/v1/namespaces/kube-system/pods/{component}-{node}")
        (container,) = pod["spec"]["containers"]
        commands[component] = container["command"]
    assert {"--kube-api-qps=200", "--kube-api-burst=400", "--leader-elect=false"} <= set(
        commands["kube-controller-manager"]
    )
    assert "--leader-elect=false" in commands["kube-scheduler"]
    leases = kind_session.kube.request("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases")
    held = {lease["metadata"]["name"] for lease in leases["items"]}
    assert not held & {"kube-controller-manager", "kube-scheduler"}, held
