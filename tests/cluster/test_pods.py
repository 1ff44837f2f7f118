"""Apply, wait, exec, files, logs, hosts and port-forward against the real cluster."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from pytest_pods import Namespace, assert_file_contains, assert_hosts_entry, assert_log_contains
from pytest_pods.errors import (
    CommandNotFoundError,
    ContainerNotFoundError,
    ExecError,
    LogTimeoutError,
    ManifestError,
)
from tests.cluster.conftest import MANIFESTS, shell_pod

pytestmark = pytest.mark.cluster


def test_apply_returns_the_stored_objects_and_wait_ready(pods_namespace: Namespace) -> None:
    (obj,) = pods_namespace.apply(MANIFESTS / "pods01.yaml")
    assert obj["kind"] == "Pod"
    assert obj["metadata"]["namespace"] == pods_namespace.name
    assert obj["metadata"]["uid"]
    assert any(
        m.get("manager") == "pytest-pods" and m.get("operation") == "Apply"
        for m in obj["metadata"]["managedFields"]
    )
    pod = pods_namespace.pod("webserver").wait_ready(timeout=120)
    assert pod.phase == "Running"
    assert pod.conditions["Ready"] == "True"
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", pod.ip or "")
    assert pod.node
    assert pod.restart_counts == {"webserver": 0}
    assert [c.state for c in pod.container_statuses] == ["running"]
    assert pods_namespace.timings["apply"] > 0
    assert pods_namespace.timings["ready"] > 0


def test_apply_yaml_text_dict_and_reapply(pods_namespace: Namespace) -> None:
    text = (MANIFESTS / "pods01.yaml").read_text()
    first = pods_namespace.apply(text)
    again = pods_namespace.apply(
        text.replace("name: webserver\nspec", "name: webserver\n  labels: {tier: web}\nspec")
    )
    assert again[0]["metadata"]["uid"] == first[0]["metadata"]["uid"]
    assert again[0]["metadata"]["labels"] == {"tier": "web"}
    cm = pods_namespace.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    )
    assert cm[0]["data"] == {"k": "v"}


@pytest.mark.pods_manifest("manifests/pods01.yaml", timeout=120)
def test_marker_applies_and_waits_before_the_body(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    assert pod.conditions["Ready"] == "True"


@pytest.mark.pods_manifest("manifests/pods01.yaml")
def test_exec(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    result = pod.exec(["sh", "-c", "echo out; echo err >&2"])
    assert (result.returncode, result.stdout, result.stderr) == (0, "out\n", "err\n")
    assert result.container == "webserver"
    assert pod.exec("exit 3", check=False).returncode == 3
    with pytest.raises(ExecError, match="exited 4") as info:
        pod.exec("echo bad >&2; exit 4")
    assert (info.value.returncode, info.value.stderr) == (4, "bad\n")
    with pytest.raises(
        CommandNotFoundError, match="command 'no-such-command' not found in container 'webserver'"
    ):
        pod.exec(["no-such-command"], check=False)
    with pytest.raises(CommandNotFoundError):
        pod.exec("no-such-command")  # through a shell: exit 127
    with pytest.raises(ContainerNotFoundError, match="no container named 'nginx'; the pod has: webserver"):
        pod.exec(["true"], container="nginx")


@pytest.mark.pods_manifest("manifests/pods02.yaml")
def test_named_containers_and_hosts(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    assert pod.containers == ["webserver", "webwatcher"]
    assert pod.exec(["cat", "/etc/hostname"], container="webwatcher").stdout.strip() == "webserver"
    entries = pod.hosts(container="webwatcher")
    assert [e.names for e in entries if e.ip == pod.ip] == [("webserver",)]
    assert assert_hosts_entry(pod, "webserver", pod.ip, container="webwatcher") == [pod.ip]
    assert assert_hosts_entry(pod, "localhost") == ["127.0.0.1", "::1"]
    with pytest.raises(AssertionError, match=r"'nope.example' is not in /etc/hosts"):
        assert_hosts_entry(pod, "nope.example")
    with pytest.raises(ContainerNotFoundError, match="the pod has: webserver, webwatcher"):
        pod.hosts(container="watcher")


@pytest.mark.pods_manifest("manifests/pods03.yaml")
def test_shared_empty_dir_files_logs_and_port_forward(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("mc1")
    pod.exec(
        ["sh", "-c", "for i in $(seq 50); do [ -s /html/index.html ] && exit 0; sleep 0.1; done; exit 1"],
        container="2nd",
    )
    written = pod.read_file("/html/index.html", container="2nd")
    served = assert_file_contains(
        pod, "/usr/share/nginx/html/index.html", written.splitlines()[0], container="1st"
    )
    assert "UTC" in served
    with pytest.raises(ExecError, match="No such file"):
        pod.read_file("/nope", container="1st")
    with pod.port_forward(80) as port:
        for _ in range(2):  # each connection gets its own stream
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as response:
                body = response.read().decode()
            assert response.status == 200
            assert written.splitlines()[0] in body
    line = pod.wait_for_log(r'"GET / HTTP/1\.1" 200', container="1st", timeout=30)
    assert "GET / HTTP/1.1" in line
    assert assert_log_contains(pod, "Configuration complete", container="1st")


def test_port_forward_cleans_up_its_threads(pods_namespace: Namespace) -> None:
    import threading

    pods_namespace.apply(MANIFESTS / "pods01.yaml", wait=True)
    pod = pods_namespace.pod("webserver")
    before = {t.ident for t in threading.enumerate()}
    with (
        pod.port_forward(80) as port,
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as response,
    ):
        assert b"Welcome to nginx" in response.read()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"threads left running: {[t.name for t in left]}"
    import socket

    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


@pytest.mark.pods_manifest("manifests/pods01.yaml")
def test_wait_for_log_timeout_shows_the_tail(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    began = time.monotonic()
    with pytest.raises(LogTimeoutError, match="no line matching 'never printed'") as info:
        pod.wait_for_log("never printed", timeout=3)
    assert 3 <= time.monotonic() - began < 20
    assert "Configuration complete" in info.value.tail


def test_logs_of_the_previous_container(pods_namespace: Namespace) -> None:
    pods_namespace.apply(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "flaky"},
            "spec": {
                "containers": [
                    {
                        "name": "main",
                        "image": "debian",
                        "command": ["sh", "-c", "echo run $(date +%s%N); sleep 1; exit 1"],
                    }
                ]
            },
        }
    )
    pod = pods_namespace.pod("flaky")
    pod.wait_for_log("^run ", timeout=60)
    deadline = time.monotonic() + 60
    while pod.restart_counts.get("main", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert pod.restart_counts["main"] >= 1
    assert pod.logs(previous=True).startswith("run ")


def test_bad_manifests_are_refused_before_anything_is_applied(pods_namespace: Namespace) -> None:
    bad_field = (MANIFESTS / "pods01.yaml").read_text().replace("    ports:", "    prots:")
    with pytest.raises(ManifestError, match="unknown field 'prots'") as info:
        pods_namespace.apply(bad_field)
    assert (info.value.obj, info.value.field, info.value.line) == (
        "Pod/webserver",
        "spec.containers[0].prots",
        9,
    )
    crd = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    two = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first"}}, crd]
    with pytest.raises(ManifestError, match=r"does not serve apiVersion 'example.com/v1'") as info2:
        pods_namespace.apply(two)
    assert info2.value.obj == "Widget/w"
    assert pods_namespace.pods() == []
    listing = pods_namespace.kube.request("GET", f"/api/v1/namespaces/{pods_namespace.name}/configmaps")
    assert "first" not in [c["metadata"]["name"] for c in listing["items"]]


def test_server_dry_run_catches_what_the_schema_cannot(pods_namespace: Namespace) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "Bad_Name", "image": "nginx"}]},
    }
    with pytest.raises(ManifestError, match=r"spec\.containers\[0\]\.name") as info:
        pods_namespace.dry_run(pod)
    assert info.value.obj == "Pod/p"
    assert pods_namespace.pods() == []


def test_delete_waits_until_the_pod_is_gone(pods_namespace: Namespace) -> None:
    (first,) = pods_namespace.apply(MANIFESTS / "pods03.yaml", wait=True)  # "2nd" ignores SIGTERM
    pod = pods_namespace.pod("mc1")
    began = time.monotonic()
    pod.delete(grace_period=0)
    assert time.monotonic() - began < 30
    assert pods_namespace.pods() == []
    pod.delete()  # already gone: nothing to do
    (second,) = pods_namespace.apply(MANIFESTS / "pods03.yaml", wait=True)
    assert second["metadata"]["uid"] != first["metadata"]["uid"]


def test_wait_for_log_waits_for_a_container_that_starts_late(pods_namespace: Namespace) -> None:
    late = shell_pod(
        "late",
        "echo line-from-main; sleep 600",
        initContainers=[{"name": "first", "image": "debian", "command": ["sleep", "3"]}],
    )
    pods_namespace.apply(late)  # no wait: the log is asked for before the container exists
    line = pods_namespace.pod("late").wait_for_log("line-from-main", container="main", timeout=90)
    assert line == "line-from-main"


def test_wait_for_log_gives_up_at_once_on_a_finished_container(pods_namespace: Namespace) -> None:
    pods_namespace.apply(shell_pod("done", "echo only-this; exit 0", restartPolicy="Never"))
    pod = pods_namespace.pod("done")
    pod.wait_for_log("only-this", timeout=60)
    began = time.monotonic()
    with pytest.raises(LogTimeoutError) as info:
        pod.wait_for_log("never-printed", timeout=60)
    assert time.monotonic() - began < 30
    assert info.value.timeout < 30 and "only-this" in info.value.tail
