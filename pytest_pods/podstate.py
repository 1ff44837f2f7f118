"""Pure readings of a pod's JSON: container states, conditions, events, as structured values and text.

Waits use them for their messages and diagnostics for the failure report, so both say the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

JSON = Mapping[str, Any]


@dataclass(frozen=True)
class ContainerState:
    """One container's status, flattened: ``state`` is waiting, running, terminated or unknown.

    ``sidecar`` marks a native sidecar: an init container with ``restartPolicy: Always``, which
    keeps running beside the regular containers and counts for the pod's readiness.
    """

    name: str
    init: bool
    state: str
    reason: str
    message: str
    exit_code: int | None
    restarts: int
    ready: bool
    last_reason: str
    last_exit_code: int | None
    sidecar: bool = False
    started_at: str = ""
    tty: bool = False

    @property
    def long_running(self) -> bool:
        """A regular container or a sidecar: one that should keep running (not a one-shot init)."""
        return not self.init or self.sidecar

    def describe(self) -> str:
        """One line: ``web: waiting (ImagePullBackOff: Back-off pulling ...), restarts 0``."""
        what = self.state
        detail = ": ".join(p for p in (self.reason, self.message) if p)
        if self.exit_code is not None:
            detail = f"exit code {self.exit_code}" + (f", {detail}" if detail else "")
        if detail:
            what += f" ({detail})"
        kind = "sidecar " if self.sidecar else "init " if self.init else ""
        text = f"{kind}{self.name}: {what}, ready {str(self.ready).lower()}"
        text += f", restarts {self.restarts}"
        if self.last_reason or self.last_exit_code is not None:
            text += f", last terminated: {self.last_reason or '?'} exit code {self.last_exit_code}"
        return text


def _state(raw: JSON | None) -> tuple[str, JSON]:
    for kind in ("waiting", "running", "terminated"):
        if raw and raw.get(kind) is not None:
            return kind, raw[kind] or {}
    return "unknown", {}


def container_states(pod: JSON) -> list[ContainerState]:
    """Every container's state, init containers first, in spec order; a container with no status
    yet is ``unknown``."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    out = []
    for init, spec_key, status_key in (
        (True, "initContainers", "initContainerStatuses"),
        (False, "containers", "containerStatuses"),
    ):
        by_name = {s.get("name"): s for s in status.get(status_key) or []}
        for c in spec.get(spec_key) or []:
            s = by_name.get(c.get("name"), {})
            kind, detail = _state(s.get("state"))
            _, last = _state(s.get("lastState"))
            out.append(
                ContainerState(
                    name=str(c.get("name")),
                    init=init,
                    state=kind,
                    reason=str(detail.get("reason") or ""),
                    message=str(detail.get("message") or "").strip(),
                    exit_code=detail.get("exitCode"),
                    restarts=int(s.get("restartCount") or 0),
                    ready=bool(s.get("ready")),
                    last_reason=str(last.get("reason") or ""),
                    last_exit_code=last.get("exitCode"),
                    sidecar=init and c.get("restartPolicy") == "Always",
                    started_at=str(detail.get("startedAt") or "") if kind == "running" else "",
                    tty=bool(c.get("tty")),
                )
            )
    return out


def container_names(pod: JSON, *, init: bool = False) -> list[str]:
    """The names in the pod's spec: with ``init`` the init containers first (native sidecars
    included), then the regular containers."""
    spec = pod.get("spec") or {}
    keys = ("initContainers", "containers") if init else ("containers",)
    return [str(c.get("name")) for k in keys for c in spec.get(k) or []]


def pod_claims(pod: JSON) -> list[tuple[str, str, bool]]:
    """``(volume, claim, ephemeral)`` for each of the pod's volumes backed by a PersistentVolumeClaim;
    an ephemeral volume's claim is ``<pod>-<volume>``, made by the ephemeral volume controller."""
    pod_name = str((pod.get("metadata") or {}).get("name", ""))
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        name = str(v.get("name", ""))
        if v.get("persistentVolumeClaim"):
            out.append((name, str(v["persistentVolumeClaim"].get("claimName", "")), False))
        elif v.get("ephemeral"):
            out.append((name, f"{pod_name}-{name}", True))
    return out


def waits_on_claims(pod: JSON) -> bool:
    """Pending, not scheduled yet and not being deleted, with claims: the scheduler binds a pod's
    claims before the pod (so a scheduled pod's claims are bound), and says nothing on the pod while
    a claim of a WaitForFirstConsumer class is being provisioned. Pure."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if meta.get("deletionTimestamp") or spec.get("nodeName"):
        return False
    if (pod.get("status") or {}).get("phase", "Pending") != "Pending":
        return False
    return bool(pod_claims(pod))


def conditions(obj: JSON) -> dict[str, JSON]:
    """An object's status conditions (a pod's, a workload's, a custom resource's) keyed by type."""
    return {str(c.get("type")): c for c in (obj.get("status") or {}).get("conditions") or []}


def describe_conditions(pod: JSON) -> list[str]:
    lines = []
    for ctype, c in conditions(pod).items():
        extra = ": ".join(p for p in (c.get("reason"), c.get("message")) if p)
        lines.append(f"{ctype}={c.get('status')}" + (f" ({extra})" if extra else ""))
    return lines


def event_time(event: JSON) -> str:
    """The best timestamp an event has (RFC 3339 strings sort in time order)."""
    series = event.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def describe_events(events: Iterable[JSON], *, limit: int | None = None) -> list[str]:
    """Events sorted by time, one line each: time, type, reason, object, count, message."""
    ordered = sorted(events, key=event_time)
    if limit is not None:
        ordered = ordered[-limit:]
    lines = []
    for ev in ordered:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        count = int(ev.get("count") or (ev.get("series") or {}).get("count") or 1)
        times = f" (x{count})" if count > 1 else ""
        lines.append(
            f"{event_time(ev) or '-':20} {ev.get('type', ''):7} {ev.get('reason', ''):22} "
            f"{obj.get('kind', '')}/{obj.get('name', '')}{times}: {str(ev.get('message', '')).strip()}"
        )
    return lines


def summary(pod: JSON) -> str:
    """Phase, conditions and each container's state, several lines, for messages."""
    status = pod.get("status") or {}
    lines = [f"phase: {status.get('phase', 'Unknown')}"]
    if status.get("reason") or status.get("message"):
        lines[0] += f" ({': '.join(p for p in (status.get('reason'), status.get('message')) if p)})"
    conds = describe_conditions(pod)
    if conds:
        lines.append("conditions: " + ", ".join(conds))
    lines += ["container " + c.describe() for c in container_states(pod)]
    return "\n".join(lines)
