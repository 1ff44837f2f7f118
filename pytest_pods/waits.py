"""Watch-based waits that stop early: a pure verdict on each pod state, and the watch loop around it.

``classify_ready`` knows the success condition and the conditions that will never heal; the loop
starts from a fresh list (its resourceVersion), so no event between the GET and the watch is lost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pytest_pods import podstate
from pytest_pods.errors import ApiError, PodNotDeletedError, PodNotReadyError
from pytest_pods.kube import JSON, Kube
from pytest_pods.witness import AttachWitness, Key, Sight


@dataclass(frozen=True)
class FailFast:
    """A reason that will never heal while a test waits: a wait that sees it fails at once."""

    reason: str
    seen_as: str
    hint: str


_PULL_HINT = (
    "the image cannot be pulled: check its name and tag, and that the cluster can reach the "
    "registry (preload it with --pods-preload-image for offline runs)"
)
_LOG_HINT = "read its log (pod.logs(container=..., previous=True)); the report shows its last lines"

#: The one list of fail-fast reasons: the README's table is generated from it (``fail_fast_table``)
#: and a unit test keeps the two equal.
FAIL_FAST: tuple[FailFast, ...] = (
    FailFast("ErrImagePull", "container waiting", _PULL_HINT),
    FailFast("ImagePullBackOff", "container waiting", _PULL_HINT),
    FailFast(
        "InvalidImageName",
        "container waiting",
        "the image reference is not valid (lower-case name, one optional :tag)",
    ),
    FailFast(
        "ErrImageNeverPull",
        "container waiting",
        "imagePullPolicy is Never and the image is not on the node: preload it "
        "(--pods-preload-image) or allow pulls",
    ),
    FailFast(
        "CreateContainerConfigError",
        "container waiting",
        "the container's configuration refers to something missing (a Secret or ConfigMap, or a key in one)",
    ),
    FailFast(
        "CreateContainerError",
        "container waiting",
        "the runtime could not create the container (a bad volume mount, subPath or "
        "securityContext): see the message",
    ),
    FailFast(
        "RunContainerError",
        "container waiting",
        "the runtime could not start the container (a command that does not exist, a bad working "
        "directory): see the message",
    ),
    FailFast(
        "StartError",
        "container terminated",
        "the runtime could not start the process (a command that does not exist, a bad working "
        "directory): see the message",
    ),
    FailFast("CrashLoopBackOff", "container waiting", f"the container keeps exiting: {_LOG_HINT}"),
    FailFast(
        "OOMKilled",
        "container terminated, or waiting after it",
        "the container used more memory than its limit: raise resources.limits.memory or use less",
    ),
    FailFast(
        "Error",
        "container exited non-zero with restartPolicy Never, or while Ready was held",
        f"the container exited with the code shown: {_LOG_HINT}",
    ),
    FailFast(
        "Completed",
        "container exited 0 where it should keep running (restartPolicy Never/OnFailure, or while "
        "Ready was held)",
        "a one-shot container is never Ready for long: use a Job (waited for until Complete) or keep "
        "the process in the foreground",
    ),
    FailFast("Init:Error", "init container exited non-zero", f"an init container failed: {_LOG_HINT}"),
    FailFast(
        "Init:CrashLoopBackOff", "init container waiting", f"an init container keeps failing: {_LOG_HINT}"
    ),
    FailFast(
        "Evicted",
        "pod phase Failed",
        "the kubelet evicted the pod (node pressure, or an emptyDir/ephemeral-storage limit exceeded)",
    ),
    FailFast(
        "DeadlineExceeded",
        "pod phase Failed, or Job condition Failed",
        "activeDeadlineSeconds passed before the pod (or Job) finished",
    ),
    FailFast(
        "Unschedulable",
        "pod condition PodScheduled",
        "no node can take the pod (nodeSelector, affinity, taints or resources)",
    ),
    FailFast(
        "Terminating",
        "pod metadata.deletionTimestamp",
        "the pod is being deleted: something else deletes it (a controller, another test)",
    ),
    FailFast(
        "ProgressDeadlineExceeded",
        "Deployment condition Progressing",
        "the rollout made no progress within spec.progressDeadlineSeconds: see the pods' reasons",
    ),
    FailFast(
        "ReplicaFailure",
        "Deployment/ReplicaSet condition ReplicaFailure",
        "the controller cannot create pods (a quota, a missing ServiceAccount, a rejected pod spec): "
        "see the message",
    ),
    FailFast(
        "BackoffLimitExceeded",
        "Job condition Failed",
        "the Job's pods failed backoffLimit + 1 times: the report names the pod's reason",
    ),
    FailFast(
        "JobFailed",
        "Job condition Failed (any other reason)",
        "the Job failed: the report names the pod's reason",
    ),
    FailFast(
        "StorageClassNotFound",
        "PVC Pending, or the claim of a pod not scheduled yet",
        "the PVC names a StorageClass the cluster does not have (kubectl get storageclass)",
    ),
    FailFast(
        "NoDefaultStorageClass",
        "PVC Pending, or the claim of a pod not scheduled yet",
        "the PVC names no StorageClass and the cluster has no default one: set storageClassName or "
        "bind it to a PersistentVolume (spec.volumeName)",
    ),
    FailFast(
        "ProvisioningFailed",
        "the PVC's newest event, unless its message says a retry may heal it (a timeout, a conflict); "
        "also for the claim of a pod not scheduled yet",
        "the provisioner could not make the volume: see the event's message",
    ),
    FailFast(
        "Lost",
        "PVC phase Lost, or the claim of a pod not scheduled yet",
        "the claim's PersistentVolume is gone: its data with it; make a new claim",
    ),
    FailFast(
        "ClaimNotFound",
        "a pod not scheduled yet uses a PersistentVolumeClaim that does not exist",
        "fix the volume's claimName, or create the claim before the pod (earlier in the manifest); "
        "the scheduler would take the pod once the claim exists",
    ),
)

FAIL_FAST_REASONS = frozenset(f.reason for f in FAIL_FAST)
HINTS = {f.reason: f.hint for f in FAIL_FAST}

#: Container waiting reasons that fail at once (for an init container, CrashLoopBackOff becomes
#: ``Init:CrashLoopBackOff``; after an OOM kill, ``OOMKilled``).
WAITING_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


def fail_fast_table() -> str:
    """The README's table of fail-fast reasons (Markdown), made from :data:`FAIL_FAST`."""
    rows = ["| reason | seen as | hint |", "|---|---|---|"]
    rows += [f"| `{f.reason}` | {f.seen_as} | {f.hint} |" for f in FAIL_FAST]
    return "\n".join(rows)


@dataclass(frozen=True)
class Verdict:
    """``done`` is False while the wait should go on; when done, ``ok`` says success or failure.
    ``container`` names the container a failure is about (its log goes into the report), ``claim``
    the PersistentVolumeClaim (its events go into the report)."""

    done: bool
    ok: bool = False
    reason: str = ""
    detail: str = ""
    container: str = ""
    claim: str = ""


PENDING = Verdict(done=False)
Classifier = Callable[[JSON], Verdict]


def _fail(reason: str, detail: str, container: str = "") -> Verdict:
    return Verdict(True, False, reason, detail, container)


def _termination(c: podstate.ContainerState, *, last: bool = False) -> tuple[str, str]:
    """The reason and text of a container's (current or last) termination."""
    reason, code = (c.last_reason, c.last_exit_code) if last else (c.reason, c.exit_code)
    if reason == "OOMKilled":
        return "OOMKilled", f"container {c.name!r} was OOMKilled (exit code {code})"
    if reason == "StartError":
        return "StartError", f"container {c.name!r} could not start: {c.message or 'StartError'}"
    if code == 0:
        return "Completed", f"container {c.name!r} exited 0 (Completed)"
    return "Error", f"container {c.name!r} exited {code}" + (f" ({reason})" if reason else "")


#: What the scheduler says of a pod whose claims are not ready: not a verdict on its own (the claim
#: may bind in a moment, or be created), so the wait reads the claims (:mod:`pytest_pods.claims`).
CLAIM_UNSCHEDULABLE = re.compile(
    r"unbound immediate PersistentVolumeClaims|persistentvolumeclaim \"[^\"]*\" not found|"
    r"ephemeral volume controller to create the persistentvolumeclaim"
)


def restart_policy(pod: JSON) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def pod_failure(pod: JSON) -> Verdict | None:
    """The reason that will never heal in this pod state, or None. Pure: no I/O."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp"):
        return _fail("Terminating", "the pod is being deleted")
    states = podstate.container_states(pod)
    if phase == "Failed":
        reason = str(status.get("reason") or "")
        failed = [(c, *_termination(c)) for c in states if c.state == "terminated" and c.exit_code]
        if not reason and failed:
            c, reason, text = failed[0]
            return _fail(
                ("Init:" if c.init and not c.sidecar and reason == "Error" else "") + reason, text, c.name
            )
        detail = "; ".join(t for _, _, t in failed) or str(status.get("message") or "phase Failed")
        if reason and status.get("message") and failed:
            detail = f"{status['message']}; {detail}"
        return _fail(reason or "Failed", detail, failed[0][0].name if failed else "")
    if phase == "Succeeded":
        return _fail("Completed", "the pod ran to completion, so it will never be Ready")
    sched = podstate.conditions(pod).get("PodScheduled", {})
    if sched.get("status") == "False" and sched.get("reason") == "Unschedulable":
        message = str(sched.get("message") or "no node fits")
        if not CLAIM_UNSCHEDULABLE.search(message):
            return _fail("Unschedulable", message)
    policy = restart_policy(pod)
    for c in states:
        one_shot_init = c.init and not c.sidecar
        if c.state == "waiting" and c.reason in WAITING_REASONS:
            reason = c.reason
            detail = f"container {c.name!r}: {c.reason}" + (f": {c.message}" if c.message else "")
            if c.reason == "CrashLoopBackOff" and c.last_exit_code is not None:
                detail += f" (last exit code {c.last_exit_code}, restarts {c.restarts})"
            if c.reason == "CrashLoopBackOff" and c.last_reason == "OOMKilled":
                reason = "OOMKilled"
            elif c.reason == "CrashLoopBackOff" and one_shot_init:
                reason = "Init:CrashLoopBackOff"
            return _fail(reason, detail, c.name)
        if c.state == "terminated":
            reason, text = _termination(c)
            if reason in ("OOMKilled", "StartError"):
                return _fail(reason, text, c.name)
            if one_shot_init:
                if reason == "Error":
                    return _fail("Init:Error", f"init {text}", c.name)
            elif reason == "Error" and policy == "Never" and not c.sidecar:
                return _fail("Error", f"{text}; restartPolicy Never: no retry will come", c.name)
            elif reason == "Completed" and policy != "Always" and not c.sidecar:
                return _fail("Completed", f"{text}; restartPolicy {policy}: it will not run again", c.name)
    return None


def last_termination(pod: JSON) -> Verdict | None:
    """The failure verdict of a container's latest termination (its current state, else its last
    one), a non-zero exit first; None if no container has terminated. Pure: no I/O."""
    found = []
    for c in podstate.container_states(pod):
        if c.state == "terminated" and c.exit_code is not None:
            reason, text = _termination(c)
        elif c.last_exit_code is not None:
            reason, text = _termination(c, last=True)
            text += f" (restarts {c.restarts})"
        else:
            continue
        if c.init and not c.sidecar and reason == "Error":
            reason, text = "Init:Error", f"init {text}"
        found.append((reason == "Completed", _fail(reason, text, c.name)))
    return min(found, key=lambda f: f[0])[1] if found else None


def classify_ready(pod: JSON) -> Verdict:
    """The verdict on one state of a pod for "wait until Ready". Pure: no I/O."""
    failure = pod_failure(pod)
    if failure:
        return failure
    if podstate.conditions(pod).get("Ready", {}).get("status") == "True":
        return Verdict(True, True, "Ready")
    return PENDING


def classify_running(pod: JSON) -> Verdict:
    """Like :func:`classify_ready`, but content with phase Running (no readiness probe needed)."""
    if (pod.get("status") or {}).get("phase") == "Running" and not (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return Verdict(True, True, "Running")
    return classify_ready(pod)


def restart_counts(pod: JSON) -> dict[str, int]:
    """Restarts of each container that should keep running (regular containers and sidecars)."""
    return {c.name: c.restarts for c in podstate.container_states(pod) if c.long_running}


def classify_held(pod: JSON, baseline: dict[str, int]) -> Verdict:
    """While Ready is held: a container that should keep running and has terminated, or restarted
    since ``baseline`` (its restart counts when Ready was first seen), fails the wait with the reason
    of that termination. PENDING otherwise. Pure: no I/O."""
    for c in podstate.container_states(pod):
        if not c.long_running:
            continue
        if c.state == "terminated":
            reason, text = _termination(c)
            return _fail(reason, f"{text} just after the pod was Ready", c.name)
        if c.restarts > baseline.get(c.name, c.restarts):
            reason, text = _termination(c, last=True)
            return _fail(reason, f"{text} just after the pod was Ready (restarts {c.restarts})", c.name)
    return PENDING


def pod_events(kube: Kube, namespace: str, name: str) -> list[JSON]:
    """The events about one pod (best effort: an error gives an empty list)."""
    try:
        listing = kube.request(
            "GET",
            f"/api/v1/namespaces/{namespace}/events",
            query={"fieldSelector": f"involvedObject.name={name}"},
        )
    except ApiError:
        return []
    return list(listing.get("items") or [])


LOG_LINES = 20

#: How often a wait re-reads the claims of a pod that waits on them (seconds).
CLAIM_POLL = 1.0

#: How long Ready must hold by default (seconds): each container that should keep running must be
#: seen alive this long after it was first reported running. ``Settings.ready_stable``.
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
    """Sees whether a container stays alive as it happens (:class:`pytest_pods.witness.AttachWitness`)."""

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


def read_log(
    kube: Kube, namespace: str, pod: str, container: str, *, previous: bool = False, lines: int = LOG_LINES
) -> str:
    """The last ``lines`` lines of a container's log (best effort: an error becomes the text,
    ``(no log: ...)``)."""
    query: dict[str, str | int | bool] = {"container": container, "tailLines": lines}
    if previous:
        query["previous"] = True
    try:
        return kube.text(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query=query, timeout=10)
    except ApiError as exc:
        return f"(no log: {exc.message})"


def container_logs(kube: Kube, namespace: str, pod: JSON, container: str) -> dict[tuple[str, bool], str]:
    """The last lines of a container's log, and of its previous run if it restarted (best effort:
    an error becomes the text). Keyed by ``(container, previous)``."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    state = next((c for c in podstate.container_states(pod) if c.name == container), None)
    out: dict[tuple[str, bool], str] = {}
    if not name or state is None:
        return out
    wanted = [False] if state.state in ("running", "terminated") else []
    if state.restarts:
        wanted.append(True)
    for previous in wanted:
        out[(container, previous)] = read_log(kube, namespace, name, container, previous=previous)
    return out


def failure_report(
    pod: JSON | None,
    events: list[JSON],
    hint: str = "",
    logs: Mapping[tuple[str, bool], str] | None = None,
) -> str:
    """What a failed wait says beyond its first line: state, recent events, last log lines, a hint."""
    lines = [podstate.summary(pod) if pod else "the pod does not exist"]
    ev = podstate.describe_events(events, limit=10)
    if ev:
        lines.append("recent events:")
        lines += ["  " + e for e in ev]
    for (container, previous), text in (logs or {}).items():
        label = f"last log lines of {container}" + (" before its restart" if previous else "")
        tail = text.rstrip("\n").splitlines()[-LOG_LINES:] if text.strip() else []
        lines.append(f"{label}:" if tail else f"{label}: (empty)")
        lines += ["  " + t for t in tail]
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def verdict_events(kube: Kube, namespace: str, name: str, verdict: Verdict) -> list[JSON]:
    """The events about a pod, and about the claim its verdict names (best effort)."""
    events = pod_events(kube, namespace, name)
    if verdict.claim and verdict.claim != name:
        events += pod_events(kube, namespace, verdict.claim)
    return events


def claim_events(kube: Kube, namespace: str, pod: JSON | None) -> list[JSON]:
    """The events about the claims of a pod that waits on them (:func:`podstate.waits_on_claims`),
    for the report of a wait that timed out; none for another pod."""
    if not pod or not podstate.waits_on_claims(pod):
        return []
    return [e for _, claim, _ in podstate.pod_claims(pod) for e in pod_events(kube, namespace, claim)]


def pod_error(kube: Kube, namespace: str, name: str, pod: JSON | None, verdict: Verdict) -> PodNotReadyError:
    """The error for a failed verdict, with the pod's state, events (and its claim's), the failing
    container's last log lines and the reason's hint."""
    logs = container_logs(kube, namespace, pod, verdict.container) if pod and verdict.container else {}
    events = verdict_events(kube, namespace, name, verdict)
    report = failure_report(pod, events, HINTS.get(verdict.reason, ""), logs)
    return PodNotReadyError(namespace, name, verdict.reason, verdict.detail, report)


def wait_for_pod(
    kube: Kube,
    namespace: str,
    name: str,
    *,
    timeout: float,
    classify: Classifier = classify_ready,
    what: str = "Ready",
    stable: float = 0.0,
    claims: Callable[[JSON], Verdict | None] | None = None,
) -> JSON:
    """Watch one pod until ``classify`` says done; return the pod, or raise :class:`PodNotReadyError`
    at once on failure and on timeout (naming the phase and each container's state).

    With ``stable`` > 0, Ready must hold: each container that should keep running must have run
    ``stable`` seconds since it was first seen running (or since its ``startedAt``, see
    :class:`Hold`). A container that terminates or restarts in that window (it was Ready for an
    instant, then crashed, was OOMKilled or exited) fails the wait with the reason of its
    termination (see :func:`classify_held`).

    ``claims`` (a :class:`pytest_pods.claims.ClaimCheck`) judges the claims of a pod that is not
    scheduled yet: one that will never bind fails the wait, naming it; while the pod waits on its
    claims, the wait re-reads them every :data:`CLAIM_POLL` seconds (the pod itself says nothing
    new while a claim is being provisioned).
    """

    path = f"/api/v1/namespaces/{namespace}/pods"
    started = time.monotonic()
    last: JSON | None = None
    hold = Hold(stable, AttachWitness(kube) if stable > 0 else None)
    held_at: float | None = None  # when Ready holds (None: not Ready now)
    baseline: dict[str, int] = {}

    seen_at = 0.0  # when ``last`` was read
    on_claims = False  # the pod waits on its claims: re-read them every CLAIM_POLL seconds

    def settled() -> bool:
        """Ready, and it held until a state read after the window closed."""
        return held_at is not None and seen_at >= held_at

    def consider(pod: JSON) -> bool:
        """Record ``pod`` and its verdict; True when a hold window opened. Raises on a failure."""
        nonlocal last, held_at, baseline, seen_at, on_claims
        last, seen_at = pod, time.monotonic()
        until = hold.until(pod, seen_at)  # from the first report of each container running, Ready or not
        verdict = classify(pod)
        if verdict.done and not verdict.ok:
            raise pod_error(kube, namespace, name, pod, verdict)
        blocked = claims(pod) if claims is not None and not verdict.done else None
        on_claims = blocked is not None
        if blocked is not None and blocked.done and not blocked.ok:
            raise pod_error(kube, namespace, name, pod, blocked)
        if held_at is not None and stable > 0:
            broken = classify_held(pod, baseline)
            if broken.done:
                raise pod_error(kube, namespace, name, pod, broken)
        if not verdict.done:
            held_at = None  # e.g. a readiness probe that failed again: wait for Ready anew
            return False
        opened = held_at is None
        if opened:
            baseline = restart_counts(pod)
        held_at = until  # ``seen_at`` itself when there is no hold (stable <= 0)
        return opened and held_at > seen_at

    with hold:  # ends the witness's attach streams however the wait ends
        # Watch until the verdict is done and has held. The watch's own timeout bounds the loop; a
        # window that opens starts a new watch bounded by the window, so that a window that closes with
        # no event ends that watch, and the next watch's listing settles it.
        while not settled():
            remaining = timeout - (time.monotonic() - started)
            if remaining <= 0:
                break
            if held_at is not None:  # the window's rest; once it has passed, one fresh listing
                remaining = min(remaining, max(held_at - time.monotonic(), 0.05))
            polling = on_claims  # this watch ends within CLAIM_POLL, and the next one reads the claims
            if polling:
                remaining = min(remaining, CLAIM_POLL)
            query = {"fieldSelector": f"metadata.name={name}"}
            for event in kube.watch(path, query=query, timeout=remaining):
                opened = False
                if event.type == "LISTED":
                    if event.items:
                        opened = consider(event.items[0])
                elif event.type == "DELETED":
                    raise PodNotReadyError(
                        namespace,
                        name,
                        "Deleted",
                        f"the pod was deleted while waiting for {what}",
                        failure_report(event.object, pod_events(kube, namespace, name)),
                    )
                else:
                    opened = consider(event.object)
                if settled() or opened or (on_claims and not polling):
                    break
    if settled() and last is not None:
        return last

    phase = ((last or {}).get("status") or {}).get("phase", "unknown") if last else "no such pod"
    report = failure_report(last, pod_events(kube, namespace, name) + claim_events(kube, namespace, last))
    raise PodNotReadyError(
        namespace, name, "Timeout", f"not {what} after {timeout:g}s (phase: {phase})", report
    )


def wait_deleted(kube: Kube, namespace: str, name: str, uid: str, *, timeout: float) -> None:
    """Watch until the pod with this ``uid`` is gone (a new pod of the same name does not count);
    :class:`PodNotDeletedError` if it is still there after ``timeout``."""

    last: JSON | None = None
    path = f"/api/v1/namespaces/{namespace}/pods"
    for event in kube.watch(path, query={"fieldSelector": f"metadata.name={name}"}, timeout=timeout):
        if event.type == "LISTED":
            mine = [p for p in event.items if (p.get("metadata") or {}).get("uid") == uid]
            if not mine:
                return
            last = mine[0]
        elif (event.object.get("metadata") or {}).get("uid") == uid:
            if event.type == "DELETED":
                return
            last = event.object
    raise PodNotDeletedError(
        namespace, name, timeout, failure_report(last, pod_events(kube, namespace, name))
    )
