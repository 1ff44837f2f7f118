"""Pure logic of the port-forward: naming what the pod side said, and the error's message."""

from __future__ import annotations

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
