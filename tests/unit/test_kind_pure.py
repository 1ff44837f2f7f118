"""Pure logic of the kind side: the effective kind config, failure diagnosis, the proxy-only Go
setting, the node's registry mirrors and the storage manifest. No Docker, no kind."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_pods.core.api import dns_ready
from pytest_pods.core.paths import CachePaths
from pytest_pods.kindcluster import KindError, mirror
from pytest_pods.kindcluster.cluster import ETCD_LABEL, OFFLINE_LABEL, PATCHES_LABEL, KindCluster, KindSpec
from pytest_pods.kindcluster.node import (
    COREDNS_PATCH,
    KUBEADM_PATCHES,
    SERVICE_ROUTE_SCRIPT,
    appended_flags_patch,
    storage_manifest,
)
from pytest_pods.kindcluster.tools import _proxy_only

OFFLINE = {OFFLINE_LABEL: "true", ETCD_LABEL: "v3.6.16"}


def _cluster(tmp_path: Path, config: str | None = None) -> KindCluster:
    path = None
    if config is not None:
        path = tmp_path / "kind.yaml"
        path.write_text(config)
    return KindCluster(KindSpec(image="pytest-pods/kind-node:v1.37.2", config=path), CachePaths(tmp_path))


def test_an_offline_image_gets_no_default_cni_and_its_etcd_tag(tmp_path: Path) -> None:
    user = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatches: [mine]\n"
    config = _cluster(tmp_path, user).effective_config(OFFLINE)
    assert config["networking"]["disableDefaultCNI"] is True
    assert config["kubeadmConfigPatches"][0] == "mine"
    assert "imageTag: v3.6.16" in config["kubeadmConfigPatches"][1]
    assert config["containerdConfigPatches"] == [mirror.CONTAINERD_PATCH]


def test_an_offline_image_with_kubeadm_patches_gets_them_passed_to_kubeadm_init(tmp_path: Path) -> None:
    config = _cluster(tmp_path).effective_config({**OFFLINE, PATCHES_LABEL: "/kind/pytest-pods-patches"})
    init = yaml.safe_load(config["kubeadmConfigPatches"][-1])
    assert init == {"kind": "InitConfiguration", "patches": {"directory": "/kind/pytest-pods-patches"}}
    assert len(_cluster(tmp_path).effective_config(OFFLINE)["kubeadmConfigPatches"]) == 1  # an older image


def test_the_node_probes_coredns_each_second_and_routes_no_service_address_away(tmp_path: Path) -> None:
    probe = yaml.safe_load(COREDNS_PATCH)["spec"]["template"]["spec"]["containers"][0]
    assert probe["name"] == "coredns"
    assert probe["readinessProbe"] == {"periodSeconds": 1, "failureThreshold": 30}
    # the route script, run on a kubeadm config as kind writes it (ip stubbed: it records its arguments)
    conf = tmp_path / "kubeadm.conf"
    subnets = "serviceSubnet: 10.96.0.0/16,fd00:10:96::/112"
    conf.write_text(f"networking:\n  podSubnet: 10.244.0.0/16\n  {subnets}\n")
    script = SERVICE_ROUTE_SCRIPT.replace("/kind/kubeadm.conf", str(conf))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ip").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/ip.log\n')
    (bin_dir / "ip").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ip.log").read_text().splitlines() == [
        "route replace unreachable 10.96.0.0/16",
        "route replace unreachable fd00:10:96::/112",
    ]
    conf.unlink()  # before kind has written it: nothing, and the kubelet still starts
    assert subprocess.run(["sh", "-c", script], env=env, check=False).returncode == 0


def test_kind_own_image_keeps_the_users_config(tmp_path: Path) -> None:
    config = _cluster(tmp_path).effective_config({})
    assert "networking" not in config
    assert config["kind"] == "Cluster"
    assert 'config_path = "/etc/containerd/certs.d"' in config["containerdConfigPatches"][0]


def test_an_offline_image_refuses_extra_nodes(tmp_path: Path) -> None:
    two = (
        "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}, {role: worker}]\n"
    )
    with pytest.raises(KindError, match="single-node bridge network"):
        _cluster(tmp_path, two).effective_config(OFFLINE)


def test_a_file_that_is_not_a_kind_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(KindError, match=r"is not a kind config: it needs `kind: Cluster`"):
        _cluster(tmp_path, "apiVersion: v1\nkind: Pod\n").effective_config({})


@pytest.mark.parametrize(
    ("output", "cause"),
    [
        ("Bind for 127.0.0.1:6443 failed: port is already allocated", "a host port"),
        ("listen tcp4 127.0.0.1:80: bind: address already in use", "a host port"),
        ('Conflict. The container name "/x" is already in use by container "abc"', "Docker already has"),
        ("ERROR: failed to create cluster: something else", "kind create cluster failed"),
    ],
)
def test_kind_failures_are_diagnosed(tmp_path: Path, output: str, cause: str) -> None:
    text = _cluster(tmp_path)._diagnose(1, output, 3.0)
    assert text.startswith(cause)
    assert text.endswith(output)


def test_go_never_falls_back_to_the_origin() -> None:
    assert _proxy_only("https://proxy.golang.org,direct") == "https://proxy.golang.org"
    assert _proxy_only("off") == "https://proxy.golang.org"
    assert _proxy_only(None) == "https://proxy.golang.org"


def test_node_mirrors_point_at_the_gateway_registry() -> None:
    payload = mirror.hosts_tar("172.18.0.1:5001", ["pytest-pods.example"], all_registries=False)
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        names = sorted(n for n in tar.getnames() if n.endswith("hosts.toml"))
        assert names == ["certs.d/pytest-pods.example/hosts.toml"]
        member = tar.extractfile(names[0])
        assert member is not None
        text = member.read().decode()
    assert 'server = "http://172.18.0.1:5001/v2/pytest-pods.example"' in text
    payload = mirror.hosts_tar("172.18.0.1:5001", [], all_registries=True)
    with tarfile.open(fileobj=io.BytesIO(payload)) as tar:
        dirs = {n.split("/")[1] for n in tar.getnames() if n.endswith("hosts.toml")}
    assert {"docker.io", "registry.k8s.io", "_default"} <= dirs


def test_the_gateway_registry_is_read_only(tmp_path: Path) -> None:
    config = mirror.config(CachePaths(tmp_path), "172.18.0.1:5001")
    assert config["http"]["addr"] == "172.18.0.1:5001"  # type: ignore[index]
    assert config["storage"]["maintenance"]["readonly"]["enabled"] is True  # type: ignore[index]


def test_storage_manifest_is_valid_yaml_with_a_default_class() -> None:
    docs = list(yaml.safe_load_all(storage_manifest()))
    kinds = [d["kind"] for d in docs]
    assert kinds.count("StorageClass") == 1
    sc = next(d for d in docs if d["kind"] == "StorageClass")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    assert "docker.io/library/debian:bookworm" in cm["data"]["helperPod.yaml"]
    assert "/var/local-path-provisioner" in cm["data"]["config.json"]
    assert not [d for d in docs if d["metadata"]["name"] == "coredns"], "kubeadm deploys CoreDNS"


def test_dns_is_ready_only_with_a_ready_endpoint_behind_kube_dns() -> None:
    def listing(*conditions: dict[str, bool]) -> dict[str, Any]:
        return {
            "items": [{"endpoints": [{"addresses": ["10.244.0.3"], "conditions": c} for c in conditions]}]
        }

    assert not dns_ready({"items": []})
    assert not dns_ready({"items": [{"endpoints": None}]})  # a slice with no endpoint yet
    assert not dns_ready(listing({"ready": False}, {"ready": False, "serving": True}))
    assert dns_ready(listing({"ready": False}, {"ready": True}))
    assert dns_ready(listing({}))  # unset means ready


def test_delete_without_docker_keeps_the_record_of_a_cluster_it_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopped engine brings the node back when it starts: forgetting the record would leave that
    cluster as someone else's (and every later session refusing it)."""
    from pytest_pods.kindcluster import cluster as kind_cluster

    monkeypatch.setattr(kind_cluster, "docker_unavailable", lambda: "the Docker engine does not answer")
    cluster = KindCluster(KindSpec(), CachePaths(tmp_path))
    cluster.delete(lambda message: None)  # no record: nothing of ours, nothing to say
    cluster.state_dir.mkdir(parents=True)
    cluster.key_file.write_text('{"key": "k"}')
    with pytest.raises(KindError) as info:
        cluster.delete(lambda message: None)
    assert "was not deleted: kind needs a Docker engine. the Docker engine does not answer" in str(info.value)
    assert "pytest-pods cluster down --provider kind" in str(info.value)
    assert cluster.recorded() == {"key": "k"}


def test_the_nodes_control_plane_patches_append_flags_as_kubeadm_json_patches() -> None:
    assert yaml.safe_load(appended_flags_patch(("--a=1", "--b"))) == [
        {"op": "add", "path": "/spec/containers/0/command/-", "value": "--a=1"},
        {"op": "add", "path": "/spec/containers/0/command/-", "value": "--b"},
    ]
    # kubeadm's names: <target>+<patchtype>.yaml, one target each
    targets = {name.split("+")[0] for name in KUBEADM_PATCHES}
    assert targets == {"corednsdeployment", "kube-controller-manager", "kube-scheduler"}
    manager = yaml.safe_load(KUBEADM_PATCHES["kube-controller-manager+json.yaml"])
    assert [op["value"] for op in manager] == [
        "--leader-elect=false",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
    ]
