"""Cluster add-ons, as kind and kubeadm run them: CoreDNS (``kube-dns``) and local-path storage.

Both run as pods from images made of a binary built from the Go module proxy
(:func:`addon_images`), served by the local registry under their upstream names, so that the local
cluster and a kind node image use the very same images.

DNS answers only for the cluster: ``cluster.local`` and the reverse zones come from the
``kubernetes`` plugin, every other name gets NXDOMAIN at once from ``template``. There is no
upstream, so no query ever leaves the machine.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_pods.core.versions import (
    DEFAULT_COREDNS_VERSION,
    DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
)
from pytest_pods.localcluster.build import Binaries
from pytest_pods.localcluster.configs import Network
from pytest_pods.localcluster.errors import ComponentError
from pytest_pods.localcluster.images import BinaryImage

#: The helper pod that makes and removes volume directories: any image with sh, mkdir and rm.
LOCAL_PATH_HELPER_IMAGE = "docker.io/library/debian:bookworm"
STORAGE_CLASS = "standard"  # kind's name for its default class
#: The add-ons' Deployments, each of which must have an available pod for the cluster to be healthy.
DEPLOYMENTS = (("kube-system", "coredns"), ("local-path-storage", "local-path-provisioner"))
NONROOT = "65532:65532"  # distroless's nonroot, which the upstream images run as


def coredns_ref(version: str = DEFAULT_COREDNS_VERSION) -> str:
    return f"registry.k8s.io/coredns/coredns:{version}"


def local_path_provisioner_ref(version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION) -> str:
    return f"docker.io/rancher/local-path-provisioner:{version}"


def coredns_image(binary: Path, version: str = DEFAULT_COREDNS_VERSION) -> BinaryImage:
    """CoreDNS as upstream ships it: ``/coredns`` on a distroless root, user nonroot, port 53.

    It binds port 53 as nonroot where the runtime allows unprivileged ports in pods (containerd 2.x by
    default; ``enable_unprivileged_ports`` in 1.6/1.7), as upstream's image needs too.
    """
    return BinaryImage(
        ref=coredns_ref(version),
        binary=binary,
        path="/coredns",
        entrypoint=("/coredns",),
        user=NONROOT,
        ports=("53/tcp", "53/udp"),
        description=f"CoreDNS {version} built from the Go module proxy",
    )


def local_path_provisioner_image(
    binary: Path, version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION
) -> BinaryImage:
    """rancher/local-path-provisioner: the binary at ``/usr/bin/local-path-provisioner``."""
    return BinaryImage(
        ref=local_path_provisioner_ref(version),
        binary=binary,
        path="/usr/bin/local-path-provisioner",
        entrypoint=(),
        cmd=("local-path-provisioner",),
        description=f"local-path-provisioner {version} built from the Go module proxy",
    )


def addon_images(bins: Binaries) -> list[BinaryImage]:
    """The images of every add-on, from the cluster's binaries."""
    return [coredns_image(bins.coredns), local_path_provisioner_image(bins.local_path_provisioner)]


@dataclass(frozen=True)
class AddonSettings:
    net: Network
    storage_dir: Path
    coredns_version: str = DEFAULT_COREDNS_VERSION
    local_path_provisioner_version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION
    cluster_domain: str = "cluster.local"


def corefile(domain: str = "cluster.local") -> str:
    """Cluster names and reverse zones from the API; every other name: NXDOMAIN, at once."""
    return textwrap.dedent(
        f"""\
        {domain}:53 in-addr.arpa:53 ip6.arpa:53 {{
            errors
            health {{
                lameduck 1s
            }}
            ready
            kubernetes {domain} in-addr.arpa ip6.arpa {{
                pods insecure
                ttl 30
            }}
            prometheus :9153
            cache 30
            loop
            reload
            loadbalance
        }}
        .:53 {{
            errors
            template ANY ANY {{
                rcode NXDOMAIN
            }}
        }}
        """
    )


def _local_path_config(storage_dir: Path) -> str:
    return json.dumps(
        {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": [str(storage_dir)]}]},
        indent=2,
    )


_HELPER_POD = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  priorityClassName: system-node-critical
  tolerations:
    - key: node.kubernetes.io/disk-pressure
      operator: Exists
      effect: NoSchedule
  containers:
  - name: helper-pod
    image: {LOCAL_PATH_HELPER_IMAGE}
    imagePullPolicy: IfNotPresent
"""


def manifests(s: AddonSettings) -> list[dict[str, Any]]:
    """Every object of the add-ons (kubeadm's CoreDNS, rancher's local-path deployment)."""
    dns_labels = {"k8s-app": "kube-dns"}
    coredns_rules = [
        {
            "apiGroups": [""],
            "resources": ["endpoints", "services", "pods", "namespaces"],
            "verbs": ["list", "watch"],
        },
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    ]
    probe_port = {"liveness-probe": 8080, "readiness-probe": 8181}
    coredns: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dns_labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": dns_labels},
            "template": {
                "metadata": {"labels": dns_labels},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "dnsPolicy": "Default",
                    "containers": [
                        {
                            "name": "coredns",
                            "image": coredns_ref(s.coredns_version),
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "resources": {
                                "limits": {"memory": "170Mi"},
                                "requests": {"cpu": "100m", "memory": "70Mi"},
                            },
                            "volumeMounts": [
                                {"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}
                            ],
                            "ports": [
                                {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                                *(
                                    {"containerPort": port, "name": name, "protocol": "TCP"}
                                    for name, port in probe_port.items()
                                ),
                            ],
                            "livenessProbe": {
                                "httpGet": {"path": "/health", "port": "liveness-probe"},
                                "initialDelaySeconds": 60,
                                "timeoutSeconds": 5,
                                "failureThreshold": 5,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": "readiness-probe"},
                                "periodSeconds": 1,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "readOnlyRootFilesystem": True,
                            },
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config-volume",
                            "configMap": {
                                "name": "coredns",
                                "items": [{"key": "Corefile", "path": "Corefile"}],
                            },
                        }
                    ],
                },
            },
        },
    }
    kube_dns: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "namespace": "kube-system",
            "labels": {**dns_labels, "kubernetes.io/name": "CoreDNS"},
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
        },
        "spec": {
            "selector": dns_labels,
            "clusterIP": s.net.dns_ip,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }
    lpp = "local-path-provisioner"
    lpp_ns = "local-path-storage"
    lpp_sa = f"{lpp}-service-account"
    provisioner: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": lpp, "namespace": lpp_ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": lpp}},
            "template": {
                "metadata": {"labels": {"app": lpp}},
                "spec": {
                    "serviceAccountName": lpp_sa,
                    "priorityClassName": "system-node-critical",
                    "containers": [
                        {
                            "name": lpp,
                            "image": local_path_provisioner_ref(s.local_path_provisioner_version),
                            "imagePullPolicy": "IfNotPresent",
                            "command": [lpp, "start", "--config", "/etc/config/config.json"],
                            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/config/"}],
                            "env": [
                                {
                                    "name": "POD_NAMESPACE",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                                },
                                {"name": "CONFIG_MOUNT_PATH", "value": "/etc/config/"},
                            ],
                        }
                    ],
                    "volumes": [{"name": "config-volume", "configMap": {"name": "local-path-config"}}],
                },
            },
        },
    }
    return [
        # CoreDNS, as kubeadm deploys it
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:coredns"},
            "rules": coredns_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:coredns"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:coredns",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "coredns", "namespace": "kube-system"},
            "data": {"Corefile": corefile(s.cluster_domain)},
        },
        coredns,
        kube_dns,
        # local-path storage, as rancher's deploy/local-path-storage.yaml has it
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": lpp_ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": lpp_sa, "namespace": lpp_ns}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"{lpp}-role", "namespace": lpp_ns},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{lpp}-role"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["nodes", "persistentvolumeclaims", "configmaps", "pods", "pods/log"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": [""],
                    "resources": ["persistentvolumes"],
                    "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
                },
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {
                    "apiGroups": ["storage.k8s.io"],
                    "resources": ["storageclasses"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{lpp}-bind", "namespace": lpp_ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{lpp}-role"},
            "subjects": [{"kind": "ServiceAccount", "name": lpp_sa, "namespace": lpp_ns}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{lpp}-bind"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{lpp}-role",
            },
            "subjects": [{"kind": "ServiceAccount", "name": lpp_sa, "namespace": lpp_ns}],
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "local-path-config", "namespace": lpp_ns},
            "data": {
                "config.json": _local_path_config(s.storage_dir),
                "setup": '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
                "teardown": '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
                "helperPod.yaml": _HELPER_POD,
            },
        },
        provisioner,
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": "rancher.io/local-path",
            "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete",
        },
    ]


def apply(kubectl: Path, kubeconfig: Path, objects: list[dict[str, Any]], log: Path) -> None:
    """Server-side apply of ``objects`` with the cluster's kubectl (one call for all)."""
    doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    proc = subprocess.run(
        [
            str(kubectl),
            f"--kubeconfig={kubeconfig}",
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=pytest-pods",
            "-f",
            "-",
        ],
        input=doc.encode(),
        capture_output=True,
        check=False,
        timeout=60,
    )
    with log.open("ab") as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise ComponentError(
            "add-ons",
            f"kubectl apply exited {proc.returncode}",
            str(log),
            proc.stderr.decode(errors="replace"),
        )
