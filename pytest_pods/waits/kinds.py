"""Kinds: when each is up. Pure.

A kind is resolved to where it lives in the API by the caller (:mod:`pytest_pods.discovery`); the
waits are given its :class:`~pytest_pods.discovery.Resource`. :data:`UP` is the registry of the
kinds a wait knows how to wait for: one :class:`Up` entry each, whose verdict is a pure function of
the object (and of :class:`Facts` the wait reads for it). A new kind of wait is one verdict
function and one entry in :data:`UP`. Any other kind (a custom resource) is up by
:func:`generic_verdict`: kstatus' generic rules, as the README's Waits section tells.

The verdicts follow the semantics users know: ``kubectl rollout status``
(pkg/polymorphichelpers/rollout_status.go) for Deployments, StatefulSets and DaemonSets, and the
kstatus rules of sigs.k8s.io/cli-utils (observedGeneration first, then per-kind readiness and
conditions) for ReplicaSets, Jobs and PVCs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pytest_pods.discovery import Resource
from pytest_pods.kube import JSON
from pytest_pods.podstate import conditions
from pytest_pods.waits.claims import pvc_verdict
from pytest_pods.waits.verdicts import Verdict, fail, last_termination, pending, pod_failure, success

# --- when each kind is up ------------------------------------------------------------------------


def observed(obj: JSON) -> Verdict | None:
    """kstatus: a status that has not observed the latest generation says nothing yet."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return pending(f"waiting for the controller to observe generation {generation}")
    return None


def deployment_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status deployment``: observed, no progress deadline exceeded, every replica
    updated, no old replica left, every updated replica available."""
    if not_yet := observed(obj):
        return not_yet
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conds = conditions(obj)
    progressing = conds.get("Progressing", {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return fail("ProgressDeadlineExceeded", str(progressing.get("message") or "rollout stuck"))
    failure = conds.get("ReplicaFailure", {})
    if failure.get("status") == "True":
        return fail("ReplicaFailure", str(failure.get("message") or failure.get("reason") or ""))
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < want:
        return pending(f"{updated} of {want} new replicas have been updated")
    if total > updated:
        return pending(f"{total - updated} old replicas are pending termination")
    if available < updated:
        return pending(f"{available} of {updated} updated replicas are available")
    return success("RolledOut", f"{available} of {want} replicas available")


def replicaset_verdict(obj: JSON) -> Verdict:
    """kstatus ReplicaSet: observed, no ReplicaFailure, every desired replica labelled, ready and
    available."""
    if not_yet := observed(obj):
        return not_yet
    failure = conditions(obj).get("ReplicaFailure", {})
    if failure.get("status") == "True":
        return fail("ReplicaFailure", str(failure.get("message") or failure.get("reason") or ""))
    want = int((obj.get("spec") or {}).get("replicas", 1))
    status = obj.get("status") or {}
    for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        have = int(status.get(key) or 0)
        if have < want:
            return pending(f"{key}: {have} of {want}")
    return success("Available", f"{want} of {want} replicas available")


def statefulset_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status statefulset``: observed, every replica ready, then updated (up to a
    partition) and the update revision current. OnDelete updates are not waited for, as there."""
    if not_yet := observed(obj):
        return not_yet
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < want:
        return pending(f"{ready} of {want} replicas ready")
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return success("Ready", f"{ready} replicas ready (updateStrategy OnDelete)")
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if partition:
        if updated < want - partition:
            return pending(f"{updated} of {want - partition} replicas updated (partition {partition})")
        return success("RolledOut", f"{updated} replicas updated (partition {partition})")
    if status.get("updateRevision") != status.get("currentRevision"):
        return pending(f"{updated} of {want} replicas at the update revision")
    return success("RolledOut", f"{ready} of {want} replicas ready")


def daemonset_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status daemonset``: observed, every scheduled pod updated and available."""
    if not_yet := observed(obj):
        return not_yet
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return success("Ready", "updateStrategy OnDelete")
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return pending(f"{updated} of {desired} updated pods scheduled")
    if available < desired:
        return pending(f"{available} of {desired} updated pods available")
    return success("RolledOut", f"{available} of {desired} pods available")


def job_verdict(obj: JSON) -> Verdict:
    """kstatus Job: condition Complete is success, Failed (BackoffLimitExceeded, DeadlineExceeded,
    ...) a failure; anything else is in progress. FailureTarget fails at once (Failed follows it
    surely), but SuccessCriteriaMet is not yet success: the controller sets it before the Job's pods
    are finalised and ``status.succeeded`` is written, and sets Complete after (as ``kubectl wait
    --for=condition=Complete`` waits for)."""
    conds = conditions(obj)
    for ctype in ("Failed", "FailureTarget"):
        c = conds.get(ctype, {})
        if c.get("status") == "True":
            reason = str(c.get("reason") or "")
            known = reason in ("BackoffLimitExceeded", "DeadlineExceeded")
            return fail(reason if known else "JobFailed", str(c.get("message") or reason or "the Job failed"))
    if conds.get("Complete", {}).get("status") == "True":
        return success("Complete", str((obj.get("status") or {}).get("succeeded", "")))
    if (obj.get("spec") or {}).get("suspend"):
        return pending("the Job is suspended")
    status = obj.get("status") or {}
    return pending(
        f"active {status.get('active', 0)}, succeeded {status.get('succeeded', 0)}, "
        f"failed {status.get('failed', 0)}"
    )


def crd_verdict(obj: JSON) -> Verdict:
    """A CustomResourceDefinition: up once ``Established`` and ``NamesAccepted``; names the API
    server refused (``NamesAccepted=False``: a plural or a short name another CRD has) fail."""
    conds = conditions(obj)
    names, established = conds.get("NamesAccepted", {}), conds.get("Established", {})
    if names.get("status") == "False":
        reason = str(names.get("reason") or "NamesNotAccepted")
        return fail(reason, str(names.get("message") or reason))
    if established.get("status") == "True" and names.get("status") == "True":
        return success("Established", str(established.get("message") or "the CRD is served"))
    return pending("waiting for the CRD to be Established and its names accepted")


def generic_verdict(obj: JSON) -> Verdict:
    """Any kind without its own entry in :data:`UP` (a custom resource), by kstatus' generic rules
    with the issue's one change: no status at all is up (it exists); a status that has not observed
    the latest generation (when it says which it observed) is not yet; a ``Stalled`` or ``Failed``
    condition that is True fails at once; ``Ready=True`` is up, ``Ready=False`` with a reason fails
    with it (kstatus waits on, unless Stalled), any other Ready is not yet; with no Ready
    condition it is up unless ``Reconciling`` is True."""
    status = obj.get("status")
    if not status or not isinstance(status, dict):
        return success("Exists", "it has no status")
    generation = (obj.get("metadata") or {}).get("generation")
    observed_generation = status.get("observedGeneration")
    if (
        generation is not None
        and observed_generation is not None
        and int(observed_generation) < int(generation)
    ):
        return pending(f"waiting for the controller to observe generation {generation}")
    conds = conditions(obj)
    for ctype in ("Stalled", "Failed"):
        c = conds.get(ctype, {})
        if c.get("status") == "True":
            reason = str(c.get("reason") or ctype)
            return fail(reason, str(c.get("message") or f"{ctype}: {reason}"))
    ready = conds.get("Ready")
    if ready is not None:
        state, reason, message = (
            str(ready.get("status")),
            str(ready.get("reason") or ""),
            ready.get("message"),
        )
        if state == "True":
            return success("Ready", str(message or ""))
        if state == "False" and reason:
            return fail(reason, str(message or f"Ready=False: {reason}"))
        return pending(f"Ready={state}" + (f": {message}" if message else ""))
    reconciling = conds.get("Reconciling", {})
    if reconciling.get("status") == "True":
        return pending(str(reconciling.get("message") or reconciling.get("reason") or "Reconciling"))
    return success("Current", "no Ready condition")


class Facts(Protocol):
    """What a verdict may need beyond the object, read by the wait: the cluster's StorageClasses and
    the events about an object of the namespace."""

    def storage_classes(self) -> Sequence[JSON]: ...

    def events(self, name: str) -> Sequence[JSON]: ...


Verdicts = Callable[[JSON, Facts], Verdict]


@dataclass(frozen=True)
class Up:
    """When a kind (of API ``group``) is up. ``verdict`` judges the object (see the ``*_verdict``
    functions). With ``pods``, the pods it selects (spec.selector) are judged with it: a reason of
    theirs that never heals fails its wait, their claims are checked, and with ``holds`` their Ready
    must hold the wait's ``stable`` seconds. ``runs_to_completion`` (a Job): its controller retries
    pods that ran and failed (its own verdict decides), a failure is explained by its newest failed
    pod, and the log of each failed run is kept, as the controller deletes the pods."""

    verdict: Verdicts
    group: str = ""
    pods: bool = True
    holds: bool = True
    runs_to_completion: bool = False


def alone(verdict: Callable[[JSON], Verdict]) -> Verdicts:
    """A verdict that needs the object alone."""
    return lambda obj, facts: verdict(obj)


def _pvc(obj: JSON, facts: Facts) -> Verdict:
    name = str((obj.get("metadata") or {}).get("name", ""))
    return pvc_verdict(obj, facts.storage_classes(), facts.events(name))


#: The kinds a wait knows when they are up, by Kind (of the entry's group); ``apply(wait=True)``
#: and the ``pods_manifest`` marker wait for these, Pods, and custom resources (:data:`GENERIC`).
UP: dict[str, Up] = {
    "Deployment": Up(alone(deployment_verdict), "apps"),
    "ReplicaSet": Up(alone(replicaset_verdict), "apps"),
    "StatefulSet": Up(alone(statefulset_verdict), "apps"),
    "DaemonSet": Up(alone(daemonset_verdict), "apps"),
    "Job": Up(alone(job_verdict), "batch", holds=False, runs_to_completion=True),
    "PersistentVolumeClaim": Up(_pvc, pods=False, holds=False),
    "CustomResourceDefinition": Up(alone(crd_verdict), "apiextensions.k8s.io", pods=False, holds=False),
}

#: When any other kind is up (a custom resource): :func:`generic_verdict`.
GENERIC = Up(alone(generic_verdict), pods=False, holds=False)


def builtin_group(group: str) -> bool:
    """Kubernetes' own API groups (the core group, ``apps``, ``*.k8s.io``); the rest are custom."""
    return "." not in group or group.endswith(".k8s.io")


def up_of(resource: Resource) -> Up:
    """When an object of ``resource`` is up: its kind's :data:`UP` entry, else :data:`GENERIC`;
    ValueError for a Pod (a pod is waited for as a pod: :meth:`Pod.wait_ready`)."""
    found = UP.get(resource.kind)
    if found is not None and found.group == resource.group:
        return found
    if resource.kind == "Pod" and not resource.group:
        raise ValueError("a Pod is waited for as a pod (Namespace.pod(name).wait_ready())")
    return GENERIC


def waited(resource: Resource) -> bool:
    """Whether ``apply(wait=True)`` and the ``pods_manifest`` marker wait for objects of
    ``resource``: Pods, the kinds of :data:`UP`, and custom resources."""
    found = UP.get(resource.kind)
    if found is not None and found.group == resource.group:
        return True
    return (resource.kind == "Pod" and not resource.group) or not builtin_group(resource.group)


# --- a workload's pods ---------------------------------------------------------------------------


def set_based(selector: JSON) -> JSON:
    """A selector as a LabelSelector: a plain map of labels (a ReplicationController's, a
    Service's) is its ``matchLabels``."""
    if selector and "matchLabels" not in selector and "matchExpressions" not in selector:
        return {"matchLabels": dict(selector)}
    return selector


def label_selector(selector: JSON) -> str:
    """A LabelSelector (matchLabels, matchExpressions; or a plain map of labels) as the query string
    the API takes."""
    selector = set_based(selector)
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for e in selector.get("matchExpressions") or []:
        key, op, values = e.get("key"), e.get("operator"), ",".join(e.get("values") or [])
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": str(key)}.get(
                str(op), f"!{key}"
            )
        )
    return ",".join(parts)


def matches(labels: Mapping[str, str], selector: JSON) -> bool:
    """Whether ``labels`` match a LabelSelector (an empty selector matches nothing, as for workloads)."""
    selector = set_based(selector)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = str(e.get("key")), e.get("operator"), e.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(str(op), False)
        if not ok:
            return False
    return True


def pods_of(obj: JSON, pods: Iterable[JSON]) -> list[JSON]:
    """The pods a workload selects (by its spec.selector), sorted by name."""
    selector = (obj.get("spec") or {}).get("selector") or {}
    mine = [p for p in pods if matches((p.get("metadata") or {}).get("labels") or {}, selector)]
    return sorted(mine, key=lambda p: str((p.get("metadata") or {}).get("name")))


#: Pod reasons a workload's controller takes care of: they do not fail the workload's wait.
CONTROLLER_HANDLES = frozenset({"Terminating", "Evicted", "Completed", "DeadlineExceeded"})


#: A pod's failures that a Job retries and counts against its backoffLimit: a run that failed,
#: and the back-off of a container (or init container) restarted in place under OnFailure.
RETRIED_BY_A_JOB = frozenset(
    {"Error", "OOMKilled", "StartError", "CrashLoopBackOff", "Init:CrashLoopBackOff", "Init:Error"}
)


def failing_pod(pods: Iterable[JSON], *, runs_to_completion: bool = False) -> tuple[JSON, Verdict] | None:
    """The first of a workload's pods with a reason that will never heal. A Job
    (``runs_to_completion``) retries pods that ran and failed, and counts a container's restarts
    under OnFailure (a crash loop) against its backoffLimit: its own Failed condition decides, so
    for it only a pod that cannot start (image, configuration, scheduling) counts; for all, a pod
    the controller replaces (being deleted, evicted) does not count."""
    for pod in pods:
        verdict = pod_failure(pod)
        if verdict is None or verdict.reason in CONTROLLER_HANDLES:
            continue
        if runs_to_completion and (pod.get("status") or {}).get("phase") == "Failed":
            continue
        if runs_to_completion and verdict.reason in RETRIED_BY_A_JOB:
            continue
        return pod, verdict
    return None


def job_pod_reason(pods: Iterable[JSON]) -> tuple[JSON, Verdict] | None:
    """Why a failed Job's pods failed: the newest pod with a failure verdict. A pod that the Job
    controller deletes (it stops the pods of a failed Job), or whose container the kubelet backs off
    restarting (OnFailure), tells its containers' last exit instead: the run that failed."""
    failed = []
    for p in pods:
        verdict = pod_failure(p)
        if verdict is None or verdict.reason in ("Terminating", "CrashLoopBackOff", "Init:CrashLoopBackOff"):
            verdict = last_termination(p) or verdict
        if verdict is not None:
            failed.append((p, verdict))
    failed.sort(key=lambda pv: str((pv[0].get("metadata") or {}).get("creationTimestamp") or ""))
    return failed[-1] if failed else None
