"""Pure logic of the port-forward: naming what the pod side said, the error's message, and the
client's stream ending quietly when the API server cuts it (a socket pair stands in for the TLS
connection)."""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Any

import pytest

from pytest_pods import portforward
from pytest_pods.errors import PortForwardError
from pytest_pods.portforward import ForwardProblem

# what containerd sends on the error channel when nothing listens (seen on the local cluster)
REFUSED = (
    "error forwarding port 80 to pod b511850d4ec0, uid : failed to execute portforward in network namespace "
    '"/var/run/netns/cni-ad40": failed to connect to localhost:80 inside namespace "b511850d4ec0", IPv4: '
    "dial tcp4 127.0.0.1:80: connect: connection refused IPv6 dial tcp6: address localhost: no suitable"
)


def test_forward_problem_names_the_cause() -> None:
    assert ForwardProblem.of(REFUSED) == ForwardProblem("connection refused", REFUSED)
    assert ForwardProblem.of(REFUSED).refused
    reset = ForwardProblem.of("error copying: read tcp4 127.0.0.1:80: read: Connection reset by peer")
    assert reset.cause == "connection reset by peer" and not reset.refused
    assert ForwardProblem.of("something new").cause == "error"
    assert ForwardProblem.of("").cause == ForwardProblem.of(None).cause == "closed"


def test_port_forward_error_after_a_wait_names_pod_port_time_and_log() -> None:
    error = PortForwardError(
        "ns", "web", 81, "connection refused", REFUSED, waited=3.1, container="nginx", tail="ready\n"
    )
    text = str(error)
    assert text.startswith("pod ns/web: nothing accepted connections on port 81 within 3.1s")
    assert "(last attempt: connection refused)" in text
    assert "dial tcp4 127.0.0.1:80" in text
    assert text.endswith("--- last log lines of container 'nginx' ---\nready\n")
    empty = PortForwardError("ns", "web", 81, "connection refused", REFUSED, waited=3, container="nginx")
    assert str(empty).endswith("(the log of container 'nginx' is empty)")


def test_port_forward_error_of_one_connection() -> None:
    error = PortForwardError("ns", "web", 80, "connection reset by peer", "")
    assert (
        str(error)
        == "pod ns/web: a connection forwarded to port 80 failed on the pod side: connection reset by peer"
    )
    assert error.waited is None and error.tail == ""


class CutWebsocket:
    """A websocket whose TLS connection the server cut: readable, and reading it raises
    ``SSLEOFError``, as the kubernetes client's proxy thread met it on a real cluster."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.theirs.send(b"x")  # readable
        self.connected = True
        self.sock = self.ours

    def fileno(self) -> int:
        return self.ours.fileno()

    def recv_data_frame(self, control_frame: bool) -> Any:
        raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")

    def close(self) -> None:
        self.connected = False


def test_a_stream_the_api_server_cuts_ends_quietly_with_the_cause(monkeypatch: pytest.MonkeyPatch) -> None:
    died: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", died.append)
    websocket = CutWebsocket()
    before = set(threading.enumerate())
    stream = portforward._stream_that_ends_quietly()(websocket, [80])
    for proxy in set(threading.enumerate()) - before:
        proxy.join(timeout=5)
    assert died == []  # the client's own class lets the error out of its thread
    assert stream.socket(80).recv(10) == b""  # the local side sees the stream end
    assert "the API server cut the stream (SSLEOFError" in stream.error(80)
    problem = portforward.ForwardProblem.of(stream.error(80))
    assert problem.cause == "error" and "SSLEOFError" in problem.message
    stream.close()
    websocket.ours.close()
    websocket.theirs.close()
