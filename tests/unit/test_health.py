"""The DNS probe `up` waits on, against a made-up DNS server on 127.0.0.1 (the real one: every `up`,
and tests/localcluster/test_cluster_services.py)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator

import pytest

from pytest_pods.localcluster.health import dns_answers

Reply = Callable[[bytes], bytes | None]


@pytest.fixture
def dns_server() -> Iterator[Callable[[Reply], int]]:
    """Serves one reply per query, made by the test's function (None: stay silent); returns its port."""
    sockets: list[socket.socket] = []

    def serve(reply: Reply) -> int:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        sockets.append(s)

        def loop() -> None:
            while True:
                try:
                    query, peer = s.recvfrom(512)
                except OSError:
                    return
                answer = reply(query)
                if answer is not None:
                    s.sendto(answer, peer)

        threading.Thread(target=loop, daemon=True).start()
        return int(s.getsockname()[1])

    yield serve
    for s in sockets:
        s.close()


def _reply(query: bytes, rcode: int, answers: int) -> bytes:
    flags = 0x8180 | rcode
    return query[:2] + struct.pack(">HHHHH", flags, 1, answers, 0, 0) + query[12:]


def test_an_answer_with_a_record_is_healthy(dns_server: Callable[[Reply], int]) -> None:
    port = dns_server(lambda q: _reply(q, 0, 1))
    assert dns_answers("127.0.0.1", "kubernetes.default.svc.cluster.local", port=port) is None


def test_nxdomain_and_empty_answers_are_named(dns_server: Callable[[Reply], int]) -> None:
    port = dns_server(lambda q: _reply(q, 3, 0))
    assert dns_answers("127.0.0.1", "a.b", port=port) == "DNS 127.0.0.1: rcode 3, 0 answers for a.b"
    port = dns_server(lambda q: _reply(q, 0, 0))
    assert dns_answers("127.0.0.1", "a.b", port=port) == "DNS 127.0.0.1: rcode 0, 0 answers for a.b"


def test_silence_and_garbage_are_named(dns_server: Callable[[Reply], int]) -> None:
    port = dns_server(lambda q: None)
    assert dns_answers("127.0.0.1", "a.b", timeout=0.2, port=port) == "DNS 127.0.0.1: timed out"
    port = dns_server(lambda q: b"\x00\x01junk")
    assert dns_answers("127.0.0.1", "a.b", port=port) == "DNS 127.0.0.1: a malformed reply"


def test_the_query_asks_for_an_a_record_of_the_name(dns_server: Callable[[Reply], int]) -> None:
    seen: list[bytes] = []

    def record(query: bytes) -> bytes:
        seen.append(query)
        return _reply(query, 0, 1)

    port = dns_server(record)
    dns_answers("127.0.0.1", "web.ns.svc.cluster.local", port=port)
    assert seen[0][12:] == b"\x03web\x02ns\x03svc\x07cluster\x05local\x00\x00\x01\x00\x01"
