"""The add-ons' objects and CoreDNS's configuration (pure: no cluster)."""

from __future__ import annotations

from pathlib import Path

from pytest_pods.localcluster import addons
from pytest_pods.localcluster.configs import Network


def _objects(tmp_path: Path) -> dict[tuple[str, str], dict[str, object]]:
    objs = addons.manifests(addons.AddonSettings(Network(), tmp_path / "storage"))
    return {(o["kind"], o["metadata"]["name"]): o for o in objs}


def test_kube_dns_service_has_the_kubelets_cluster_dns_address(tmp_path: Path) -> None:
    svc = _objects(tmp_path)[("Service", "kube-dns")]
    assert svc["spec"]["clusterIP"] == Network().dns_ip  # type: ignore[index]
    ports = {(p["port"], p["protocol"]) for p in svc["spec"]["ports"]}  # type: ignore[index]
    assert {(53, "UDP"), (53, "TCP")} <= ports


def test_corefile_has_no_upstream_and_answers_other_names_nxdomain() -> None:
    text = addons.corefile()
    assert "forward" not in text and "/etc/resolv.conf" not in text
    cluster_block, rest = text.split("\n.:53 {")
    assert cluster_block.startswith("cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {")
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in cluster_block
    assert "fallthrough" not in cluster_block  # unknown reverse names: NXDOMAIN from the API's view
    assert "rcode NXDOMAIN" in rest


def test_coredns_pod_uses_the_image_and_config_of_kubeadm(tmp_path: Path) -> None:
    dep = _objects(tmp_path)[("Deployment", "coredns")]
    pod = dep["spec"]["template"]["spec"]  # type: ignore[index]
    assert pod["dnsPolicy"] == "Default"
    container = pod["containers"][0]
    assert container["image"] == addons.coredns_ref()
    assert container["image"].startswith("registry.k8s.io/coredns/coredns:v")
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_default_storage_class_keeps_data_under_the_state_dir(tmp_path: Path) -> None:
    objs = _objects(tmp_path)
    sc = objs[("StorageClass", addons.STORAGE_CLASS)]
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"  # type: ignore[index]
    assert sc["provisioner"] == "rancher.io/local-path"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    config = objs[("ConfigMap", "local-path-config")]["data"]
    assert str(tmp_path / "storage") in config["config.json"]  # type: ignore[index]
    assert addons.LOCAL_PATH_HELPER_IMAGE in config["helperPod.yaml"]  # type: ignore[index]


def test_addon_images_are_named_as_upstream(tmp_path: Path) -> None:
    from pytest_pods.localcluster.build import Binaries

    bins = Binaries(tmp_path, tmp_path / "etcd", tmp_path / "coredns", tmp_path / "lpp")
    refs = [i.ref for i in addons.addon_images(bins)]
    assert refs == [addons.coredns_ref(), addons.local_path_provisioner_ref()]
    coredns = addons.addon_images(bins)[0]
    assert coredns.binary_path == "/coredns" and coredns.user == addons.NONROOT
