"""The failure report of a wait: what the pod or workload looked like, its events (and its claims'),
the failing container's last log lines, and the reason's hint; and the errors that carry it.

Reads are best effort: an API error becomes the text. ``failure_report``, ``describe``,
``failed_runs`` and ``with_kept_logs`` are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_pods import podstate
from pytest_pods.errors import ApiError, PodNotReadyError, WorkloadNotReadyError
from pytest_pods.kube import JSON, Kube
from pytest_pods.waits.verdicts import HINTS, Verdict

#: How many of a container's last log lines a failure report shows.
LOG_LINES = 20


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
    return pod_failed(namespace, name, pod, verdict, verdict_events(kube, namespace, name, verdict), logs)


def pod_failed(
    namespace: str,
    name: str,
    pod: JSON | None,
    verdict: Verdict,
    events: list[JSON],
    logs: Mapping[tuple[str, bool], str] | None = None,
) -> PodNotReadyError:
    """What :func:`pod_error` promises, from what it read: the reason, the verdict's detail (which
    names the container, or the claim and its volume), the reason's hint, and the events as far as
    there are any (a claim check may decide before the scheduler has said a word). Pure."""
    report = failure_report(pod, events, HINTS.get(verdict.reason, ""), logs)
    return PodNotReadyError(namespace, name, verdict.reason, verdict.detail, report)


def workload_error(
    kube: Kube,
    namespace: str,
    kind: str,
    name: str,
    obj: JSON,
    verdict: Verdict,
    pod: JSON | None = None,
    *,
    cause: Verdict | None = None,
    gone: bool = False,
    kept: Mapping[tuple[str, int], str] | None = None,
) -> WorkloadNotReadyError:
    """The error of a workload (``obj``, as last seen) that failed: ``verdict`` is its own
    failure, or that of ``pod``, one of its pods (``gone``: deleted since, as last seen). ``cause``:
    the workload's own failure when ``verdict`` is its pod's reason for it (a failed Job's pod).
    ``kept``: the logs of the pod's failed runs read as they failed, ``(container, run)`` -> log."""
    lines = [describe(obj)] if obj else [f"{kind} {name} does not exist"]
    reason, detail, pod_name, pod_reason = verdict.reason, verdict.detail, "", ""
    if pod is not None:
        pod_name = str((pod.get("metadata") or {}).get("name", ""))
        if cause is not None:
            reason, detail = cause.reason, f"{cause.detail}; pod {pod_name}: {verdict.detail}"
        else:
            detail = f"pod {pod_name}: {verdict.reason}: {verdict.detail}"
        pod_reason = verdict.reason
        logs = container_logs(kube, namespace, pod, verdict.container) if verdict.container else {}
        mine = {k: v for k, v in (kept or {}).items() if k[0] == verdict.container}
        logs = with_kept_logs(pod, logs, mine)
        lines.append(f"pod {pod_name}" + (" (deleted since, as last seen):" if gone else ":"))
        lines.append(failure_report(pod, verdict_events(kube, namespace, pod_name, verdict), "", logs))
    else:
        ev = podstate.describe_events(pod_events(kube, namespace, name), limit=10)
        if ev:
            lines += ["recent events:", *("  " + e for e in ev)]
    hint = HINTS.get(pod_reason) or HINTS.get(reason, "")
    if hint:
        lines.append(f"hint: {hint}")
    return WorkloadNotReadyError(
        namespace, kind, name, reason, detail, pod=pod_name, pod_reason=pod_reason, report="\n".join(lines)
    )


def pod_timeout(
    kube: Kube, namespace: str, name: str, pod: JSON, what: str, timeout: float
) -> PodNotReadyError:
    """A pod not ``what`` (Ready, Running) after ``timeout``: its phase, each container's state, its
    events and those of the claims it waits on."""
    phase = (pod.get("status") or {}).get("phase", "unknown") if pod else "no such pod"
    events = pod_events(kube, namespace, name) + claim_events(kube, namespace, pod)
    return PodNotReadyError(
        namespace,
        name,
        "Timeout",
        f"not {what} after {timeout:g}s (phase: {phase})",
        failure_report(pod or None, events),
    )


def workload_timeout(
    namespace: str, kind: str, name: str, obj: JSON, detail: str, pods: Sequence[JSON]
) -> WorkloadNotReadyError:
    """A workload not up in time: its status and (up to 5 of) its pods' states."""
    lines = [describe(obj)] if obj else [f"{kind} {name} does not exist"]
    for pod in pods[:5]:
        lines.append(f"pod {pod['metadata']['name']}:")
        lines += ["  " + line for line in podstate.summary(pod).splitlines()]
    return WorkloadNotReadyError(namespace, kind, name, "Timeout", detail, report="\n".join(lines))


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
    :func:`container_logs` by ``(container, previous)``, from the pod's state as last seen; why
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
