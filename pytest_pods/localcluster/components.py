"""The cluster's processes: their command lines, health checks and start order.

A ``Plan`` is plain data (JSON) handed to the supervisor, which starts each stage's components
together and waits until every one of them is healthy before the next stage.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pytest_pods.localcluster.build import Binaries
from pytest_pods.localcluster.configs import Network
from pytest_pods.localcluster.paths import StatePaths
from pytest_pods.localcluster.pki import PKI


@dataclass(frozen=True)
class Health:
    """How the supervisor knows a component is up: ``http``/``https`` GET returning 200, or a unix socket."""

    kind: str  # "http" | "https" | "unix"
    target: str  # URL or socket path
    ca_file: str = ""  # https: verify against this CA; empty means the component self-signs
    cert_file: str = ""  # https: a client certificate (and its key) to present, for mTLS-only servers
    key_file: str = ""


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    health: Health
    log: str
    start_timeout: float = 60.0
    env: dict[str, str] = field(default_factory=dict)
    port: int | None = None  # checked free before start; None for unix sockets


@dataclass(frozen=True)
class Plan:
    stages: list[list[Component]]
    cgroup: str  # cgroup (v1, every hierarchy) the supervisor moves itself into
    cgroup_root: str  # every process of the cluster lives below this one; stop kills them all
    status_file: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw = json.loads(text)
        stages = [
            [Component(**{**c, "health": Health(**c["health"])}) for c in stage] for stage in raw["stages"]
        ]
        return cls(stages, raw["cgroup"], raw["cgroup_root"], raw["status_file"])

    def components(self) -> list[Component]:
        return [c for stage in self.stages for c in stage]


@dataclass(frozen=True)
class Ports:
    apiserver: int = 6443
    etcd_client: int = 2379
    etcd_peer: int = 2380
    controller_manager: int = 10257
    scheduler: int = 10259
    kubelet: int = 10250
    kubelet_healthz: int = 10248
    kube_proxy_healthz: int = 10256
    kube_proxy_metrics: int = 10249


def make_plan(
    *,
    state: StatePaths,
    bins: Binaries,
    pki: PKI,
    net: Network,
    ports: Ports,
    registry_argv: list[str],
    registry_health_url: str,
    registry_port: int,
    containerd_config: Path,
    kubelet_config: Path,
    kube_proxy_config: Path,
    cgroup_root: str,
) -> Plan:
    """Every component of the cluster, in three stages."""

    def log(name: str) -> str:
        return str(state.log(name))

    def kc(name: str) -> str:
        return str(state.config_dir / f"{name}.kubeconfig")

    etcd_url = f"https://127.0.0.1:{ports.etcd_client}"
    etcd_peer_url = f"https://127.0.0.1:{ports.etcd_peer}"
    etcd_pki = pki.etcd
    registry = Component(
        "registry",
        registry_argv,
        Health("http", registry_health_url),
        log("registry"),
        20,
        port=registry_port,
    )
    # As kubeadm runs it: TLS on both ports, client certificates required and checked against etcd's
    # own CA. No plain-HTTP listener at all (kubeadm keeps one for metrics; the probe here uses mTLS).
    etcd = Component(
        "etcd",
        [
            str(bins.etcd),
            "--name=pytest-pods",
            f"--data-dir={state.etcd_data}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--cert-file={etcd_pki.cert('server')}",
            f"--key-file={etcd_pki.key('server')}",
            "--client-cert-auth=true",
            f"--trusted-ca-file={etcd_pki.ca_cert}",
            f"--listen-peer-urls={etcd_peer_url}",
            f"--initial-advertise-peer-urls={etcd_peer_url}",
            f"--initial-cluster=pytest-pods={etcd_peer_url}",
            f"--peer-cert-file={etcd_pki.cert('peer')}",
            f"--peer-key-file={etcd_pki.key('peer')}",
            "--peer-client-cert-auth=true",
            f"--peer-trusted-ca-file={etcd_pki.ca_cert}",
            "--listen-metrics-urls=",
            "--unsafe-no-fsync",  # a throw-away test cluster: durability buys nothing, fsync costs seconds
            "--log-level=warn",
            "--quota-backend-bytes=1073741824",
        ],
        Health(
            "https",
            f"{etcd_url}/health",
            str(etcd_pki.ca_cert),
            str(etcd_pki.cert("healthcheck-client")),
            str(etcd_pki.key("healthcheck-client")),
        ),
        log("etcd"),
        30,
        port=ports.etcd_client,
    )
    containerd = Component(
        "containerd",
        ["containerd", f"--config={containerd_config}"],
        Health("unix", str(state.containerd_socket)),
        log("containerd"),
        30,
    )
    apiserver = Component(
        "kube-apiserver",
        [
            str(bins.kube("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            f"--etcd-cafile={etcd_pki.ca_cert}",
            f"--etcd-certfile={etcd_pki.cert('apiserver-etcd-client')}",
            f"--etcd-keyfile={etcd_pki.key('apiserver-etcd-client')}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports.apiserver}",
            f"--advertise-address={net.node_ip}",
            f"--service-cluster-ip-range={net.service_cidr}",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--client-ca-file={pki.ca_cert}",
            f"--tls-cert-file={pki.cert('apiserver')}",
            f"--tls-private-key-file={pki.key('apiserver')}",
            f"--kubelet-client-certificate={pki.cert('apiserver-kubelet-client')}",
            f"--kubelet-client-key={pki.key('apiserver-kubelet-client')}",
            f"--kubelet-certificate-authority={pki.ca_cert}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            # The `kubernetes` Service's endpoint is the node's address, where apiserver-relay listens.
            "--endpoint-reconciler-type=lease",
            "--profiling=false",
            "--v=1",
        ],
        Health("https", f"https://127.0.0.1:{ports.apiserver}/readyz", str(pki.ca_cert)),
        log("kube-apiserver"),
        90,
        port=ports.apiserver,
    )

    def controller(name: str, identity: str, port: int, extra: list[str]) -> Component:
        """kube-controller-manager and kube-scheduler: an API client with its own identity,
        serving its health endpoint on loopback with a self-signed certificate."""
        return Component(
            name,
            [
                str(bins.kube(name)),
                f"--kubeconfig={kc(identity)}",
                f"--authentication-kubeconfig={kc(identity)}",
                f"--authorization-kubeconfig={kc(identity)}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                "--leader-elect=false",
                *extra,
                "--profiling=false",
                "--v=1",
            ],
            Health("https", f"https://127.0.0.1:{port}/healthz"),
            log(name),
            60,
            port=port,
        )

    controller_manager = controller(
        "kube-controller-manager",
        "controller-manager",
        ports.controller_manager,
        [
            "--use-service-account-credentials=true",
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.key('ca')}",
            f"--service-cluster-ip-range={net.service_cidr}",
            # Each controller gets its own ServiceAccount and token at start-up (about 100 requests):
            # at the default 20 requests/s that alone held the controllers back about 5 s.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
        ],
    )
    scheduler = controller("kube-scheduler", "scheduler", ports.scheduler, [])
    kubelet = Component(
        "kubelet",
        [
            str(bins.kube("kubelet")),
            f"--config={kubelet_config}",
            f"--kubeconfig={kc('kubelet-client')}",
            f"--hostname-override={net.node_name}",
            f"--node-ip={net.node_ip}",
            f"--root-dir={state.kubelet_root}",
            f"--cert-dir={state.kubelet_root / 'pki'}",
            "--v=1",
        ],
        Health("http", f"http://127.0.0.1:{ports.kubelet_healthz}/healthz"),
        log("kubelet"),
        60,
        port=ports.kubelet,
    )
    kube_proxy = Component(
        "kube-proxy",
        [str(bins.kube("kube-proxy")), f"--config={kube_proxy_config}"],
        Health("http", f"http://127.0.0.1:{ports.kube_proxy_healthz}/livez"),
        log("kube-proxy"),
        60,
        port=ports.kube_proxy_healthz,
    )
    # The API server listens on loopback only (a single --bind-address); pods reach it through the
    # `kubernetes` Service, whose endpoint is the node's address: this relays that to loopback.
    relay = Component(
        "apiserver-relay",
        [
            "socat",
            f"TCP-LISTEN:{ports.apiserver},bind={net.node_ip},reuseaddr,fork",
            f"TCP:127.0.0.1:{ports.apiserver}",
        ],
        Health("https", f"https://{net.node_ip}:{ports.apiserver}/readyz", str(pki.ca_cert)),
        log("apiserver-relay"),
        20,
    )
    return Plan(
        stages=[
            [registry, etcd, containerd],
            [apiserver],
            [relay, controller_manager, scheduler, kubelet, kube_proxy],
        ],
        cgroup=f"{cgroup_root}/system",
        cgroup_root=cgroup_root,
        status_file=str(state.status_file),
    )
