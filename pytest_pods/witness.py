"""Seeing a container stay alive as it happens, for Ready that holds (:class:`pytest_pods.waits.Hold`).

The pod's status tells of a container's death only at the kubelet's next relist of containers (every
second) plus a status write: up to 1.2 s late. An attach stream to the container (``kubectl attach``,
output only) ends the moment its process exits: here 0.01-0.05 s after the brief Ready of a container
that exits at once or is OOM-killed, where the status said so 1.02-1.06 s after. So a container whose
attach stream stayed open through a hold window was alive through all of it, and the wait need not
add the kubelet's lag to the window.

Each stream has a daemon thread of its own that opens it and reads (and drops) its output until it
ends or the witness is closed. Attaching has no effect on the container: the runtime copies its
output to the log file and to each attached stream.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from pytest_pods.errors import ApiError
from pytest_pods.kube import Kube

#: How long one read of a stream waits for its end; also how stale ``Sight.alive_through`` can be.
READ_SECONDS = 0.02

#: At most this many streams per witness (one wait); containers beyond them are judged by the pod's
#: status alone.
MAX_STREAMS = 32

#: A container as a hold sees it: (pod uid, container name, restart count).
Key = tuple[str, str, int]


@dataclass
class Sight:
    """What one attach stream has shown so far (monotonic clock). Written by the stream's thread."""

    state: str = "pending"  # pending (opening), open, or lost (ended, refused or never opened)
    opened_at: float = 0.0
    #: The container was alive until then: the end of the last read that found the stream open (give
    #: or take the milliseconds its end takes from the runtime to here, over loopback).
    alive_through: float = 0.0
    why: str = ""  # for ``lost``: the stream ended, or why it could not be opened


class AttachWitness:
    """One attach stream per container asked about, for the length of one wait (``close()`` ends
    them all). Safe to ask from one thread while the streams' threads run."""

    def __init__(self, kube: Kube) -> None:
        self._kube = kube
        self._sights: dict[Key, Sight] = {}
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()

    def sight(self, key: Key, namespace: str, pod: str, container: str, *, tty: bool = False) -> Sight:
        """What the stream to ``key`` has shown; the first ask opens it (in the background)."""
        found = self._sights.get(key)
        if found is not None:
            return found
        if len(self._threads) >= MAX_STREAMS or self._closing.is_set():
            found = self._sights[key] = Sight("lost", why=f"not watched (more than {MAX_STREAMS} containers)")
            return found
        found = self._sights[key] = Sight()
        thread = threading.Thread(
            target=self._watch,
            args=(found, namespace, pod, container, tty),
            name=f"pytest-pods-attach-{pod}-{container}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()
        return found

    def _watch(self, sight: Sight, namespace: str, pod: str, container: str, tty: bool) -> None:
        try:
            stream = self._kube.attach(namespace, pod, container, tty=tty)
        except ApiError as exc:  # 500: not running (any more); 403: attach is not allowed
            sight.why = f"attach failed: {exc.message}"
            sight.state = "lost"
            return
        try:
            sight.opened_at = sight.alive_through = time.monotonic()
            sight.state = "open"
            while not self._closing.is_set():
                if stream.ended(READ_SECONDS):
                    sight.why = "the attach stream ended: the process exited (or closed its output)"
                    sight.state = "lost"
                    return
                sight.alive_through = time.monotonic()
        finally:
            stream.close()

    def close(self) -> None:
        """End every stream: each thread closes its own within :data:`READ_SECONDS` (not waited for,
        so that a wait that has its answer returns at once)."""
        self._closing.set()
