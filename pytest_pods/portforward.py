"""Port-forward's local side: a 127.0.0.1 listener whose connections are piped, one stream each,
through a pod's portforward subresource, and what the pod side said when it refused or cut one.

The stream itself is opened by the API client (:meth:`pytest_pods.kube.Kube.port_forward`, which
hands out a :class:`PortForward`); this module is the TCP proxy server beside it, as kr8s keeps its
``_portforward.py`` apart from ``_api.py``.
"""

from __future__ import annotations

import contextlib
import functools
import selectors
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_pods.kube import Kube


# The phrases of a refused or cut connection in a port-forward error channel's message, e.g. containerd's
# "... failed to connect to localhost:80 inside namespace ...: dial tcp4 127.0.0.1:80: connect:
# connection refused ..."; the first one found names the cause.
_FORWARD_CAUSES = (
    "connection refused",
    "connection reset by peer",
    "broken pipe",
    "no route to host",
    "i/o timeout",
)


@dataclass(frozen=True)
class ForwardProblem:
    """A forwarded connection that the pod side refused or cut: ``cause`` in a few words
    (``connection refused``, ``connection reset by peer``, ...), ``message`` as the runtime sent it
    on the stream's error channel."""

    cause: str
    message: str

    @classmethod
    def of(cls, message: str | None) -> ForwardProblem:
        text = (message or "").strip()
        if not text:
            return cls("closed", "the port-forward stream closed without a message")
        low = text.lower()
        cause = next((c for c in _FORWARD_CAUSES if c in low), "error")
        return cls(cause, text)

    @property
    def refused(self) -> bool:
        return self.cause == "connection refused"


# Opening a stream starts one proxy thread of the kubernetes client; the lock makes it the only new
# thread between two enumerations, so that closing can join it.
_OPEN_LOCK = threading.Lock()


@functools.cache
def _stream_that_ends_quietly() -> type:
    """The kubernetes client's port-forward stream, whose proxy thread ends as on a clean close when
    the API server cuts the connection instead of dying on the error (an ``SSLEOFError`` in a thread
    of its own, which pytest reports as an unhandled thread exception: a known fault of the client,
    see opendatahub-io/notebooks#988). The local side then sees the stream end, with the cause on
    the port's error channel unless the pod side said one first."""
    from kubernetes.stream import ws_client
    from websocket import WebSocketException

    class QuietProxy(ws_client.PortForward):
        def _proxy(self) -> None:
            try:
                super()._proxy()  # type: ignore[no-untyped-call]
            except (OSError, WebSocketException) as exc:
                for local in self.local_ports.values():
                    if not local.error:
                        local.error = f"the API server cut the stream ({type(exc).__name__}: {exc})"
                    with contextlib.suppress(OSError):
                        local.python.close()

    return QuietProxy


@contextlib.contextmanager
def _quiet_proxies() -> Iterator[None]:
    """While held (under :data:`_OPEN_LOCK`), the client makes its streams as
    :func:`_stream_that_ends_quietly` (it names its ``PortForward`` class at the call)."""
    from kubernetes.stream import ws_client

    original = ws_client.PortForward
    setattr(ws_client, "PortForward", _stream_that_ends_quietly())  # noqa: B010 (a class, to mypy)
    try:
        yield
    finally:
        setattr(ws_client, "PortForward", original)  # noqa: B010


def open_tracked(kube: Kube, namespace: str, pod: str, port: int) -> tuple[Any, list[threading.Thread]]:
    with _OPEN_LOCK, _quiet_proxies():
        before = set(threading.enumerate())
        pf = kube._open_forward(namespace, pod, port)
        proxies = [t for t in threading.enumerate() if t not in before]
    return pf, proxies


def close_tracked(pf: Any, proxies: list[threading.Thread]) -> None:
    pf.close()
    for proxy in proxies:  # it closes the websocket once our end is closed
        proxy.join(timeout=5)
    pf.websocket.shutdown()


class PortForward:
    """A 127.0.0.1 listener whose connections are piped through the portforward subresource.

    ``problems`` lists, in order, each connection that the pod side refused or cut (or that could
    not be forwarded at all); such a connection is reset on the local side too, so that a client
    sees a reset, not a clean close.
    """

    def __init__(self, kube: Kube, namespace: str, pod: str, port: int) -> None:
        self.kube = kube
        self.namespace = namespace
        self.pod = pod
        self.port = port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.local_port: int = self.listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.problems: list[ForwardProblem] = []
        self._accept = threading.Thread(
            target=self._serve, name=f"pytest-pods port-forward :{port}", daemon=True
        )
        self._accept.start()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.listener, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    conn, _ = self.listener.accept()
                    t = threading.Thread(target=self._pipe, args=(conn,), daemon=True)
                    with self._lock:
                        self._threads.append(t)
                        t.start()
        finally:
            sel.close()

    def _pipe(self, conn: socket.socket) -> None:
        pf: Any = None
        proxies: list[threading.Thread] = []
        problem: ForwardProblem | None = None
        try:
            pf, proxies = open_tracked(self.kube, self.namespace, self.pod, self.port)
            remote = pf.socket(self.port)
            remote.setblocking(True)
            sel = selectors.DefaultSelector()
            sel.register(conn, selectors.EVENT_READ)
            sel.register(remote, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            try:
                while not self._stop.is_set():
                    for key, _ in sel.select():
                        if key.fileobj is self._wake_r:
                            return
                        src, dst = (conn, remote) if key.fileobj is conn else (remote, conn)
                        data = src.recv(65536)
                        if not data:
                            if src is remote and pf.error(self.port):  # set before the stream closes
                                problem = ForwardProblem.of(pf.error(self.port))
                            return
                        dst.sendall(data)
            finally:
                sel.close()
        except Exception as exc:  # one broken connection must not take the listener down
            # writing to a stream the pod side refused breaks the pipe: its error channel says why
            said = pf.error(self.port) if pf is not None else None
            problem = (
                ForwardProblem.of(said) if said else ForwardProblem("error", f"{type(exc).__name__}: {exc}")
            )
        finally:
            if problem is not None:
                self.problems.append(problem)  # before the client sees its connection end
                with contextlib.suppress(OSError):  # a reset, as the pod side did
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            if pf is not None:
                close_tracked(pf, proxies)

    def close(self) -> None:
        self._stop.set()
        self._wake_w.send(b"x")
        self._accept.join(timeout=5)
        self.listener.close()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(timeout=5)
        self._wake_r.close()
        self._wake_w.close()
