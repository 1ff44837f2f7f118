"""Workloads: when a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or PVC is up, waits for
them (and for pods) in one watch loop, ``wait_for`` any object like ``kubectl wait``, and a handle
that reaches a workload's pods.

The verdicts are pure functions of the object's JSON and follow the semantics users know:
``kubectl rollout status`` (pkg/polymorphichelpers/rollout_status.go) for Deployments, StatefulSets
and DaemonSets, and the kstatus rules of sigs.k8s.io/cli-utils (observedGeneration first, then
per-kind readiness and conditions) for ReplicaSets, Jobs and PVCs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_pods import podstate, waits
from pytest_pods.claims import DEFAULT_STORAGE_CLASS as DEFAULT_STORAGE_CLASS  # its old home
from pytest_pods.claims import ClaimCheck
from pytest_pods.claims import pvc_verdict as pvc_verdict  # the PVC verdict lives with the claims
from pytest_pods.errors import ApiError, PodNotReadyError, PodsError, WorkloadNotReadyError
from pytest_pods.kube import JSON, Kube
from pytest_pods.pods import Pod
from pytest_pods.waits import PENDING, Verdict
from pytest_pods.witness import AttachWitness

#: Kind -> (apiVersion, plural) of the kinds ``wait_for`` and the handle know by name.
KINDS: dict[str, tuple[str, str]] = {
    "Pod": ("v1", "pods"),
    "Deployment": ("apps/v1", "deployments"),
    "ReplicaSet": ("apps/v1", "replicasets"),
    "StatefulSet": ("apps/v1", "statefulsets"),
    "DaemonSet": ("apps/v1", "daemonsets"),
    "Job": ("batch/v1", "jobs"),
    "CronJob": ("batch/v1", "cronjobs"),
    "PersistentVolumeClaim": ("v1", "persistentvolumeclaims"),
    "Service": ("v1", "services"),
    "ConfigMap": ("v1", "configmaps"),
    "Secret": ("v1", "secrets"),
    "ServiceAccount": ("v1", "serviceaccounts"),
    "Endpoints": ("v1", "endpoints"),
}
_SHORT = {"po": "Pod", "deploy": "Deployment", "rs": "ReplicaSet", "sts": "StatefulSet", "ds": "DaemonSet"}
_SHORT |= {"pvc": "PersistentVolumeClaim", "svc": "Service", "cm": "ConfigMap", "sa": "ServiceAccount"}
_SHORT |= {"cj": "CronJob", "ep": "Endpoints"}

#: The kinds that ``apply(wait=True)`` and the ``pods_manifest`` marker wait for.
WAITED_KINDS = ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "PersistentVolumeClaim")

#: How often a workload wait re-reads the workloads when no pod event comes (seconds).
POLL_SECONDS = 1.0


def kind_of(name: str) -> str:
    """``deploy``, ``deployments``, ``deployment`` or ``Deployment`` -> ``Deployment``."""
    if name in KINDS:
        return name
    low = name.lower()
    if low in _SHORT:
        return _SHORT[low]
    for kind, (_, plural) in KINDS.items():
        if low in (kind.lower(), plural):
            return kind
    raise ValueError(f"unknown kind {name!r}; known: {', '.join(sorted(KINDS))} (and their short names)")


def object_path(kind: str, namespace: str, name: str | None = None) -> str:
    api_version, plural = KINDS[kind]
    prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    return f"{prefix}/namespaces/{namespace}/{plural}" + (f"/{name}" if name else "")


# --- pure verdicts -------------------------------------------------------------------------------


def _conditions(obj: JSON) -> dict[str, JSON]:
    return {str(c.get("type")): c for c in (obj.get("status") or {}).get("conditions") or []}


def _fail(reason: str, detail: str) -> Verdict:
    return Verdict(True, False, reason, detail)


def _wait(detail: str) -> Verdict:
    return Verdict(False, False, "InProgress", detail)


def _observed(obj: JSON) -> Verdict | None:
    """kstatus: a status that has not observed the latest generation says nothing yet."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is not None and (observed is None or int(observed) < int(generation)):
        return _wait(f"waiting for the controller to observe generation {generation}")
    return None


def deployment_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status deployment``: observed, no progress deadline exceeded, every replica
    updated, no old replica left, every updated replica available."""
    if pending := _observed(obj):
        return pending
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    conds = _conditions(obj)
    progressing = conds.get("Progressing", {})
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return _fail("ProgressDeadlineExceeded", str(progressing.get("message") or "rollout stuck"))
    failure = conds.get("ReplicaFailure", {})
    if failure.get("status") == "True":
        return _fail("ReplicaFailure", str(failure.get("message") or failure.get("reason") or ""))
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < want:
        return _wait(f"{updated} of {want} new replicas have been updated")
    if total > updated:
        return _wait(f"{total - updated} old replicas are pending termination")
    if available < updated:
        return _wait(f"{available} of {updated} updated replicas are available")
    return Verdict(True, True, "RolledOut", f"{available} of {want} replicas available")


def replicaset_verdict(obj: JSON) -> Verdict:
    """kstatus ReplicaSet: observed, no ReplicaFailure, every desired replica labelled, ready and
    available."""
    if pending := _observed(obj):
        return pending
    failure = _conditions(obj).get("ReplicaFailure", {})
    if failure.get("status") == "True":
        return _fail("ReplicaFailure", str(failure.get("message") or failure.get("reason") or ""))
    want = int((obj.get("spec") or {}).get("replicas", 1))
    status = obj.get("status") or {}
    for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        have = int(status.get(key) or 0)
        if have < want:
            return _wait(f"{key}: {have} of {want}")
    return Verdict(True, True, "Available", f"{want} of {want} replicas available")


def statefulset_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status statefulset``: observed, every replica ready, then updated (up to a
    partition) and the update revision current. OnDelete updates are not waited for, as there."""
    if pending := _observed(obj):
        return pending
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    strategy = spec.get("updateStrategy") or {}
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < want:
        return _wait(f"{ready} of {want} replicas ready")
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return Verdict(True, True, "Ready", f"{ready} replicas ready (updateStrategy OnDelete)")
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    if partition:
        if updated < want - partition:
            return _wait(f"{updated} of {want - partition} replicas updated (partition {partition})")
        return Verdict(True, True, "RolledOut", f"{updated} replicas updated (partition {partition})")
    if status.get("updateRevision") != status.get("currentRevision"):
        return _wait(f"{updated} of {want} replicas at the update revision")
    return Verdict(True, True, "RolledOut", f"{ready} of {want} replicas ready")


def daemonset_verdict(obj: JSON) -> Verdict:
    """``kubectl rollout status daemonset``: observed, every scheduled pod updated and available."""
    if pending := _observed(obj):
        return pending
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return Verdict(True, True, "Ready", "updateStrategy OnDelete")
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return _wait(f"{updated} of {desired} updated pods scheduled")
    if available < desired:
        return _wait(f"{available} of {desired} updated pods available")
    return Verdict(True, True, "RolledOut", f"{available} of {desired} pods available")


def job_verdict(obj: JSON) -> Verdict:
    """kstatus Job: condition Complete is success, Failed (BackoffLimitExceeded, DeadlineExceeded,
    ...) a failure; anything else is in progress. FailureTarget fails at once (Failed follows it
    surely), but SuccessCriteriaMet is not yet success: the controller sets it before the Job's pods
    are finalised and ``status.succeeded`` is written, and sets Complete after (as ``kubectl wait
    --for=condition=Complete`` waits for)."""
    conds = _conditions(obj)
    for ctype in ("Failed", "FailureTarget"):
        c = conds.get(ctype, {})
        if c.get("status") == "True":
            reason = str(c.get("reason") or "")
            known = reason in ("BackoffLimitExceeded", "DeadlineExceeded")
            return _fail(
                reason if known else "JobFailed", str(c.get("message") or reason or "the Job failed")
            )
    if conds.get("Complete", {}).get("status") == "True":
        return Verdict(True, True, "Complete", str((obj.get("status") or {}).get("succeeded", "")))
    if (obj.get("spec") or {}).get("suspend"):
        return _wait("the Job is suspended")
    status = obj.get("status") or {}
    return _wait(
        f"active {status.get('active', 0)}, succeeded {status.get('succeeded', 0)}, "
        f"failed {status.get('failed', 0)}"
    )


VERDICTS: dict[str, Callable[[JSON], Verdict]] = {
    "Deployment": deployment_verdict,
    "ReplicaSet": replicaset_verdict,
    "StatefulSet": statefulset_verdict,
    "DaemonSet": daemonset_verdict,
    "Job": job_verdict,
}


def label_selector(selector: JSON) -> str:
    """A LabelSelector (matchLabels, matchExpressions) as the query string the API takes."""
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
_CONTROLLER_HANDLES = frozenset({"Terminating", "Evicted", "Completed", "DeadlineExceeded"})


def failing_pod(kind: str, pods: Iterable[JSON]) -> tuple[JSON, Verdict] | None:
    """The first of a workload's pods with a reason that will never heal. A Job retries pods that
    ran and failed (its own Failed condition decides), so for a Job only a pod that cannot start
    (image, configuration, scheduling, init) counts; for the others a pod the controller replaces
    (being deleted, evicted) does not count."""
    for pod in pods:
        verdict = waits.pod_failure(pod)
        if verdict is None or verdict.reason in _CONTROLLER_HANDLES:
            continue
        if kind == "Job" and (pod.get("status") or {}).get("phase") == "Failed":
            continue
        if kind == "Job" and verdict.reason in ("Error", "OOMKilled", "StartError"):
            continue
        return pod, verdict
    return None


def job_pod_reason(pods: Iterable[JSON]) -> tuple[JSON, Verdict] | None:
    """Why a failed Job's pods failed: the newest pod with a failure verdict. A pod that the Job
    controller deletes (it stops the pods of a failed Job) tells its containers' last exit instead."""
    failed = []
    for p in pods:
        verdict = waits.pod_failure(p)
        if verdict is None or verdict.reason == "Terminating":
            verdict = waits.last_termination(p) or verdict
        if verdict is not None:
            failed.append((p, verdict))
    failed.sort(key=lambda pv: str((pv[0].get("metadata") or {}).get("creationTimestamp") or ""))
    return failed[-1] if failed else None


def failed_runs(pod: JSON) -> list[tuple[str, int, bool]]:
    """``(container, run, previous)`` of each container whose latest run exited non-zero: ``run`` is
    its restart count then, ``previous`` whether a newer run has started since (its log is then the
    ``previous=True`` one). Pure."""
    out = []
    for c in podstate.container_states(pod):
        if c.state == "terminated" and c.exit_code:
            out.append((c.name, c.restarts, False))
        elif c.last_exit_code and c.restarts:
            out.append((c.name, c.restarts - 1, True))
    return out


def with_kept_logs(
    pod: JSON, read: Mapping[tuple[str, bool], str], kept: Mapping[tuple[str, int], str]
) -> dict[tuple[str, bool], str]:
    """The logs read for a failure report, where one could not be read (the pod is gone) filled in
    from ``kept``: ``(container, run)`` -> the log of that run, read as the run failed. Keyed like
    :func:`waits.container_logs` by ``(container, previous)``, from the pod's state as last seen; why
    a log could not be read is left only for a container with no log at all. Pure."""
    out = {k: v for k, v in read.items() if not v.startswith("(no log")}
    restarts = {c.name: c.restarts for c in podstate.container_states(pod)}
    for (container, run), text in sorted(kept.items()):
        out.setdefault((container, run < restarts.get(container, run)), text)
    have = {container for container, _ in out}
    for (container, previous), text in read.items():
        if container not in have:  # nothing read or kept of it: say why there is no log
            out[(container, previous)] = text
    return out


def describe(obj: JSON) -> str:
    """A workload's status in a few lines: generation, replica counts, conditions."""
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    lines = [
        f"{obj.get('kind')} {meta.get('name')}: generation {meta.get('generation', '-')}, "
        f"observedGeneration {status.get('observedGeneration', '-')}"
    ]
    counts = {k: v for k, v in status.items() if isinstance(v, int) and k != "observedGeneration"}
    if counts:
        lines.append("status: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if status.get("phase"):
        lines.append(f"phase: {status['phase']}")
    for c in status.get("conditions") or []:
        extra = ": ".join(str(p) for p in (c.get("reason"), c.get("message")) if p)
        lines.append(f"condition {c.get('type')}={c.get('status')}" + (f" ({extra})" if extra else ""))
    return "\n".join(lines)


def held(baseline: Mapping[str, Mapping[str, int]], pods: Iterable[JSON]) -> tuple[JSON, Verdict] | None:
    """The first pod whose container terminated or restarted since ``baseline`` (pod name -> restart
    counts when the workload was first seen up); pods that came later are measured from now."""
    for pod in pods:
        name = str((pod.get("metadata") or {}).get("name"))
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        verdict = waits.classify_held(pod, dict(baseline.get(name) or waits.restart_counts(pod)))
        if verdict.done:
            return pod, verdict
    return None


# --- the wait ------------------------------------------------------------------------------------


@dataclass
class _Target:
    kind: str
    name: str
    obj: JSON = field(default_factory=dict)
    verdict: Verdict = PENDING
    held_at: float | None = None  # when it is up and has held (None: not up now)
    baseline: dict[str, dict[str, int]] = field(default_factory=dict)


def wait_all(
    kube: Kube,
    namespace: str,
    targets: Sequence[tuple[str, str]],
    *,
    timeout: float,
    stable: float = 0.0,
    stop: threading.Event | None = None,
) -> dict[tuple[str, str], JSON]:
    """Wait until every ``(kind, name)`` of :data:`WAITED_KINDS` is up and has held ``stable``
    seconds; return each object as last seen. Fails at once, naming the object, the pod and the
    reason, when one of them or one of its pods hits a reason that will never heal. A ``stop``
    that is set ends the wait within about a second (:class:`PodsError`: it was cancelled).

    One loop: :meth:`Kube.watch` on the namespace's pods (each pod change re-reads the workloads),
    bounded to :data:`POLL_SECONDS` so that a workload's own status change is read soon after it
    happens even when no pod changes.
    """
    began = time.monotonic()
    todo = [_Target(kind, name) for kind, name in targets]
    pods: dict[str, JSON] = {}
    gone: dict[str, JSON] = {}  # pods deleted while waiting, as last seen
    readiness = waits.Hold(stable, AttachWitness(kube) if stable > 0 else None)
    storage_classes: list[JSON] | None = None
    claim_check = ClaimCheck(kube, namespace)
    # a claim this wait judges itself fails as the PVC (its verdict reads the same events), not as
    # the pod that uses it: whichever read the event first would otherwise decide
    own_claims = {name for kind, name in targets if kind == "PersistentVolumeClaim"}

    def claim_failure(pod: JSON) -> Verdict | None:
        blocked = claim_check(pod) if pod else None
        ok = blocked is None or not blocked.done or blocked.claim in own_claims
        return None if ok else blocked

    # The log of each failed run of a Job's pods, read when the run is first seen failed: the Job
    # controller deletes a failed Job's pods that still run (restartPolicy OnFailure) at once.
    kept_logs: dict[str, dict[tuple[str, int], str]] = {}  # pod uid -> (container, run) -> log
    pods_path = f"/api/v1/namespaces/{namespace}/pods"

    def pvc_inputs(t: _Target) -> tuple[list[JSON], list[JSON]]:
        nonlocal storage_classes
        if storage_classes is None or t.verdict.reason != "InProgress":
            storage_classes = list(
                kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses").get("items") or []
            )
        return storage_classes, waits.pod_events(kube, namespace, t.name)

    def refresh(t: _Target) -> None:
        if t.kind == "Pod":
            t.obj = pods.get(t.name, {})
            t.verdict = waits.classify_ready(t.obj) if t.obj else PENDING
            blocked = claim_failure(t.obj) if not t.verdict.done else None
            if blocked is not None:
                t.verdict = blocked
            return
        try:
            t.obj = kube.request("GET", object_path(t.kind, namespace, t.name))
        except ApiError as exc:
            if exc.status != 404:
                raise
            t.obj, t.verdict = {}, _wait("it does not exist (yet)")
            return
        if t.kind == "PersistentVolumeClaim":
            t.verdict = pvc_verdict(t.obj, *pvc_inputs(t))
        else:
            t.verdict = VERDICTS[t.kind](t.obj)

    def my_pods(t: _Target) -> list[JSON]:
        if t.kind == "Pod":
            return [t.obj] if t.obj else []
        if t.kind == "PersistentVolumeClaim":
            return []
        return pods_of(t.obj, pods.values())

    def keep_logs(mine: Iterable[JSON]) -> None:
        for p in mine:
            meta = p.get("metadata") or {}
            kept = kept_logs.setdefault(str(meta.get("uid")), {})
            for container, run, previous in failed_runs(p):
                if (container, run) not in kept:
                    name = str(meta.get("name"))
                    kept[(container, run)] = waits.read_log(
                        kube, namespace, name, container, previous=previous
                    )

    def fail(t: _Target, verdict: Verdict, pod: JSON | None = None) -> None:
        pod_name = str(((pod or {}).get("metadata") or {}).get("name", ""))
        if t.kind == "Pod":
            raise waits.pod_error(kube, namespace, t.name, pod or t.obj, verdict)
        lines = [describe(t.obj)] if t.obj else [f"{t.kind} {t.name} does not exist"]
        reason, detail, pod_reason = verdict.reason, verdict.detail, ""
        if pod is not None:
            pod_verdict = verdict
            if t.kind == "Job" and not t.verdict.ok and t.verdict.done:  # the Job failed: why did its pod
                reason, detail = t.verdict.reason, f"{t.verdict.detail}; pod {pod_name}: {verdict.detail}"
            else:
                detail = f"pod {pod_name}: {verdict.reason}: {verdict.detail}"
            pod_reason = pod_verdict.reason
            logs = waits.container_logs(kube, namespace, pod, verdict.container) if verdict.container else {}
            kept = kept_logs.get(str((pod.get("metadata") or {}).get("uid")), {})
            logs = with_kept_logs(pod, logs, {k: v for k, v in kept.items() if k[0] == verdict.container})
            lines.append(f"pod {pod_name}" + (" (deleted since, as last seen):" if pod_name in gone else ":"))
            events = waits.verdict_events(kube, namespace, pod_name, verdict)
            lines.append(waits.failure_report(pod, events, "", logs))
        else:
            events = waits.pod_events(kube, namespace, t.name)
            ev = podstate.describe_events(events, limit=10)
            if ev:
                lines += ["recent events:", *("  " + e for e in ev)]
        hint = waits.HINTS.get(pod_reason) or waits.HINTS.get(reason, "")
        if hint:
            lines.append(f"hint: {hint}")
        raise WorkloadNotReadyError(
            namespace,
            t.kind,
            t.name,
            reason,
            detail,
            pod=pod_name,
            pod_reason=pod_reason,
            report="\n".join(lines),
        )

    def judge() -> tuple[bool, bool]:
        """Re-read and judge every target: (all up and held, a hold window opened just now).
        Raises on a failure."""
        now = time.monotonic()
        opened = False
        for t in todo:
            refresh(t)
            mine = my_pods(t)
            held_from = [readiness.until(p, now) for p in mine]  # each container's first report running
            if t.kind == "Job":
                keep_logs(mine)
            if t.verdict.done and not t.verdict.ok:
                if t.kind == "Job":
                    found = job_pod_reason([*mine, *pods_of(t.obj, gone.values())])
                    fail(t, found[1] if found else t.verdict, found[0] if found else None)
                fail(t, t.verdict, t.obj if t.kind == "Pod" else None)
            if t.kind != "Pod":
                bad = failing_pod(t.kind, mine)
                if bad:
                    fail(t, bad[1], bad[0])
                for p in mine:
                    blocked = claim_failure(p)
                    if blocked is not None:
                        fail(t, blocked, p)
            if t.held_at is not None and hold(t) > 0:  # Ready went away: a crash, or a probe?
                broken = held(t.baseline, mine)
                if broken:
                    fail(t, broken[1], broken[0])
            if not t.verdict.ok:
                t.held_at = None
                continue
            if t.held_at is None:
                t.baseline = {str(p["metadata"]["name"]): waits.restart_counts(p) for p in mine}
            was, t.held_at = t.held_at, now
            if hold(t) > 0:
                live = [
                    u
                    for p, u in zip(mine, held_from, strict=True)
                    if not (p.get("metadata") or {}).get("deletionTimestamp")
                ]
                t.held_at = max([now, *live])
            opened = opened or (was is None and t.held_at > now)
        done = all(t.held_at is not None and now >= t.held_at for t in todo)
        return done, opened

    def hold(t: _Target) -> float:
        return 0.0 if t.kind in ("Job", "PersistentVolumeClaim") else stable

    with readiness:  # ends the witness's attach streams however the wait ends
        while True:
            remaining = timeout - (time.monotonic() - began)
            if remaining <= 0:
                break
            if stop is not None and stop.is_set():
                raise PodsError(f"the wait in namespace {namespace} was cancelled (the session is ending)")
            windows = [t.held_at - time.monotonic() for t in todo if t.held_at is not None]
            step = min([remaining, POLL_SECONDS, *(w for w in windows if w > 0)])
            # A bounded watch: it ends after ``step`` (at least 1s, the API's unit) so the workloads are
            # re-read even when no pod changes; a hold window that opens starts a watch bounded by it.
            for event in kube.watch(pods_path, timeout=max(step, 0.05)):
                name = str((event.object.get("metadata") or {}).get("name", ""))
                if event.type == "LISTED":
                    listed = {str(p["metadata"]["name"]): p for p in event.items}
                    gone.update((n, p) for n, p in pods.items() if n not in listed)
                    pods = listed
                elif event.type == "DELETED":
                    gone[name] = event.object  # a failed Job's pods may be gone before it says why
                    pods.pop(name, None)
                    if ("Pod", name) in targets:
                        raise PodNotReadyError(
                            namespace,
                            name,
                            "Deleted",
                            "the pod was deleted while waiting for it to be Ready",
                            waits.failure_report(event.object, waits.pod_events(kube, namespace, name)),
                        )
                else:
                    pods[name] = event.object
                done, opened = judge()
                if done:
                    return {(t.kind, t.name): t.obj for t in todo}
                if opened:
                    break
            # no judgement on a watch that just ended: the next one starts with a fresh listing, so a
            # hold window counts as passed only on a state read after it closed

    pending = [t for t in todo if t.held_at is None]
    t = pending[0] if pending else todo[0]
    if t.kind == "Pod":
        phase = (t.obj.get("status") or {}).get("phase", "unknown") if t.obj else "no such pod"
        raise PodNotReadyError(
            namespace,
            t.name,
            "Timeout",
            f"not Ready after {timeout:g}s (phase: {phase})",
            waits.failure_report(
                t.obj or None,
                waits.pod_events(kube, namespace, t.name) + waits.claim_events(kube, namespace, t.obj),
            ),
        )
    others = ", ".join(f"{o.kind}/{o.name}" for o in pending[1:])
    detail = f"not up after {timeout:g}s: {t.verdict.detail or 'no status yet'}"
    if others:
        detail += f" (also not up: {others})"
    lines = [describe(t.obj)] if t.obj else [f"{t.kind} {t.name} does not exist"]
    for pod in my_pods(t)[:5]:
        lines.append(f"pod {pod['metadata']['name']}:")
        lines += ["  " + line for line in podstate.summary(pod).splitlines()]
    raise WorkloadNotReadyError(namespace, t.kind, t.name, "Timeout", detail, report="\n".join(lines))


# --- kubectl wait --------------------------------------------------------------------------------


def condition_check(condition: str) -> Callable[[JSON], bool]:
    """``Ready``, ``Ready=True``, ``Available=false`` (as ``kubectl wait --for=condition=...``)."""
    ctype, _, want = condition.partition("=")
    wanted = (want or "True").lower()

    def check(obj: JSON) -> bool:
        c = _conditions(obj).get(ctype)
        if c is None:
            c = next((v for k, v in _conditions(obj).items() if k.lower() == ctype.lower()), None)
        return c is not None and str(c.get("status", "")).lower() == wanted

    return check


def jsonpath_check(expression: str) -> Callable[[JSON], bool]:
    """``{.status.phase}=Running`` or ``{.status.readyReplicas}`` (exists and is not empty), as
    ``kubectl wait --for=jsonpath=...``; filters like ``[?(@.type=="Ready")]`` work."""
    from jsonpath_ng.ext.parser import parse  # jsonpath_ng.ext re-exports it implicitly (mypy: not exported)

    path, sep, want = expression.partition("}=") if "}=" in expression else expression.partition("=")
    path = path.strip()
    if path.startswith("{"):
        path = path[1:]
    path = path.rstrip("}")
    compiled = parse("$" + path if path.startswith((".", "[")) else "$." + path)

    def check(obj: JSON) -> bool:
        found = [m.value for m in compiled.find(obj)]
        if not sep:
            return any(v not in (None, "", [], {}) for v in found)
        return any(_text(v) == want for v in found)

    return check


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def wait_for(
    kube: Kube,
    namespace: str,
    kind: str,
    name: str,
    *,
    condition: str | None = None,
    jsonpath: str | None = None,
    delete: bool = False,
    timeout: float,
) -> JSON:
    """Watch one object until ``condition``, ``jsonpath`` or (with ``delete``) its absence holds,
    like ``kubectl wait --for=...``; return the object as last seen (``{}`` once deleted), or raise
    :class:`WorkloadNotReadyError` with reason ``Timeout`` naming what was last seen."""
    if [bool(condition), bool(jsonpath), delete].count(True) != 1:
        raise ValueError("wait_for needs exactly one of condition=..., jsonpath=... or delete=True")
    kind = kind_of(kind)
    check = condition_check(condition) if condition else jsonpath_check(jsonpath) if jsonpath else None
    path = object_path(kind, namespace)
    last: JSON = {}
    for event in kube.watch(path, query={"fieldSelector": f"metadata.name={name}"}, timeout=timeout):
        if event.type == "LISTED":
            last = event.items[0] if event.items else {}
        elif event.type == "DELETED":
            last = {}
        else:
            last = event.object
        if check is None and not last:
            return {}
        if check is not None and last and check(last):
            return last
    want = f"condition={condition}" if condition else f"jsonpath={jsonpath}" if jsonpath else "delete"
    report = describe(last) if last else f"{kind} {name} does not exist"
    raise WorkloadNotReadyError(
        namespace, kind, name, "Timeout", f"--for={want} not met after {timeout:g}s", report=report
    )


# --- the handle ----------------------------------------------------------------------------------


class Workload:
    """A handle on a workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ...) of a
    namespace: the object, its status, its pods as :class:`Pod` handles, and waits."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        kind: str,
        name: str,
        *,
        timeout: float = 120.0,
        stable: float = waits.READY_STABLE,
        pod: Callable[[str], Pod] | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.kind = kind_of(kind)
        self.name = name
        self.timeout = timeout
        self.stable = stable
        self._pod = pod or (lambda n: Pod(kube, namespace, n, timeout=timeout, ready_stable=stable))

    def __repr__(self) -> str:
        return f"<Workload {self.kind} {self.namespace}/{self.name}>"

    def get(self) -> JSON:
        """The object as the API server has it now."""
        return self.kube.request("GET", object_path(self.kind, self.namespace, self.name))

    @property
    def status(self) -> JSON:
        """The object's ``status`` now."""
        return dict(self.get().get("status") or {})

    @property
    def selector(self) -> str:
        """Its pod selector, as a label-selector string."""
        return label_selector((self.get().get("spec") or {}).get("selector") or {})

    def pods(self) -> list[Pod]:
        """Handles on the pods it selects now (by its spec.selector), sorted by name; pods being
        deleted are left out."""
        selector = self.selector
        if not selector:
            return []
        items = (
            self.kube.request(
                "GET", f"/api/v1/namespaces/{self.namespace}/pods", query={"labelSelector": selector}
            ).get("items")
            or []
        )
        names = sorted(
            str(p["metadata"]["name"])
            for p in items
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        )
        return [self._pod(n) for n in names]

    def verdict(self) -> Verdict:
        """The pure verdict on its state now (see the ``*_verdict`` functions)."""
        obj = self.get()
        if self.kind == "PersistentVolumeClaim":
            classes = self.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses").get("items") or []
            return pvc_verdict(obj, classes)
        if self.kind not in VERDICTS:
            raise ValueError(f"no notion of up for kind {self.kind}; use Namespace.wait_for")
        return VERDICTS[self.kind](obj)

    def wait(self, timeout: float | None = None, *, stable: float | None = None) -> Workload:
        """Wait until it is up (rolled out, Complete, Bound; see :func:`wait_all`)."""
        wait_all(
            self.kube,
            self.namespace,
            [(self.kind, self.name)],
            timeout=self.timeout if timeout is None else timeout,
            stable=self.stable if stable is None else stable,
        )
        return self
