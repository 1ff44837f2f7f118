"""The local cluster against itself: the lab's pods03 runs, and exec, logs and port-forward work
through the API server, from kubectl and from the Python client."""

from __future__ import annotations

import datetime as dt
import gc
import re
import socket
import subprocess
import time
import urllib.request

import pytest
from kubernetes import client, config
from kubernetes.stream import portforward, stream

from pytest_pods.localcluster import LocalCluster, imagestore
from pytest_pods.localcluster.imagestore import ImageStore

from .conftest import CLI, EXAMPLES, Kubectl, needs_root

pytestmark = [pytest.mark.cluster, needs_root]


def _dates(text: str) -> list[dt.datetime]:
    return [
        dt.datetime.strptime(line.strip(), "%a %b %d %H:%M:%S %Z %Y")
        for line in text.splitlines()
        if line.strip()
    ]


def test_pods03_containers_share_a_file_that_grows(kubectl_ns: Kubectl) -> None:
    kubectl_ns("apply", "-f", str(EXAMPLES / "pods03.yaml"))
    kubectl_ns("wait", "--for=condition=Ready", "pod/mc1", "--timeout=120s")
    running = kubectl_ns(
        "get",
        "pod",
        "mc1",
        "-o",
        "jsonpath={range .status.containerStatuses[*]}{.name}={.state.running.startedAt}{'\\n'}{end}",
    )
    states = dict(line.split("=", 1) for line in running.stdout.split())
    assert set(states) == {"1st", "2nd"} and all(states.values()), running.stdout

    first = kubectl_ns(
        "exec", "mc1", "-c", "1st", "--", "/bin/cat", "/usr/share/nginx/html/index.html"
    ).stdout
    second = kubectl_ns("exec", "mc1", "-c", "2nd", "--", "/bin/cat", "/html/index.html").stdout
    # The writer appends between the two reads: one file is a prefix of the other.
    shorter, longer = sorted((first, second), key=len)
    assert longer.startswith(shorter) and _dates(shorter)

    time.sleep(2.5)
    later = kubectl_ns(
        "exec", "mc1", "-c", "1st", "--", "/bin/cat", "/usr/share/nginx/html/index.html"
    ).stdout
    assert later.startswith(longer)
    assert len(_dates(later)) >= len(_dates(longer)) + 2

    logs = kubectl_ns("logs", "mc1", "-c", "1st").stdout
    assert "Configuration complete; ready for start up" in logs


def test_exec_logs_and_port_forward_from_the_python_client(
    kubectl_ns: Kubectl, local_cluster: LocalCluster
) -> None:
    kubectl_ns("apply", "-f", str(EXAMPLES / "pods01.yaml"))
    kubectl_ns("wait", "--for=condition=Ready", "pod/webserver", "--timeout=120s")
    with config.new_client_from_config(str(local_cluster.kubeconfig)) as api_client:
        _exec_logs_port_forward(client.CoreV1Api(api_client), kubectl_ns)


def _exec_logs_port_forward(api: client.CoreV1Api, kubectl_ns: Kubectl) -> None:
    ns = kubectl_ns.namespace
    assert ns
    # The convenience form of stream() never closes its websocket; drive it and close it ourselves.
    resp = stream(
        api.connect_get_namespaced_pod_exec,
        "webserver",
        ns,
        command=["cat", "/etc/os-release"],
        container="webserver",
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
        _preload_content=False,
    )
    try:
        resp.run_forever(timeout=30)
        out = resp.read_stdout()
        assert resp.returncode == 0
    finally:
        resp.close()
    assert "Debian" in out

    pf = portforward(api.connect_get_namespaced_pod_portforward, "webserver", ns, ports="80")
    try:
        sock = pf.socket(80)
        sock.setblocking(True)
        sock.settimeout(10)
        sock.sendall(b"GET /from-python-client HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while b"</html>" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
        sock.close()
    finally:
        pf.close()
        # close() only closes the local socket pair; the client's proxy thread then closes the
        # websocket. Wait for that, so its socket is not finalised in some later test.
        deadline = time.monotonic() + 10
        while pf.websocket.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
    assert not pf.websocket.connected
    assert reply.startswith(b"HTTP/1.1 404"), reply[:100]

    deadline = time.monotonic() + 10
    while "/from-python-client" not in (
        log := api.read_namespaced_pod_log("webserver", ns, container="webserver")
    ):
        assert time.monotonic() < deadline, log[-500:]
        time.sleep(0.2)


def test_port_forward_from_kubectl(kubectl_ns: Kubectl) -> None:
    kubectl_ns("apply", "-f", str(EXAMPLES / "pods01.yaml"))
    kubectl_ns("wait", "--for=condition=Ready", "pod/webserver", "--timeout=120s")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [
        str(kubectl_ns.binary),
        f"--kubeconfig={kubectl_ns.kubeconfig}",
        f"--namespace={kubectl_ns.namespace}",
        "port-forward",
        "--address=127.0.0.1",
        "pod/webserver",
        f"{port}:80",
    ]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            assert "Forwarding from 127.0.0.1" in proc.stdout.readline()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
                assert "Welcome to nginx" in resp.read().decode()
        finally:
            proc.terminate()


def test_versions_are_the_real_ones(local_cluster: LocalCluster) -> None:
    kubectl = Kubectl(local_cluster)
    out = kubectl("version", "-o", "json").stdout
    assert f'"gitVersion": "{local_cluster.config.kubernetes_version}"' in out
    node = kubectl("get", "nodes", "-o", "jsonpath={.items[0].status.nodeInfo.kubeletVersion}").stdout
    assert node == local_cluster.config.kubernetes_version


def test_the_kubeconfig_is_private_and_printed_by_the_cli(local_cluster: LocalCluster) -> None:
    out = subprocess.run([*CLI, "cluster", "kubeconfig"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(local_cluster.kubeconfig)
    assert local_cluster.kubeconfig.stat().st_mode & 0o777 == 0o600


def test_up_on_a_running_cluster_reuses_it(local_cluster: LocalCluster) -> None:
    began = time.monotonic()
    info = LocalCluster().up()
    assert info.reused
    assert time.monotonic() - began < 5
    assert subprocess.run([*CLI, "cluster", "status"], capture_output=True).returncode == 0


def test_up_starts_containerd_with_every_image_of_the_kept_store(local_cluster: LocalCluster) -> None:
    store = ImageStore(local_cluster.cache.image_store)
    keys = [p.name for p in store.root.iterdir() if store.ready(p.name)]
    assert len(keys) == 1, keys  # filled once for this build; older ones pruned
    kept = store.images(keys[0])
    assert "registry.k8s.io/pause:3.10" in kept and "docker.io/library/nginx:latest" in kept
    assert any("coredns" in ref for ref in kept) and any("local-path" in ref for ref in kept)
    ctr = ["ctr", f"--address={local_cluster.state.containerd_socket}", f"--namespace={imagestore.NAMESPACE}"]
    listed = subprocess.run([*ctr, "images", "ls"], capture_output=True, text=True, check=True).stdout
    for ref, digest in kept.items():
        assert re.search(rf"^{re.escape(ref)}\s+\S+\s+{digest}\s", listed, re.M), listed
        check = subprocess.run(
            [*ctr, "images", "check", f"name=={ref}"], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert len(check) == 2 and check[1].split()[-1] == "true", check  # unpacked
    # The add-ons' pods started from it: the kubelet found their images present.
    events = Kubectl(local_cluster)(
        "get", "events", "-A", "--field-selector=reason=Pulling", "-o", "name"
    ).stdout
    assert "coredns" not in events and "local-path" not in events, events
