"""Verdicts: pure judgements of one state, the reasons that never heal, and their hints.

A :class:`Verdict` says whether a wait is done, and if so whether it succeeded. ``fail`` and
``pending`` make them (the only two helpers; every classifier uses them). ``classify_ready`` knows
the success condition of "wait until Ready" and, through ``pod_failure``, every reason in
:data:`FAIL_FAST` that will never heal while a test waits. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pytest_pods import podstate
from pytest_pods.kube import JSON


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
        "pod metadata.deletionTimestamp, in a wait for the pod to become Ready (one that still runs "
        "is reachable: exec, logs, port-forward and HTTP work on it)",
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

#: A judgement of one state of what a wait reads (a pod, a workload, any object; ``{}`` when it
#: does not exist).
Classifier = Callable[[JSON], Verdict]


def fail(reason: str, detail: str, *, container: str = "", claim: str = "") -> Verdict:
    """A failure that ends the wait at once."""
    return Verdict(True, False, reason, detail, container, claim)


def pending(detail: str) -> Verdict:
    """Not done yet, saying why (``InProgress``)."""
    return Verdict(False, False, "InProgress", detail)


def success(reason: str, detail: str = "") -> Verdict:
    """Done, and it succeeded."""
    return Verdict(True, True, reason, detail)


def termination(c: podstate.ContainerState, *, last: bool = False) -> tuple[str, str]:
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
#: may bind in a moment, or be created), so the wait reads the claims (:mod:`pytest_pods.waits.claims`).
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
        return fail("Terminating", "the pod is being deleted")
    states = podstate.container_states(pod)
    if phase == "Failed":
        reason = str(status.get("reason") or "")
        failed = [(c, *termination(c)) for c in states if c.state == "terminated" and c.exit_code]
        if not reason and failed:
            c, reason, text = failed[0]
            init = "Init:" if c.init and not c.sidecar and reason == "Error" else ""
            return fail(init + reason, text, container=c.name)
        detail = "; ".join(t for _, _, t in failed) or str(status.get("message") or "phase Failed")
        if reason and status.get("message") and failed:
            detail = f"{status['message']}; {detail}"
        return fail(reason or "Failed", detail, container=failed[0][0].name if failed else "")
    if phase == "Succeeded":
        return fail("Completed", "the pod ran to completion, so it will never be Ready")
    sched = podstate.conditions(pod).get("PodScheduled", {})
    if sched.get("status") == "False" and sched.get("reason") == "Unschedulable":
        message = str(sched.get("message") or "no node fits")
        if not CLAIM_UNSCHEDULABLE.search(message):
            return fail("Unschedulable", message)
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
            return fail(reason, detail, container=c.name)
        if c.state == "terminated":
            reason, text = termination(c)
            if reason in ("OOMKilled", "StartError"):
                return fail(reason, text, container=c.name)
            if one_shot_init:
                if reason == "Error":
                    return fail("Init:Error", f"init {text}", container=c.name)
            elif reason == "Error" and policy == "Never" and not c.sidecar:
                return fail("Error", f"{text}; restartPolicy Never: no retry will come", container=c.name)
            elif reason == "Completed" and policy != "Always" and not c.sidecar:
                return fail(
                    "Completed", f"{text}; restartPolicy {policy}: it will not run again", container=c.name
                )
    return None


def last_termination(pod: JSON) -> Verdict | None:
    """The failure verdict of a container's latest termination (its current state, else its last
    one), a non-zero exit first; None if no container has terminated. Pure: no I/O."""
    found = []
    for c in podstate.container_states(pod):
        if c.state == "terminated" and c.exit_code is not None:
            reason, text = termination(c)
        elif c.last_exit_code is not None:
            reason, text = termination(c, last=True)
            text += f" (restarts {c.restarts})"
        else:
            continue
        if c.init and not c.sidecar and reason == "Error":
            reason, text = "Init:Error", f"init {text}"
        found.append((reason == "Completed", fail(reason, text, container=c.name)))
    return min(found, key=lambda f: f[0])[1] if found else None


def classify_ready(pod: JSON) -> Verdict:
    """The verdict on one state of a pod for "wait until Ready". Pure: no I/O."""
    failure = pod_failure(pod)
    if failure:
        return failure
    if podstate.conditions(pod).get("Ready", {}).get("status") == "True":
        return success("Ready")
    return PENDING


def classify_finished(pod: JSON) -> Verdict:
    """Until the pod has run to its end, either way (phase Succeeded or Failed: a ``helm test`` pod,
    whose outcome the caller reads); at once on a reason that stops it from ever running (an image
    that cannot be pulled, unschedulable, a config error)."""
    phase = (pod.get("status") or {}).get("phase", "")
    if phase in ("Succeeded", "Failed"):
        return success(phase)
    verdict = pod_failure(pod)
    if verdict is not None and verdict.reason not in ("Completed", "Error", "Failed"):
        return verdict
    return pending(f"phase {phase or 'Pending'}")


def classify_running(pod: JSON) -> Verdict:
    """Like :func:`classify_ready`, but content with phase Running (no readiness probe needed): the
    wait of whatever talks to a pod (exec, logs, port-forward, HTTP). A pod that is being deleted
    but still runs (its grace period, a preStop hook) is reachable, so ``Terminating`` fails only a
    pod that does not run (yet)."""
    if (pod.get("status") or {}).get("phase") == "Running":
        return success("Running")
    return classify_ready(pod)


def restart_counts(pod: JSON) -> dict[str, int]:
    """Restarts of each container that should keep running (regular containers and sidecars)."""
    return {c.name: c.restarts for c in podstate.container_states(pod) if c.long_running}


def classify_held(pod: JSON, restarts_at_ready: Mapping[str, int]) -> Verdict:
    """While Ready must hold: a container that should keep running and has terminated, or restarted
    since ``restarts_at_ready`` (its restart counts when Ready was first seen), fails the wait with
    the reason of that termination. PENDING otherwise. Pure: no I/O."""
    for c in podstate.container_states(pod):
        if not c.long_running:
            continue
        if c.state == "terminated":
            reason, text = termination(c)
            return fail(reason, f"{text} just after the pod was Ready", container=c.name)
        if c.restarts > restarts_at_ready.get(c.name, c.restarts):
            reason, text = termination(c, last=True)
            return fail(
                reason, f"{text} just after the pod was Ready (restarts {c.restarts})", container=c.name
            )
    return PENDING
