"""Pure logic of the local cluster: PKI, build inputs, configs, plan, versions, preflight."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import stat
import tomllib
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pytest_pods.core.versions import normalize_kubernetes_version
from pytest_pods.localcluster.build import Binaries, _version_ldflags, staging_modules
from pytest_pods.localcluster.components import Health, Plan, Ports, make_plan
from pytest_pods.localcluster.configs import (
    Network,
    cni_conflist,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
    write_kubeconfig,
)
from pytest_pods.localcluster.errors import PreflightError
from pytest_pods.localcluster.host import Preflight, _is_ours, conntrack_leftovers, forward_guard
from pytest_pods.localcluster.paths import StatePaths
from pytest_pods.localcluster.pki import PKI, cluster_cert_specs, etcd_cert_specs


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.create(cluster_cert_specs("node-a", "10.250.0.1", "10.96.0.1"))
    p.etcd.create(etcd_cert_specs(), service_account=False, ca_name="etcd-ca")
    return p


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_every_leaf_is_signed_by_the_ca(pki: PKI) -> None:
    ca = _load(pki.ca_cert)
    for spec in cluster_cert_specs("node-a", "10.250.0.1", "10.96.0.1"):
        cert = _load(pki.cert(spec.name))
        cert.verify_directly_issued_by(ca)


def test_apiserver_cert_has_the_sans_clients_use(pki: PKI) -> None:
    san = _load(pki.cert("apiserver")).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubernetes.default.svc" in san.get_values_for_type(x509.DNSName)
    assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "10.96.0.1",
        "10.250.0.1",
    }
    eku = _load(pki.cert("apiserver")).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku


def test_etcd_has_a_ca_of_its_own_and_private_keys(pki: PKI) -> None:
    """As kubeadm: a certificate of the cluster CA (which signs CSRs) must not open etcd."""
    etcd_ca, cluster_ca = _load(pki.etcd.ca_cert), _load(pki.ca_cert)
    assert etcd_ca.subject != cluster_ca.subject
    assert etcd_ca.public_key() != cluster_ca.public_key()
    for spec in etcd_cert_specs():
        _load(pki.etcd.cert(spec.name)).verify_directly_issued_by(etcd_ca)
        assert pki.etcd.key(spec.name).stat().st_mode & 0o777 == 0o600
    san = _load(pki.etcd.cert("server")).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert not pki.etcd.sa_key.exists()
    assert pki.etcd.dir.stat().st_mode & 0o777 == 0o700


def test_kubelet_client_identity_matches_node_restriction(pki: PKI) -> None:
    subject = _load(pki.cert("kubelet-client")).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:node:node-a"
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:nodes"


def test_private_keys_are_private(pki: PKI) -> None:
    keys = sorted(pki.dir.glob("*.key"))
    specs = cluster_cert_specs("node-a", "10.250.0.1", "10.96.0.1")
    assert [k.name for k in keys] == sorted(["ca.key", "sa.key", *(f"{s.name}.key" for s in specs)])
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_kubeconfig_is_0600_and_embeds_credentials(pki: PKI, tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kc", "https://127.0.0.1:6443", pki, "admin")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    assert doc["users"][0]["user"]["client-key-data"]


def test_staging_modules_come_from_the_replace_lines() -> None:
    go_mod = """module k8s.io/kubernetes
replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/foo/bar => github.com/foo/bar v1.0.0
)
"""
    assert staging_modules(go_mod) == ["k8s.io/api", "k8s.io/client-go"]


def test_version_is_stamped_into_both_version_packages() -> None:
    flags = _version_ldflags("v1.34.4")
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.34.4" in flags
        assert f"-X {pkg}.gitMinor=34" in flags


@pytest.mark.parametrize(("given", "expected"), [("1.34.4", "v1.34.4"), ("v1.37.2", "v1.37.2")])
def test_versions_are_normalized(given: str, expected: str) -> None:
    assert normalize_kubernetes_version(given) == expected


@pytest.mark.parametrize("bad", ["1.33.9", "latest", "v2.0.0", "1.34"])
def test_bad_versions_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_kubernetes_version(bad)


def test_containerd_config_is_valid_toml_with_cri_settings(tmp_path: Path) -> None:
    state = StatePaths("t", tmp_path / "lib", tmp_path / "run")
    doc = tomllib.loads(
        containerd_config(state, tmp_path / "hosts", "registry.k8s.io/pause:3.10", "/usr/lib/cni", True)
    )
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["registry"]["config_path"] == str(tmp_path / "hosts")
    assert cri["stream_server_address"] == "127.0.0.1"
    assert doc["grpc"]["address"] == str(state.containerd_socket)


def test_pod_network_never_masquerades_and_routes_only_pods_and_services(tmp_path: Path) -> None:
    net = Network()
    conf = json.loads(cni_conflist(StatePaths("t", tmp_path, tmp_path), net))
    bridge = conf["plugins"][0]
    assert bridge["ipMasq"] is False
    assert bridge["ipam"]["routes"] == [{"dst": net.pod_cidr}, {"dst": net.service_cidr}]


def test_service_cidr_collides_with_nothing_of_ours() -> None:
    net = Network()
    nets = [ipaddress.ip_network(c) for c in (net.pod_cidr, net.service_cidr, f"{net.node_ip}/32")]
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            assert not a.overlaps(b)
    service = ipaddress.ip_network(net.service_cidr)
    assert ipaddress.ip_address(net.service_ip) in service
    assert ipaddress.ip_address(net.dns_ip) in service


def test_kube_proxy_opens_node_ports_on_the_node_address_only(tmp_path: Path) -> None:
    net = Network()
    doc = yaml.safe_load(kube_proxy_config(net, tmp_path / "kp.kubeconfig", net.pod_cidr))
    assert doc["mode"] == "iptables"
    assert doc["nodePortAddresses"] == [f"{net.node_ip}/32"]
    assert doc["iptables"]["localhostNodePorts"] is False
    assert doc["healthzBindAddress"].startswith("127.0.0.1:")
    assert doc["metricsBindAddress"].startswith("127.0.0.1:")
    # leave the host's conntrack table size and timeouts alone
    assert doc["conntrack"]["maxPerCore"] == 0
    assert doc["conntrack"]["tcpEstablishedTimeout"] == "0s"


def test_containerd_lets_pods_bind_low_ports_as_nonroot(tmp_path: Path) -> None:
    state = StatePaths("t", tmp_path / "lib", tmp_path / "run")
    doc = tomllib.loads(containerd_config(state, tmp_path / "h", "p", "/usr/lib/cni", True))
    assert doc["plugins"]["io.containerd.grpc.v1.cri"]["enable_unprivileged_ports"] is True


def test_kube_proxy_has_the_node_proxier_identity(pki: PKI) -> None:
    cert = x509.load_pem_x509_certificate(pki.cert("kube-proxy").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:kube-proxy"


def test_conntrack_leftovers_are_ours_only(tmp_path: Path) -> None:
    table = tmp_path / "nf_conntrack"
    table.write_text(
        "ipv4 2 tcp 6 86399 ESTABLISHED src=10.244.0.5 dst=10.96.0.1 sport=1 dport=443 "
        "src=10.250.0.1 dst=10.244.0.5 sport=6443 dport=1 [ASSURED] mark=0 zone=0 use=2\n"
        "ipv4 2 tcp 6 86399 ESTABLISHED src=192.0.2.1 dst=192.0.2.2 sport=1 dport=22 "
        "src=192.0.2.2 dst=192.0.2.1 sport=22 dport=1 [ASSURED] mark=0 zone=0 use=2\n"
    )
    found = conntrack_leftovers(Network(), table)
    assert len(found) == 1 and "10.244.0.5" in found[0]


def test_forward_guard_drops_what_pods_send_off_the_bridge() -> None:
    net = Network()
    rule = " ".join(forward_guard(net))
    assert rule.startswith(f"-i {net.bridge} ! -o {net.bridge}")
    assert rule.endswith("-j DROP")
    assert _is_ours(rule)


def test_kubelet_config_allows_cgroup_v1_and_binds_health_to_loopback(pki: PKI, tmp_path: Path) -> None:
    doc = yaml.safe_load(kubelet_config(StatePaths("t", tmp_path, tmp_path), pki, Network(), "/pp"))
    assert doc["failCgroupV1"] is False
    assert doc["healthzBindAddress"] == "127.0.0.1"
    assert doc["cgroupRoot"] == "/pp"
    assert doc["authentication"]["anonymous"]["enabled"] is False


def _plan(state: StatePaths, pki: PKI, tmp_path: Path) -> Plan:
    """A plan for made-up binaries and configs under ``tmp_path``."""
    return make_plan(
        state=state,
        bins=Binaries(tmp_path / "k", tmp_path / "etcd", tmp_path / "coredns", tmp_path / "lpp"),
        pki=pki,
        net=Network(),
        ports=Ports(),
        registry_argv=["docker-registry", "serve", "x"],
        registry_health_url="http://127.0.0.1:5000/v2/",
        registry_port=5000,
        containerd_config=tmp_path / "c.toml",
        kubelet_config=tmp_path / "k.yaml",
        kube_proxy_config=tmp_path / "kp.yaml",
        cgroup_root="/pp",
    )


def test_plan_round_trips_and_starts_the_apiserver_after_etcd(pki: PKI, tmp_path: Path) -> None:
    state = StatePaths("t", tmp_path, tmp_path)
    plan = _plan(state, pki, tmp_path)
    again = Plan.from_json(plan.to_json())
    assert again == plan
    names = [[c.name for c in stage] for stage in plan.stages]
    assert names[0] == ["registry", "etcd", "containerd"]
    assert names[1] == ["kube-apiserver"]
    assert again.cgroup == "/pp/system"
    assert isinstance(again.stages[0][0].health, Health)
    by_name = {c.name: c for c in plan.components()}
    etcd, apiserver = by_name["etcd"], by_name["kube-apiserver"]
    assert "--client-cert-auth=true" in etcd.argv and "--peer-client-cert-auth=true" in etcd.argv
    assert f"--trusted-ca-file={pki.etcd.ca_cert}" in etcd.argv
    assert "--listen-metrics-urls=" in etcd.argv  # no plain listener
    assert not [a for a in etcd.argv if "http://" in a], etcd.argv
    assert etcd.health.cert_file == str(pki.etcd.cert("healthcheck-client"))
    assert f"--etcd-certfile={pki.etcd.cert('apiserver-etcd-client')}" in apiserver.argv
    assert f"--etcd-cafile={pki.etcd.ca_cert}" in apiserver.argv
    assert "--etcd-servers=https://127.0.0.1:2379" in apiserver.argv


def test_a_taken_port_is_named() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        with pytest.raises(PreflightError, match=rf"{port} \(thing\)"):
            Preflight.check_ports([("thing", port)])
    finally:
        s.close()


def test_non_root_is_refused_with_a_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(PreflightError, match="must run as root") as info:
        Preflight.check_root()
    assert "--pods-provider=kind" in info.value.fix


@pytest.mark.parametrize(
    ("rule", "ours"),
    [("-N KUBE-KUBELET-CANARY", True), ("-A POSTROUTING -j CNI-abc", True), ("-A INPUT -j ACCEPT", False)],
)
def test_iptables_rules_of_ours_are_recognised(rule: str, ours: bool) -> None:
    assert _is_ours(rule) is ours


def test_a_stored_ca_signs_the_next_clusters_certificates(tmp_path: Path) -> None:
    specs = cluster_cert_specs("node-a", "10.250.0.1", "10.96.0.1")
    store = tmp_path / "ca-store"
    first = PKI(tmp_path / "one")
    first.create(specs, ca_store=store)
    second = PKI(tmp_path / "two")
    second.create(specs, ca_store=store)
    assert first.ca_cert.read_bytes() == second.ca_cert.read_bytes()
    _load(second.cert("admin")).verify_directly_issued_by(_load(first.ca_cert))
    assert stat.S_IMODE((store / "ca.key").stat().st_mode) == 0o600
    assert _load(first.cert("admin")).serial_number != _load(second.cert("admin")).serial_number


def test_missing_cgroup_controllers_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pytest_pods.localcluster import cgroups

    for name in ("cpu", "memory"):  # no cpuacct, cpuset or pids
        (tmp_path / name).mkdir()
        (tmp_path / name / "cgroup.procs").write_text("")
    monkeypatch.setattr(cgroups, "CGROUP_FS", tmp_path)
    with pytest.raises(PreflightError, match="cgroup controllers not mounted: cpuacct, cpuset, pids"):
        Preflight.check_kernel()


def test_a_cluster_started_by_older_code_is_outdated(pki: PKI, tmp_path: Path) -> None:
    """``up`` restarts a cluster whose etcd takes anyone or whose registry takes pushes."""
    from pytest_pods.localcluster import LocalCluster
    from pytest_pods.localcluster.registry import Registry

    state = StatePaths("t", tmp_path / "lib", tmp_path / "run")
    cluster = LocalCluster(state=state)
    assert cluster._outdated() == []  # no cluster at all
    plan = _plan(state, pki, tmp_path)
    state.run.mkdir(parents=True)
    state.plan_file.write_text(plan.to_json())
    Registry(tmp_path / "storage", state.config_dir, read_only=True).write_config()
    assert cluster._outdated() == []
    Registry(tmp_path / "storage", state.config_dir).write_config()
    assert [p.split(":")[0] for p in cluster._outdated()] == ["the registry on 127.0.0.1"]
    old = plan.to_json().replace('"--client-cert-auth=true",', "")
    state.plan_file.write_text(old)
    problems = cluster._outdated()
    assert len(problems) == 2 and problems[0].startswith("etcd takes clients without certificates")
    assert "`pytest-pods cluster up` restarts it" in problems[0]
