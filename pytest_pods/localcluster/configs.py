"""Configuration files of the cluster's components, rendered from one ``ClusterConfig``."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from pytest_pods.localcluster.paths import StatePaths
from pytest_pods.localcluster.pki import PKI


@dataclass(frozen=True)
class Network:
    """Addresses of the single node. All of it is local to this machine.

    The node's IP lives on a port-less bridge of its own (``dummy`` is a module that some kernels lack):
    the kubelet and the API server need a non-loopback address for the Node, and a link with no ports
    keeps that address, and all traffic to it, on this host.
    """

    node_name: str = "pytest-pods-node"
    node_ip: str = "10.250.0.1"
    node_link: str = "ppods0"
    bridge: str = "ppods-br0"
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/24"
    service_ip: str = "10.96.0.1"
    dns_ip: str = "10.96.0.10"
    cni_network: str = "pytest-pods"

    @property
    def service_ports(self) -> str:
        """The NodePort range kube-proxy may open (on the node's address only)."""
        return "30000-32767"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, server: str, pki: PKI, user: str) -> Path:
    """A kubeconfig with embedded certificates for ``user``'s client certificate, mode 0600."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "pytest-pods",
                "cluster": {"server": server, "certificate-authority-data": _b64(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(pki.cert(user)),
                    "client-key-data": _b64(pki.key(user)),
                },
            }
        ],
        "contexts": [{"name": "pytest-pods", "context": {"cluster": "pytest-pods", "user": user}}],
        "current-context": "pytest-pods",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    os.chmod(path, 0o600)
    return path


def containerd_config(
    state: StatePaths, hosts_dir: Path, sandbox_image: str, cni_bin_dir: str, restrict_oom: bool
) -> str:
    """containerd 1.6 config (version 2) with the CRI plugin set up for the kubelet."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{state.containerd_root}"
state = "{state.containerd_state}"

[grpc]
  address = "{state.containerd_socket}"

[ttrpc]
  address = "{state.containerd_socket}.ttrpc"

[debug]
  level = "warn"

[metrics]
  address = ""

[{cri}]
  sandbox_image = "{sandbox_image}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  tolerate_missing_hugetlb_controller = true
  disable_apparmor = true
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which some sandboxes (and rootless setups) lack;
  # the kubelet asks for -998 for every pod sandbox. Clamp to containerd's own score instead.
  restrict_oom_score_adj = {str(restrict_oom).lower()}
  enable_selinux = false
  # As containerd 2.x does by default: pods may bind ports below 1024 without a capability
  # (CoreDNS runs as nonroot on port 53, as upstream's image expects).
  enable_unprivileged_ports = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
  discard_unpacked_layers = false

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{cni_bin_dir}"
  conf_dir = "{state.cni_conf_dir}"
  max_conf_num = 1

[{cri}.registry]
  config_path = "{hosts_dir}"
"""


def cni_conflist(state: StatePaths, net: Network) -> str:
    """A bridge network for pods. No masquerading: pods have no business reaching off this machine."""
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": net.cni_network,
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": net.bridge,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": str(state.cni_data_dir),
                        "ranges": [[{"subnet": net.pod_cidr}]],
                        # Pods, and Services (kube-proxy on the host), and nothing else: no default route.
                        "routes": [{"dst": net.pod_cidr}, {"dst": net.service_cidr}],
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def kubelet_config(state: StatePaths, pki: PKI, net: Network, cgroup_root: str) -> str:
    """KubeletConfiguration for one node on cgroup v1 with the cgroupfs driver and static certificates."""
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": net.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "containerRuntimeEndpoint": f"unix://{state.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "failCgroupV1": False,
        "failSwapOn": False,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki.cert("kubelet")),
        "tlsPrivateKeyFile": str(pki.key("kubelet")),
        "serverTLSBootstrap": False,
        "rotateCertificates": False,
        "clusterDomain": "cluster.local",
        # The kube-dns Service (CoreDNS add-on), which answers only for the cluster.
        "clusterDNS": [net.dns_ip],
        "resolvConf": str(state.config_dir / "resolv.conf"),
        "staticPodPath": "",
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "0%",
            "nodefs.inodesFree": "0%",
            "imagefs.available": "0%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": False,
        "localStorageCapacityIsolation": True,
        "syncFrequency": "10s",
        "fileCheckFrequency": "10s",
        "nodeStatusUpdateFrequency": "4s",
        "runtimeRequestTimeout": "2m",
        "logging": {"format": "text", "verbosity": 1},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_config(net: Network, kubeconfig: Path, cluster_cidr: str) -> str:
    """KubeProxyConfiguration: iptables mode; NodePorts on the node's own address only; leaves the
    host's conntrack sysctls alone (as kind does)."""
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig), "qps": 50, "burst": 100},
        "hostnameOverride": net.node_name,
        "bindAddress": net.node_ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clusterCIDR": cluster_cidr,
        "detectLocalMode": "ClusterCIDR",
        "nodePortAddresses": [f"{net.node_ip}/32"],
        "iptables": {
            "masqueradeAll": False,
            "localhostNodePorts": False,  # would set route_localnet
            "syncPeriod": "30s",
            "minSyncPeriod": "0s",  # program a new Service at once
        },
        "conntrack": {
            "maxPerCore": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
        "logging": {"format": "text", "verbosity": 1},
    }
    return yaml.safe_dump(doc, sort_keys=False)
