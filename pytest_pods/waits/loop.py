"""THE watch loop: every wait of pytest-pods is :func:`wait` given targets, each with its classifier.

A :class:`Target` names what to read (a pod, a workload, a PVC, any object by its resolved
:class:`~pytest_pods.discovery.Resource` and name) and how to judge it: a ``classify`` of each
state the watch streams, or its kind's :func:`pytest_pods.waits.kinds.up_of` verdict (read at each
judgement). The loop watches one collection (the
target's own, for one streamed target; else the namespace's pods), judges every target at each
event, fails at once on a verdict that will never heal, and returns when every target is up and
Ready has held ``stable`` seconds (:class:`pytest_pods.waits.hold.Hold`), as seen on a state read
after the hold window closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from pytest_pods.discovery import POD, Resource
from pytest_pods.errors import ApiError, PodNotReadyError, PodsError
from pytest_pods.kube import JSON, Kube
from pytest_pods.waits import kinds
from pytest_pods.waits.claims import CLAIM_POLL, ClaimCheck
from pytest_pods.waits.hold import AttachWitness, Hold, pod_that_broke
from pytest_pods.waits.report import (
    failed_runs,
    failure_report,
    pod_error,
    pod_events,
    pod_timeout,
    read_log,
    workload_error,
    workload_timeout,
)
from pytest_pods.waits.verdicts import PENDING, Classifier, Verdict, classify_ready, pending, restart_counts

#: How often a wait of several targets, or of a workload, re-reads them when no event comes (seconds).
POLL_SECONDS = 1.0

#: The shortest watch the loop starts (seconds): a hold window that has just closed is settled by
#: the next watch's fresh listing.
MIN_WATCH = 0.05

TimedOut = Callable[["Target", float], PodsError]


@dataclass
class Target:
    """One thing a wait waits for, named by its ``resource`` (where its kind lives, as the caller
    resolved it) and ``name``.

    ``classify`` judges each state of it the watch streams (``{}`` while it does not exist); without
    one, its kind's :func:`~pytest_pods.waits.kinds.up_of` verdict judges it, read at each judgement.
    ``pod``: it is a pod whose Ready the wait wants: its claims are checked while it is not
    scheduled, its Ready holds, a failure or timeout is a :class:`PodNotReadyError`, and its deletion
    fails the wait (``Deleted``). ``what`` it waits for names it in messages. ``timed_out`` makes
    the error when time runs out (default: by what the target is).

    The loop fills in ``obj`` (as last seen), ``verdict``, and ``settles_at``: the monotonic time at
    which it is up and Ready has held (None while it is not up).
    """

    resource: Resource
    name: str
    classify: Classifier | None = None
    pod: bool = False
    what: str = "Ready"
    timed_out: TimedOut | None = None
    obj: JSON = field(default_factory=dict)
    verdict: Verdict = PENDING
    settles_at: float | None = None
    #: Pod name -> restart counts of its containers when the target was first seen up.
    restarts_at_ready: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.resource.kind

    def path(self, namespace: str, name: str | None = None) -> str:
        """Its collection's API path (in ``namespace`` unless it is cluster-scoped), or its own."""
        return self.resource.path(namespace, name)

    @property
    def streamed(self) -> bool:
        """Its state comes from the watch (else it is read at each judgement)."""
        return self.classify is not None

    @property
    def up(self) -> kinds.Up | None:
        """When its kind is up (:func:`~pytest_pods.waits.kinds.up_of`), for a target read at each
        judgement."""
        return None if self.streamed else kinds.up_of(self.resource)


def typed(obj: JSON, resource: Resource) -> JSON:
    """An object as a watch's listing gives it (its items carry no ``kind`` nor ``apiVersion``) with
    both, from its ``resource``, so that the reports and the caller see what it is. Pure."""
    if not obj or obj.get("kind"):
        return obj
    return {"apiVersion": resource.api_version, "kind": resource.kind, **obj}


def pod_target(name: str, classify: Classifier = classify_ready, what: str = "Ready") -> Target:
    """A pod to wait for until ``classify`` says done (Ready by default)."""
    return Target(POD, name, classify, pod=True, what=what)


def up_target(resource: Resource, name: str) -> Target:
    """An object waited for until it is up: a Pod Ready, any other by
    :func:`~pytest_pods.waits.kinds.up_of`."""
    if resource == POD:
        return pod_target(name)
    return Target(resource, name)


def stream_of(namespace: str, targets: Sequence[Target]) -> tuple[str, dict[str, str | int | bool]]:
    """The collection the loop watches, and its query: one streamed target's own (by name), else the
    namespace's pods (each pod change re-reads the workloads). Pure."""
    if len(targets) == 1 and targets[0].streamed:
        t = targets[0]
        return t.path(namespace), {"fieldSelector": f"metadata.name={t.name}"}
    odd = [f"{t.kind}/{t.name}" for t in targets if t.streamed and t.kind != "Pod"]
    if odd:
        raise ValueError(f"only Pods stream beside other targets, not {', '.join(odd)}")
    return f"/api/v1/namespaces/{namespace}/pods", {}


def watch_bound(remaining: float, *, poll: float | None, windows: Iterable[float]) -> float:
    """How long the next watch may run: the time left, at most ``poll`` when something must be
    re-read without an event, and at most the rest of each open hold window (so that a window that
    closes with no event ends the watch, and the next watch's listing settles it). Pure."""
    bounds = [remaining, *windows] + ([poll] if poll is not None else [])
    return max(min(bounds), MIN_WATCH)


class ApiFacts:
    """:class:`~pytest_pods.waits.kinds.Facts` read from the API: the StorageClasses once per wait,
    an object's events at each ask."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self._classes: list[JSON] | None = None

    def storage_classes(self) -> list[JSON]:
        if self._classes is None:
            listing = self.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses")
            self._classes = list(listing.get("items") or [])
        return self._classes

    def events(self, name: str) -> list[JSON]:
        return pod_events(self.kube, self.namespace, name)


class _Wait:
    """The state of one run of the loop: what the watch has shown, and the judgement of each target."""

    def __init__(self, kube: Kube, namespace: str, targets: Sequence[Target], stable: float) -> None:
        self.kube = kube
        self.namespace = namespace
        self.targets = list(targets)
        self.stable = stable
        self.hold = Hold(stable, AttachWitness(kube) if stable > 0 else None)
        self.facts = ApiFacts(kube, namespace)
        self.claim_check = ClaimCheck(kube, namespace)
        # a claim this wait judges itself fails as the PVC (its verdict reads the same events), not
        # as the pod that uses it: whichever read the event first would otherwise decide
        self.own_claims = {t.name for t in targets if t.kind == "PersistentVolumeClaim"}
        self.seen: dict[str, JSON] = {}  # the watched collection, by name
        self.gone: dict[str, JSON] = {}  # objects deleted while waiting, as last seen
        # The log of each failed run of a Job's pods, read when the run is first seen failed: the Job
        # controller deletes a failed Job's pods that still run (restartPolicy OnFailure) at once.
        self.kept_logs: dict[str, dict[tuple[str, int], str]] = {}  # pod uid -> (container, run) -> log
        self.on_claims = False  # a pod waits on its claims: re-read them every CLAIM_POLL seconds
        self.judged_at = 0.0  # when the targets were last judged

    # --- what the watch shows ---------------------------------------------------------------------
    def observe(self, event_type: str, obj: JSON) -> None:
        """Take in one watch event (``LISTED``: ``obj`` is the whole list). Raises when a pod the
        wait wants is deleted."""
        if event_type == "LISTED":
            listed = {str(o["metadata"]["name"]): o for o in obj.get("items") or []}
            self.gone.update((n, o) for n, o in self.seen.items() if n not in listed)
            self.seen = listed
            return
        name = str((obj.get("metadata") or {}).get("name", ""))
        if event_type != "DELETED":
            self.seen[name] = obj
            return
        self.gone[name] = obj  # a failed Job's pods may be gone before it says why
        self.seen.pop(name, None)
        for t in self.targets:
            if t.pod and t.name == name:
                raise PodNotReadyError(
                    self.namespace,
                    name,
                    "Deleted",
                    f"the pod was deleted while waiting for it to be {t.what}",
                    failure_report(obj, pod_events(self.kube, self.namespace, name)),
                )

    # --- judgement --------------------------------------------------------------------------------
    def judge(self) -> tuple[bool, bool]:
        """Read and judge every target: (every one is up and has held, a hold window opened just
        now). Raises on a failure."""
        now = self.judged_at = time.monotonic()
        self.on_claims = False
        opened = [self._judge(t, now) for t in self.targets]
        done = all(t.settles_at is not None and now >= t.settles_at for t in self.targets)
        return done, any(opened)

    def _read(self, t: Target) -> None:
        if t.classify is not None:
            t.obj = typed(self.seen.get(t.name, {}), t.resource)
            t.verdict = t.classify(t.obj)
            return
        try:
            t.obj = self.kube.request("GET", t.path(self.namespace, t.name))
        except ApiError as exc:
            if exc.status != 404:
                raise
            t.obj, t.verdict = {}, pending("it does not exist (yet)")
            return
        t.verdict = kinds.up_of(t.resource).verdict(t.obj, self.facts)

    def pods_of(self, t: Target) -> list[JSON]:
        """The pods judged with a target: itself, or the pods its workload selects."""
        if t.pod:
            return [t.obj] if t.obj else []
        up = t.up
        return kinds.pods_of(t.obj, self.seen.values()) if up is not None and up.pods else []

    def holds(self, t: Target) -> bool:
        """Whether the target's Ready must hold (``stable`` > 0, and a pod or a workload that keeps
        running)."""
        up = t.up
        return self.stable > 0 and (t.pod or (up is not None and up.holds))

    def _judge(self, t: Target, now: float) -> bool:
        """Judge one target at ``now``; True when its hold window opened. Raises on a failure."""
        self._read(t)
        mine = self.pods_of(t)
        holds = self.holds(t)
        # from the first report of each container running, Ready or not
        settle = [self.hold.until(p, now) for p in mine] if holds else []
        up = t.up
        job = up is not None and up.runs_to_completion
        if job:
            self._keep_logs(mine)
        if t.verdict.done and not t.verdict.ok:
            if job:
                found = kinds.job_pod_reason([*mine, *kinds.pods_of(t.obj, self.gone.values())])
                if found:
                    raise self._error(t, found[1], found[0])
            raise self._error(t, t.verdict, t.obj if t.pod else None)
        if up is not None:
            bad = kinds.failing_pod(mine, runs_to_completion=up.runs_to_completion)
            if bad:
                raise self._error(t, bad[1], bad[0])
        for p in mine:
            blocked = self.claim_check(p)
            self.on_claims = self.on_claims or blocked is not None
            if (
                blocked is not None
                and blocked.done
                and not blocked.ok
                and blocked.claim not in self.own_claims
            ):
                raise self._error(t, blocked, p)
        if t.settles_at is not None and holds:  # Ready went away: a crash, or a probe?
            broke = pod_that_broke(t.restarts_at_ready, mine)
            if broke:
                raise self._error(t, broke[1], broke[0])
        if not t.verdict.ok:
            t.settles_at = None  # e.g. a readiness probe that failed again: wait for Ready anew
            return False
        if t.settles_at is None:
            t.restarts_at_ready = {str(p["metadata"]["name"]): restart_counts(p) for p in mine}
        was = t.settles_at
        if holds:  # a pod being deleted is replaced by its controller: its hold does not count
            deleting = [bool((p.get("metadata") or {}).get("deletionTimestamp")) for p in mine]
            t.settles_at = max([now, *(u for u, d in zip(settle, deleting, strict=True) if not d)])
        else:
            t.settles_at = now
        return was is None and t.settles_at > now

    def _keep_logs(self, pods: Iterable[JSON]) -> None:
        for p in pods:
            meta = p.get("metadata") or {}
            kept = self.kept_logs.setdefault(str(meta.get("uid")), {})
            for container, run, previous in failed_runs(p):
                if (container, run) not in kept:
                    kept[(container, run)] = read_log(
                        self.kube, self.namespace, str(meta.get("name")), container, previous=previous
                    )

    # --- errors -----------------------------------------------------------------------------------
    def _error(self, t: Target, verdict: Verdict, pod: JSON | None) -> PodsError:
        if t.pod:
            return pod_error(self.kube, self.namespace, t.name, pod or t.obj, verdict)
        failed = t.verdict.done and not t.verdict.ok
        cause = (
            t.verdict if pod is not None and failed and t.up is not None and t.up.runs_to_completion else None
        )
        meta = (pod or {}).get("metadata") or {}
        return workload_error(
            self.kube,
            self.namespace,
            t.kind,
            t.name,
            t.obj,
            verdict,
            pod,
            cause=cause,
            gone=pod is not None and str(meta.get("name")) in self.gone,
            kept=self.kept_logs.get(str(meta.get("uid")), {}),
        )

    def windows(self, now: float) -> list[float]:
        """The rest of each hold window not yet settled (a state read after it closed settles it)."""
        return [
            max(t.settles_at - now, MIN_WATCH)
            for t in self.targets
            if t.settles_at is not None and t.settles_at > self.judged_at
        ]

    def timed_out(self, timeout: float) -> PodsError:
        """The error of a wait whose time ran out, about the first target not up."""
        waiting = [t for t in self.targets if t.settles_at is None]
        t = waiting[0] if waiting else self.targets[0]
        if t.timed_out is not None:
            return t.timed_out(t, timeout)
        if t.pod:
            return pod_timeout(self.kube, self.namespace, t.name, t.obj, t.what, timeout)
        detail = f"not up after {timeout:g}s: {t.verdict.detail or 'no status yet'}"
        others = ", ".join(f"{o.kind}/{o.name}" for o in waiting[1:])
        if others:
            detail += f" (also not up: {others})"
        return workload_timeout(self.namespace, t.kind, t.name, t.obj, detail, self.pods_of(t))


def wait(
    kube: Kube,
    namespace: str,
    targets: Sequence[Target],
    *,
    timeout: float,
    stable: float = 0.0,
    stop: threading.Event | None = None,
) -> list[Target]:
    """Watch and judge ``targets`` until every one is up and Ready has held ``stable`` seconds;
    return them, each with its object as last seen. Fails at once on a verdict that will never heal
    (naming the object, the pod and the reason), and on timeout with what was last seen. A ``stop``
    that is set ends the wait within about a second (:class:`PodsError`: it was cancelled).

    Each watch is bounded (:func:`watch_bound`): by :data:`POLL_SECONDS` when targets must be
    re-read without an event (workloads, several targets, a cancellable wait), by
    :data:`CLAIM_POLL` while a pod waits on its claims, and by each open hold window.
    """
    if not targets:
        return []
    began = time.monotonic()
    path, query = stream_of(namespace, targets)
    single = len(targets) == 1 and targets[0].streamed
    w = _Wait(kube, namespace, targets, stable)
    with w.hold:  # ends the witness's attach streams however the wait ends
        while True:
            now = time.monotonic()
            remaining = timeout - (now - began)
            if remaining <= 0:
                break
            if stop is not None and stop.is_set():
                raise PodsError(f"the wait in namespace {namespace} was cancelled (the session is ending)")
            poll = POLL_SECONDS if not single or stop is not None else CLAIM_POLL if w.on_claims else None
            polling = poll is not None  # this watch ends within ``poll``, and the next one re-reads
            step = watch_bound(remaining, poll=poll, windows=w.windows(now))
            for event in kube.watch(path, query=query, timeout=step):
                w.observe(event.type, event.object)
                done, opened = w.judge()
                if done:
                    return w.targets
                if opened or (w.on_claims and not polling):
                    break
            # no judgement on a watch that just ended: the next one starts with a fresh listing, so
            # a hold window counts as passed only on a state read after it closed
    raise w.timed_out(timeout)


def wait_pod(
    kube: Kube,
    namespace: str,
    name: str,
    *,
    timeout: float,
    classify: Classifier = classify_ready,
    what: str = "Ready",
    stable: float = 0.0,
) -> JSON:
    """Wait for one pod until ``classify`` says done (Ready, and Ready has held ``stable`` seconds);
    return the pod. :class:`PodNotReadyError` at once on a failure, and on timeout naming the phase
    and each container's state."""
    (target,) = wait(kube, namespace, [pod_target(name, classify, what)], timeout=timeout, stable=stable)
    return target.obj


def wait_up(
    kube: Kube,
    namespace: str,
    objects: Sequence[tuple[Resource, str]],
    *,
    timeout: float,
    stable: float = 0.0,
    stop: threading.Event | None = None,
) -> dict[tuple[str, str], JSON]:
    """Wait until every ``(resource, name)`` is up (a Pod Ready, a workload rolled out, a Job
    Complete, a PVC Bound, a CRD Established, a custom resource by
    :func:`~pytest_pods.waits.kinds.generic_verdict`) and Ready has held ``stable`` seconds; return
    each object as last seen, by ``(kind, name)`` (see :func:`wait`)."""
    targets = [up_target(resource, name) for resource, name in objects]
    done = wait(kube, namespace, targets, timeout=timeout, stable=stable, stop=stop)
    return {(t.kind, t.name): t.obj for t in done}
