"""Port-forward and HTTP against the real cluster: the wait for a listener, refusals named, http_get."""

from __future__ import annotations

import http.client
import time
import urllib.request
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import PortForwardError
from tests.cluster.conftest import MANIFESTS, shell_pod

pytestmark = pytest.mark.cluster


def _nginx(name: str, command: str) -> dict[str, Any]:
    web = {"name": "web", "image": "nginx:latest", "ports": [{"containerPort": 80}]}
    return shell_pod(name, command, web)


def test_port_forward_waits_for_a_server_that_listens_late(pods_namespace: Namespace) -> None:
    # Ready (no readiness probe) seconds before nginx listens: the RemoteDisconnected flake
    late = _nginx("late", "echo starting late; sleep 5; exec nginx -g 'daemon off;'")
    pods_namespace.apply(late, wait=True)
    pod = pods_namespace.pod("late")
    began = time.monotonic()
    with (
        pod.port_forward(80, timeout=60) as port,
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as response,
    ):
        assert response.status == 200
        assert b"Welcome to nginx" in response.read()
    assert time.monotonic() - began > 1  # it did wait (the pod was Ready well before nginx listened)


def test_http_get_returns_status_headers_and_body(pods_namespace: Namespace) -> None:
    pods_namespace.apply(MANIFESTS / "pods01.yaml", wait=True)
    pod = pods_namespace.pod("webserver")
    answer = pod.http_get(80)
    assert (answer.status, answer.reason) == (200, "OK")
    assert answer.headers["content-type"] == "text/html"
    assert "Welcome to nginx!" in answer.text
    missing = pod.http_get(80, "/nope", headers={"Accept": "text/plain"})
    assert missing.status == 404  # an HTTP error status is an answer, not an exception
    assert b"404" in missing.body


def test_port_forward_to_a_closed_port_names_pod_port_time_and_log(pods_namespace: Namespace) -> None:
    pods_namespace.apply(MANIFESTS / "pods01.yaml", wait=True)
    pod = pods_namespace.pod("webserver")
    began = time.monotonic()
    with pytest.raises(PortForwardError) as info, pod.port_forward(81, timeout=3):
        pytest.fail("port_forward yielded for a port nothing listens on")
    assert 3 <= time.monotonic() - began < 30
    error = info.value
    assert (error.port, error.cause, error.container) == (81, "connection refused", "webserver")
    assert error.waited is not None and error.waited >= 3
    text = str(error)
    assert f"pod {pods_namespace.name}/webserver" in text
    assert "nothing accepted connections on port 81 within" in text
    assert "--- last log lines of container 'webserver' ---" in text
    assert "Configuration complete" in text  # nginx's start-up log line


def test_a_refused_connection_is_named_not_a_bare_disconnect(pods_namespace: Namespace) -> None:
    pods_namespace.apply(_nginx("stops", "nginx && sleep 600"), wait=True)
    pod = pods_namespace.pod("stops")
    with (
        pytest.raises((ConnectionError, http.client.HTTPException)) as info,
        pod.port_forward(80, timeout=60) as port,
    ):
        pod.exec("nginx -s stop && sleep 1")  # the server goes away after the wait
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20)
    assert isinstance(info.value, ConnectionResetError)  # reset as the pod side refused, not closed
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert f"pod {pods_namespace.name}/stops: a connection forwarded to port 80 failed" in notes
    assert "connection refused" in notes
    closed = r"port 80 within 2(\.\d)?s \(last attempt: connection refused\)"
    with pytest.raises(PortForwardError, match=closed):
        pod.http_get(80, timeout=2)
