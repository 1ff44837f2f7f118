"""Ready that holds: :class:`Hold` (when a pod's Ready has held ``stable`` seconds) and the attach
witness that sees a container stay alive as it happens.

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pytest_pods import podstate
from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube
from pytest_pods.waits.verdicts import Verdict, classify_held, restart_counts

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


#: How long Ready must hold by default (seconds): each container that should keep running must be
#: seen alive this long after it was first reported running. ``Settings.ready_stable`` takes it.
READY_STABLE = 1.0

#: How late the pod's status can tell of a container's death: the kubelet notices it at its next
#: relist of containers (every second) and then writes the status (measured: 0.1-1.17 s after the
#: brief Ready of a container that exits at once or is OOM-killed). So a status read at ``t`` that
#: shows a container running proves it alive only until ``t - REPORT_LAG``.
REPORT_LAG = 1.2

#: Seconds after a container's ``startedAt`` by which the kubelet has surely reported it running:
#: ``startedAt`` is truncated to the second (< 1 s), the kubelet notices a start at its next relist
#: (< 1 s, plus the relist's own time) and writes the status (a few tenths under load).
STARTED_AT_SLACK = 2.5

#: While a container's attach stream is still opening, look again this soon.
RECHECK_SECONDS = 0.03


def _epoch(stamp: str) -> float | None:
    """An RFC 3339 timestamp of the API (``2026-11-27T03:21:57Z``) as seconds since the epoch."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class Witness(Protocol):
    """Sees whether a container stays alive as it happens (:class:`AttachWitness`)."""

    def sight(self, key: Key, namespace: str, pod: str, container: str, *, tty: bool = False) -> Sight: ...

    def close(self) -> None: ...


@dataclass
class Hold:
    """Ready that holds, for one wait: each container that should keep running must be seen alive
    for ``stable`` seconds since it began to run, as far as anyone can tell (monotonic clock).

    It began to run at the first report that shows it running (at its restart count), or at its
    ``startedAt`` + :data:`STARTED_AT_SLACK` if that is earlier: a pod that has been running for a
    while (applied ahead, or shared by a module) needs no extra wait. ``startedAt`` is the node's
    clock; for local and kind the node is this machine.

    Seen alive until when: the pod's status proves it only until :data:`REPORT_LAG` before it was
    read; the ``witness`` (an attach stream per container) proves it as it happens. Without a
    witness, or where its stream could not be opened or ended (a death, or a process that closed
    its output), the hold ends :data:`REPORT_LAG` later, on the status alone.
    """

    stable: float
    witness: Witness | None = None
    since: dict[Key, float] = field(default_factory=dict)

    def until(self, pod: JSON, now: float, wall: float | None = None) -> float:
        """The monotonic time at which Ready has held for ``pod`` (``now`` or later means held),
        recording when each of its containers was first seen running."""
        if self.stable <= 0:
            return now
        wall = time.time() if wall is None else wall
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or meta.get("name"))
        latest = now - self.stable
        for c in podstate.container_states(pod):
            if not c.long_running:
                continue
            if c.state != "running":
                return now + self.stable  # not running: a terminated one fails the wait elsewhere
            key = (uid, c.name, c.restarts)
            if key not in self.since:
                began = now
                started = _epoch(c.started_at) if c.started_at else None
                if started is not None:
                    began = min(now, now - (wall - started) + STARTED_AT_SLACK)
                self.since[key] = began
            latest = max(latest, self._held_at(key, meta, c, now))
        return latest

    def _held_at(self, key: Key, meta: JSON, c: podstate.ContainerState, now: float) -> float:
        """When container ``c`` (``key``) of the pod with metadata ``meta`` has been seen alive
        ``stable`` seconds."""
        wanted = self.since[key] + self.stable
        by_status = wanted + REPORT_LAG
        if by_status <= now or self.witness is None:
            return by_status
        namespace, pod = str(meta.get("namespace", "")), str(meta.get("name", ""))
        sight = self.witness.sight(key, namespace, pod, c.name, tty=c.tty)
        if sight.state == "lost":
            return by_status
        wanted = max(wanted, sight.opened_at)
        if sight.state == "open" and sight.alive_through >= wanted:
            return wanted
        # opening, or open but not yet seen alive through the window: look again then
        return min(by_status, max(wanted, now + RECHECK_SECONDS))

    def close(self) -> None:
        """End the witness's streams."""
        if self.witness is not None:
            self.witness.close()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pod_that_broke(
    restarts_at_ready: Mapping[str, Mapping[str, int]], pods: Iterable[JSON]
) -> tuple[JSON, Verdict] | None:
    """The first pod whose Ready did not hold: a container of it terminated or restarted since
    ``restarts_at_ready`` (pod name -> restart counts when Ready was first seen); a pod that came
    later is measured from now, and a pod being deleted (its controller replaces it) is left out."""
    for pod in pods:
        meta = pod.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        counts = restarts_at_ready.get(str(meta.get("name"))) or restart_counts(pod)
        verdict = classify_held(pod, counts)
        if verdict.done:
            return pod, verdict
    return None
