"""Cluster plumbing of the real local cluster (issue 9): Services through kube-proxy, cluster DNS from
CoreDNS, the API server from inside a pod, and PersistentVolumes from local-path storage.

The client pods use the lab's stand-ins: ``afakharany/watcher`` has curl, ``debian`` has getent.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pytest_pods.localcluster import LocalCluster, addons
from pytest_pods.localcluster.health import dns_answers

from .conftest import Kubectl, needs_root

pytestmark = [pytest.mark.cluster, needs_root]

# nginx that answers with its own pod name, on a named port.
WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:latest
        command: ["sh", "-c", "hostname > /usr/share/nginx/html/index.html && exec nginx -g 'daemon off;'"]
        ports: [{name: http, containerPort: 80}]
        readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: sticky}
spec:
  selector: {app: web}
  sessionAffinity: ClientIP
  ports: [{port: 80, targetPort: http}]
"""

CLIENT = """
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: client
    image: docker.io/afakharany/watcher:latest
    command: ["sleep", "infinity"]
"""


def _apply(kubectl: Kubectl, tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    kubectl("apply", "-f", str(path))


def _sh(kubectl: Kubectl, pod: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return kubectl("exec", pod, "--", "sh", "-c", script, check=check)


@pytest.fixture
def web(kubectl_ns: Kubectl, tmp_path: Path) -> Kubectl:
    """Deployment web (2 replicas) behind Services web (port 8080 -> named port http) and sticky
    (ClientIP affinity), and a client pod; all Ready."""
    _apply(kubectl_ns, tmp_path, "web", WEB)
    _apply(kubectl_ns, tmp_path, "client", CLIENT)
    kubectl_ns("rollout", "status", "deployment/web", "--timeout=120s")
    kubectl_ns("wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    _wait_endpoints(kubectl_ns, "web", 2)
    _wait_endpoints(kubectl_ns, "sticky", 2)
    # kube-proxy programs a slice a few tens of ms after it changes (as on kind): until then the
    # Service refuses connections. Wait for the first answer of each.
    for url in ("http://web:8080/", "http://sticky/"):
        _sh(
            kubectl_ns,
            "client",
            f"curl -sS -o /dev/null --retry 20 --retry-connrefused --retry-delay 1 {url}",
        )
    return kubectl_ns


def _replica_names(kubectl: Kubectl) -> set[str]:
    out = kubectl("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}").stdout
    return set(out.split())


def _answers(kubectl: Kubectl, url: str, times: int) -> list[str]:
    """The replica names that answered ``times`` requests; every request must be answered."""
    script = f"for i in $(seq {times}); do curl -sS --max-time 5 {url}; done"
    res = _sh(kubectl, "client", script)
    got = res.stdout.split()
    assert len(got) == times, (url, got, res.stderr)
    return got


def _wait_endpoints(kubectl: Kubectl, service: str, count: int, timeout: float = 30) -> None:
    """Until the Service's EndpointSlices list ``count`` ready endpoints (what kube-proxy programs)."""
    deadline = time.monotonic() + timeout
    while True:
        out = kubectl("get", "endpointslices", "-l", f"kubernetes.io/service-name={service}", "-o", "json")
        ready = [
            e
            for item in json.loads(out.stdout)["items"]
            for e in item.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready")
        ]
        if len(ready) == count:
            return
        assert time.monotonic() < deadline, f"{service}: {len(ready)} ready endpoints, not {count}"
        time.sleep(0.2)


def test_a_service_is_reached_by_dns_name_and_cluster_ip_and_both_replicas_answer(web: Kubectl) -> None:
    replicas = _replica_names(web)
    assert len(replicas) == 2
    cluster_ip = web("get", "service", "web", "-o", "jsonpath={.spec.clusterIP}").stdout
    ns = web.namespace
    for url in (
        "http://web:8080/",
        f"http://web.{ns}:8080/",
        f"http://web.{ns}.svc.cluster.local:8080/",
        f"http://{cluster_ip}:8080/",
    ):
        # Random choice between the two: allow a few rounds for both to show up.
        answered: list[str] = []
        for _ in range(3):
            answered += _answers(web, url, 16)
            if set(answered) == replicas:
                break
        assert set(answered) == replicas, (url, answered)  # both, and nothing else
    # The names resolve to the ClusterIP.
    got = _sh(web, "client", f"getent hosts web.{ns}.svc.cluster.local").stdout.split()
    assert got[0] == cluster_ip


def test_client_ip_session_affinity_sticks_to_one_replica(web: Kubectl) -> None:
    answered = _answers(web, "http://sticky/", 16)
    assert len(set(answered)) == 1, answered
    assert set(answered) <= _replica_names(web)


def test_port_forward_to_a_service(web: Kubectl) -> None:
    argv = [str(web.binary), f"--kubeconfig={web.kubeconfig}", f"--namespace={web.namespace}"]
    with subprocess.Popen(
        [*argv, "port-forward", "service/web", ":8080", "--address=127.0.0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # "Forwarding from 127.0.0.1:PORT -> 80"
            port = int(line.split("->")[0].rsplit(":", 1)[1])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
                assert resp.read().decode().strip() in _replica_names(web)
        finally:
            proc.terminate()


def test_node_ports_open_on_the_node_address_only(web: Kubectl, local_cluster: LocalCluster) -> None:
    web("expose", "deployment/web", "--name=np", "--type=NodePort", "--port=80", "--target-port=http")
    port = int(web("get", "service", "np", "-o", "jsonpath={.spec.ports[0].nodePort}").stdout)
    node_ip = local_cluster.config.network.node_ip
    deadline = time.monotonic() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://{node_ip}:{port}/", timeout=5) as resp:
                assert resp.read().decode().strip() in _replica_names(web)
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    # Every rule that leads to KUBE-NODEPORTS matches the node's address, never any local address.
    nat = subprocess.run(["iptables-save", "-t", "nat"], capture_output=True, text=True, check=True).stdout
    jumps = [r for r in nat.splitlines() if r.startswith("-A") and "-j KUBE-NODEPORTS" in r]
    assert jumps and all(f"-d {node_ip}/32" in r for r in jumps), jumps


def test_headless_statefulset_resolves_to_its_pod_and_keeps_its_volume(
    kubectl_ns: Kubectl, tmp_path: Path
) -> None:
    _apply(
        kubectl_ns,
        tmp_path,
        "db",
        """
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: db
        image: debian:bookworm
        command:
        - sh
        - -c
        - test -f /data/born || cat /proc/sys/kernel/random/uuid > /data/born; exec sleep infinity
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 16Mi}}
""",
    )
    kubectl_ns("rollout", "status", "statefulset/db", "--timeout=120s")
    pvc = json.loads(kubectl_ns("get", "pvc", "data-db-0", "-o", "json").stdout)
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == addons.STORAGE_CLASS  # the default class
    born = _sh(kubectl_ns, "db-0", "cat /data/born").stdout.strip()
    assert born

    pod_ip = kubectl_ns("get", "pod", "db-0", "-o", "jsonpath={.status.podIP}").stdout
    ns = kubectl_ns.namespace
    for name in ("db", f"db.{ns}.svc.cluster.local", "db-0.db", f"db-0.db.{ns}.svc.cluster.local"):
        got = _sh(kubectl_ns, "db-0", f"getent hosts {name}").stdout.split()
        assert got and got[0] == pod_ip, (name, got)

    uid = kubectl_ns("get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}").stdout
    kubectl_ns("delete", "pod", "db-0", "--wait=true")
    deadline = time.monotonic() + 120
    while kubectl_ns("get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}", check=False).stdout in ("", uid):
        assert time.monotonic() < deadline, "db-0 was not re-created"
        time.sleep(0.3)
    kubectl_ns("wait", "--for=condition=Ready", "pod/db-0", "--timeout=120s")
    assert _sh(kubectl_ns, "db-0", "cat /data/born").stdout.strip() == born


def test_pod_hostname_under_a_subdomain_resolves(kubectl_ns: Kubectl, tmp_path: Path) -> None:
    _apply(
        kubectl_ns,
        tmp_path,
        "named",
        """
apiVersion: v1
kind: Service
metadata: {name: sub}
spec:
  clusterIP: None
  selector: {app: named}
  ports: [{port: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: named, labels: {app: named}}
spec:
  hostname: h1
  subdomain: sub
  terminationGracePeriodSeconds: 0
  containers:
  - {name: main, image: "debian:bookworm", command: [sleep, infinity]}
""",
    )
    kubectl_ns("wait", "--for=condition=Ready", "pod/named", "--timeout=120s")
    pod_ip = kubectl_ns("get", "pod", "named", "-o", "jsonpath={.status.podIP}").stdout
    fqdn = f"h1.sub.{kubectl_ns.namespace}.svc.cluster.local"
    assert _sh(kubectl_ns, "named", f"getent hosts {fqdn}").stdout.split()[0] == pod_ip
    assert _sh(kubectl_ns, "named", "hostname -f").stdout.strip() == fqdn


def test_dns_answers_for_the_cluster_and_fails_fast_for_everything_else(
    kubectl_ns: Kubectl, tmp_path: Path, local_cluster: LocalCluster
) -> None:
    _apply(kubectl_ns, tmp_path, "client", CLIENT)
    kubectl_ns("wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    net = local_cluster.config.network
    got = _sh(kubectl_ns, "client", "getent hosts kubernetes.default.svc").stdout.split()
    assert got[0] == net.service_ip
    resolv = _sh(kubectl_ns, "client", "cat /etc/resolv.conf").stdout
    assert f"nameserver {net.dns_ip}" in resolv
    # No upstream: a name outside the cluster is NXDOMAIN at once (getent exits 2: not found),
    # through the whole search list (ndots:5), and so is a Service that does not exist.
    for name in ("no-such-host.example.com", "no-such-service", "www.debian.org"):
        began = time.monotonic()
        res = _sh(kubectl_ns, "client", f"getent hosts {name}", check=False)
        took = time.monotonic() - began
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        assert took < 3, f"{name}: {took:.1f}s (exec itself included)"


def test_the_host_reaches_cluster_dns_through_the_service_and_never_off_the_machine(
    local_cluster: LocalCluster,
) -> None:
    # What `up` waits for: CoreDNS answers through kube-proxy's rules for the kube-dns Service, queried
    # from the node's address; the Service network is routed to the port-less node link, so a Service
    # address never goes out by the default route, whatever kube-proxy has programmed.
    net = local_cluster.config.network
    route = subprocess.run(["ip", "route", "get", net.dns_ip], capture_output=True, text=True, check=True)
    assert f"dev {net.node_link}" in route.stdout and f"src {net.node_ip}" in route.stdout, route.stdout
    assert dns_answers(net.dns_ip, "kubernetes.default.svc.cluster.local", source=net.node_ip) is None
    nx = dns_answers(net.dns_ip, "no-such-service.default.svc.cluster.local", source=net.node_ip)
    assert nx is not None and "rcode 3" in nx


def test_a_pod_reaches_the_api_server_with_its_service_account(kubectl_ns: Kubectl, tmp_path: Path) -> None:
    _apply(kubectl_ns, tmp_path, "client", CLIENT)
    kubectl_ns("wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    # Who am I? (any authenticated identity may ask): proves TLS to the Service IP and name (the
    # serving certificate's SANs, verified against the pod's CA bundle) and token authentication.
    review = '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}'
    script = (
        f'curl -sS --fail --cacert {sa}/ca.crt -H "Authorization: Bearer $(cat {sa}/token)" '
        f"-H 'Content-Type: application/json' -d '{review}' "
        "https://kubernetes.default.svc/apis/authentication.k8s.io/v1/selfsubjectreviews"
    )
    answer = json.loads(_sh(kubectl_ns, "client", script).stdout)
    user = answer["status"]["userInfo"]["username"]
    assert user == f"system:serviceaccount:{kubectl_ns.namespace}:default"
    # RBAC applies as anywhere: the default account may not list pods.
    denied = _sh(
        kubectl_ns,
        "client",
        f'curl -sS -o /dev/null -w "%{{http_code}}" --cacert {sa}/ca.crt '
        f'-H "Authorization: Bearer $(cat {sa}/token)" https://kubernetes.default/api/v1/pods',
    )
    assert denied.stdout == "403"


def test_pods_have_no_route_off_the_machine(
    kubectl_ns: Kubectl, tmp_path: Path, local_cluster: LocalCluster
) -> None:
    _apply(kubectl_ns, tmp_path, "client", CLIENT)
    kubectl_ns("wait", "--for=condition=Ready", "pod/client", "--timeout=120s")
    routes = _sh(kubectl_ns, "client", "cat /proc/net/route").stdout.splitlines()[1:]
    destinations = {line.split()[1] for line in routes}
    assert "00000000" not in destinations  # no default route
    # and what a pod might send through the host anyway is dropped before it leaves
    rules = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, check=True).stdout
    bridge = local_cluster.config.network.bridge
    assert f"-A FORWARD -i {bridge} ! -o {bridge}" in rules and "-j DROP" in rules
