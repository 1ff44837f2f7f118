"""core/api.py: the builders' read-only API GET (a real TLS server on 127.0.0.1 with client
certificates, made by the local cluster's PKI; its answers are canned: pure client logic), and what
"usable" means, shared by the local and the kind cluster."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_pods.core.api import ApiReader, KubeconfigError, node_ready, schedulable, usable_checks
from pytest_pods.localcluster.configs import write_kubeconfig
from pytest_pods.localcluster.pki import PKI, cluster_cert_specs

ANSWERS: dict[str, tuple[int, bytes]] = {
    "/version": (200, b'{"gitVersion": "v1.37.2"}'),
    "/api/v1/nodes?labelSelector=a%3Db": (200, b'{"items": []}'),
    "/broken": (500, b'{"kind": "Status"}'),
    "/html": (200, b"<html>a proxy</html>"),
}
SEEN: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        SEEN.append(self.request.getpeercert()["subject"][-1][0][1])
        status, body = ANSWERS.get(self.path, (404, b'{"kind": "Status", "code": 404}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PKI]]:
    pki = PKI(tmp_path_factory.mktemp("pki"))
    pki.create(cluster_cert_specs("node-a", "10.250.0.1", "10.96.0.1"))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.cert("apiserver")), str(pki.key("apiserver")))
    context.verify_mode = ssl.CERT_REQUIRED
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}", pki
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_reads_a_kubeconfig_with_embedded_certificates_as_kind_and_the_local_cluster_write(
    server: tuple[str, PKI], tmp_path: Path
) -> None:
    url, pki = server
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, pki, "admin")
    SEEN.clear()
    api = ApiReader.from_kubeconfig(kubeconfig, "pytest-pods")
    assert api.server_version() == "v1.37.2"
    assert SEEN == ["pytest-pods-admin"]  # the kubeconfig's client certificate was presented
    assert api.get("/api/v1/nodes", query={"labelSelector": "a=b"}) == {"items": []}
    assert api.get("/api/v1/namespaces/default/serviceaccounts/default") is None  # 404
    with pytest.raises(OSError, match="500"):
        api.get("/broken")
    with pytest.raises(OSError, match="not JSON"):
        api.get("/html")
    files = ApiReader.from_files(url, pki.ca_cert, pki.cert("admin"), pki.key("admin"))
    assert files.server_version() == "v1.37.2"


def test_no_answer_is_an_oserror(server: tuple[str, PKI], tmp_path: Path) -> None:
    _, pki = server
    api = ApiReader.from_files("https://127.0.0.1:1", pki.ca_cert, pki.cert("admin"), pki.key("admin"))
    with pytest.raises(OSError):
        api.get("/version", timeout=2)


def test_a_kubeconfig_it_cannot_use_names_itself_and_the_cause(
    server: tuple[str, PKI], tmp_path: Path
) -> None:
    url, pki = server
    with pytest.raises(KubeconfigError, match="cannot read it") as info:
        ApiReader.from_kubeconfig(tmp_path / "missing")
    assert info.value.kubeconfig == tmp_path / "missing"
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url, pki, "admin")
    with pytest.raises(KubeconfigError, match="KeyError: 'elsewhere'"):
        ApiReader.from_kubeconfig(kubeconfig, "elsewhere")
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["users"][0]["user"] = {"token": "t"}
    kubeconfig.write_text(yaml.safe_dump(doc))
    with pytest.raises(KubeconfigError, match="client-certificate-data"):
        ApiReader.from_kubeconfig(kubeconfig)


def node(ready: str = "True", *taints: str) -> dict[str, Any]:
    return {
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
        "spec": {"taints": [{"key": "k", "effect": effect} for effect in taints]},
    }


def test_a_node_takes_pods_when_ready_and_not_tainted_against_it() -> None:
    assert node_ready(node()) and not node_ready(node("False")) and not node_ready(None)
    assert schedulable(node()) and schedulable(node("True", "PreferNoSchedule"))
    assert not schedulable(node("True", "NoSchedule")) and not schedulable(node("False"))


def test_usable_checks_name_each_thing_a_first_pod_needs() -> None:
    objects: dict[str, dict[str, Any]] = {}

    def get(path: str) -> dict[str, Any] | None:
        return objects.get(path)

    named = usable_checks(get, node="node-a")
    anyone = usable_checks(get)
    assert list(named) == [
        "node node-a Ready",
        "ServiceAccount default/default",
        "ConfigMap default/kube-root-ca.crt",
    ]
    assert next(iter(anyone)) == "a Ready node without taints"
    assert not any(check() for check in [*named.values(), *anyone.values()])
    objects["/api/v1/nodes/node-a"] = node()
    objects["/api/v1/nodes"] = {"items": [node("True", "NoSchedule"), node()]}
    objects["/api/v1/namespaces/default/serviceaccounts/default"] = {}
    objects["/api/v1/namespaces/default/configmaps/kube-root-ca.crt"] = {}
    assert all(check() for check in [*named.values(), *anyone.values()])
    objects["/api/v1/nodes"] = {"items": [node("True", "NoSchedule")]}
    assert not anyone["a Ready node without taints"]()
