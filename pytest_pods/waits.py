"""Watch-based waits that stop early: a pure verdict on each pod state, and the watch loop around it.

``classify_ready`` knows the success condition and the conditions that will never heal; the loop
starts from a fresh list (its resourceVersion), so no event between the GET and the watch is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pytest_pods import podstate
from pytest_pods.errors import ApiError, PodNotDeletedError, PodNotReadyError
from pytest_pods.kube import JSON, Kube

#: Container waiting reasons that will not heal while the test waits: fail at once.
FAIL_FAST_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
    }
)

_CANNOT_PULL = (
    "the image cannot be pulled: check its name and tag, and that the cluster can reach the registry "
    "(preload it with --pods-preload-image for offline runs)"
)
HINTS = {
    "ErrImagePull": _CANNOT_PULL,
    "ImagePullBackOff": _CANNOT_PULL,
    "InvalidImageName": "the image reference is not valid (lower-case name, one optional :tag)",
    "ErrImageNeverPull": "imagePullPolicy is Never and the image is not on the node",
    "CrashLoopBackOff": "the container keeps exiting: read its previous log "
    "(pod.logs(container=..., previous=True))",
    "CreateContainerConfigError": "the container's configuration refers to something missing "
    "(a Secret or ConfigMap, or a key in one)",
    "Unschedulable": "no node can take the pod (nodeSelector, affinity, taints or resources)",
}


@dataclass(frozen=True)
class Verdict:
    """``done`` is False while the wait should go on; when done, ``ok`` says success or failure."""

    done: bool
    ok: bool = False
    reason: str = ""
    detail: str = ""


PENDING = Verdict(done=False)
Classifier = Callable[[JSON], Verdict]


def classify_ready(pod: JSON) -> Verdict:
    """The verdict on one state of a pod for "wait until Ready". Pure: no I/O."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp"):
        return Verdict(True, False, "Terminating", "the pod is being deleted")
    conds = podstate.conditions(pod)
    if conds.get("Ready", {}).get("status") == "True":
        return Verdict(True, True, "Ready")
    sched = conds.get("PodScheduled", {})
    if sched.get("status") == "False" and sched.get("reason") == "Unschedulable":
        return Verdict(True, False, "Unschedulable", str(sched.get("message") or "no node fits"))
    for c in podstate.container_states(pod):
        if c.state == "waiting" and c.reason in FAIL_FAST_REASONS:
            detail = f"container {c.name!r}: {c.reason}" + (f": {c.message}" if c.message else "")
            if c.reason == "CrashLoopBackOff" and c.last_exit_code is not None:
                detail += f" (last exit code {c.last_exit_code}, restarts {c.restarts})"
            return Verdict(True, False, c.reason, detail)
    if phase == "Succeeded":
        return Verdict(True, False, "Completed", "the pod ran to completion, so it will never be Ready")
    if phase == "Failed":
        reason = str(status.get("reason") or "Failed")
        failed = [
            f"container {c.name!r} exited {c.exit_code} ({c.reason})"
            for c in podstate.container_states(pod)
            if c.state == "terminated" and c.exit_code
        ]
        return Verdict(True, False, reason, "; ".join(failed) or str(status.get("message") or "phase Failed"))
    return PENDING


def classify_running(pod: JSON) -> Verdict:
    """Like :func:`classify_ready`, but content with phase Running (no readiness probe needed)."""
    if (pod.get("status") or {}).get("phase") == "Running" and not (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    ):
        return Verdict(True, True, "Running")
    return classify_ready(pod)


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


def failure_report(pod: JSON | None, events: list[JSON], hint: str = "") -> str:
    """What a failed wait says beyond its first line: state, recent events, a hint."""
    lines = [podstate.summary(pod) if pod else "the pod does not exist"]
    ev = podstate.describe_events(events, limit=10)
    if ev:
        lines.append("recent events:")
        lines += ["  " + e for e in ev]
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)


def wait_for_pod(
    kube: Kube,
    namespace: str,
    name: str,
    *,
    timeout: float,
    classify: Classifier = classify_ready,
    what: str = "Ready",
    stable: float = 0.0,
) -> JSON:
    """Watch one pod until ``classify`` says done; return the pod, or raise :class:`PodNotReadyError`
    at once on failure and on timeout (naming the phase and each container's state).

    With ``stable`` > 0 the pod must stay done that many seconds: a container that exits right after
    starting can look Ready for an instant, and its crash (or back-off) is then caught as a failure.
    """

    path = f"/api/v1/namespaces/{namespace}/pods"
    started = time.monotonic()
    last: JSON | None = None
    ok_since: float | None = None

    def finish(pod: JSON, verdict: Verdict) -> None:
        if not verdict.ok:
            report = failure_report(pod, pod_events(kube, namespace, name), HINTS.get(verdict.reason, ""))
            raise PodNotReadyError(namespace, name, verdict.reason, verdict.detail, report)

    def settled() -> bool:
        return ok_since is not None and time.monotonic() - ok_since >= stable

    def consider(pod: JSON) -> None:
        """Record ``pod`` and its verdict; raises on a failure verdict."""
        nonlocal last, ok_since
        last = pod
        verdict = classify(pod)
        if not verdict.done:
            ok_since = None
            return
        finish(pod, verdict)
        if ok_since is None:
            ok_since = time.monotonic()

    # Watch until the verdict is done and has held for ``stable`` seconds. The watch's own timeout
    # bounds the loop; while a stability window is open, each event re-checks whether it closed, and
    # a window that closes with no event ends the watch at its deadline below.
    while not settled():
        remaining = timeout - (time.monotonic() - started)
        if ok_since is not None:
            remaining = min(remaining, ok_since + stable - time.monotonic())
        if remaining <= 0:
            break
        for event in kube.watch(path, query={"fieldSelector": f"metadata.name={name}"}, timeout=remaining):
            if event.type == "LISTED":
                if event.items:
                    consider(event.items[0])
            elif event.type == "DELETED":
                raise PodNotReadyError(
                    namespace,
                    name,
                    "Deleted",
                    f"the pod was deleted while waiting for {what}",
                    failure_report(event.object, pod_events(kube, namespace, name)),
                )
            else:
                consider(event.object)
            if settled():
                break
    if settled() and last is not None:
        return last

    phase = ((last or {}).get("status") or {}).get("phase", "unknown") if last else "no such pod"
    report = failure_report(last, pod_events(kube, namespace, name))
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
