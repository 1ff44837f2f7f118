"""The failure report: what a failed test's pods looked like, and how to look yourself.

``render_pod`` is pure (pod JSON, events, logs in; text out); ``collect`` fetches those for every pod
of a namespace and renders one section per pod.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pytest_pods import podstate
from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube
from pytest_pods.waits import read_log

LOG_LINES = 30


@dataclass(frozen=True)
class KubectlCommands:
    """How a human reaches the namespace with kubectl."""

    kubeconfig: Path | None
    context: str | None
    namespace: str
    kept: bool = False

    def kubectl(self, *args: str) -> str:
        argv = ["kubectl"]
        if self.kubeconfig:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        argv += ["-n", self.namespace, *args]
        return shlex.join(argv)


def _tail(text: str, lines: int) -> list[str]:
    return text.rstrip("\n").splitlines()[-lines:] if text.strip() else []


def render_pod(
    pod: JSON,
    events: Sequence[JSON],
    logs: Mapping[tuple[str, bool], str],
    where: KubectlCommands,
    *,
    log_lines: int = LOG_LINES,
) -> str:
    """One pod's section: phase and conditions, each container's state, the namespace's events
    (oldest first), the last log lines (and the previous container's, if it restarted), and
    kubectl commands. ``logs`` maps ``(container, previous)`` to log text."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    name = str(meta.get("name"))
    out = [
        f"pod {where.namespace}/{name}: phase {status.get('phase', 'Unknown')}"
        + (f" ({status.get('reason')}: {status.get('message', '')})" if status.get("reason") else "")
        + f", node {spec.get('nodeName') or '-'}, IP {status.get('podIP') or '-'}"
    ]
    conds = podstate.describe_conditions(pod)
    out.append("conditions: " + (", ".join(conds) if conds else "(none yet)"))
    out.append("containers:")
    states = podstate.container_states(pod)
    out += [f"  {c.describe()}" for c in states]
    ev = podstate.describe_events(events)
    out.append(f"events in namespace {where.namespace} (oldest first):" if ev else "events: (none)")
    out += [f"  {e}" for e in ev]
    for (container, previous), text in logs.items():
        label = f"log of {container}" + (" before its last restart" if previous else "")
        lines = _tail(text, log_lines)
        out.append(f"{label} (last {log_lines} lines):" if lines else f"{label}: (empty)")
        out += [f"  {line}" for line in lines]
    out.append("look at it yourself:")
    if not where.kept:
        out.append("  (the namespace is being deleted; run with --pods-keep-namespace=on-failure to keep it)")
    out.append(f"  {where.kubectl('describe', 'pod', name)}")
    out.append(f"  {where.kubectl('get', 'events', '--sort-by=.lastTimestamp')}")
    for c in states:
        out.append(f"  {where.kubectl('logs', name, '-c', c.name)}")
        if c.restarts:
            out.append(f"  {where.kubectl('logs', name, '-c', c.name, '--previous')}")
    first = next((c.name for c in states if not c.init), None)
    if first:
        out.append(f"  {where.kubectl('exec', '-it', name, '-c', first, '--', 'sh')}")
    if where.kept:
        out.append(
            f"  kubectl --kubeconfig {shlex.quote(str(where.kubeconfig))} delete namespace {where.namespace}"
            if where.kubeconfig
            else f"  kubectl delete namespace {where.namespace}"
        )
    return "\n".join(out)


def collect(kube: Kube, where: KubectlCommands, *, log_lines: int = LOG_LINES) -> list[tuple[str, str]]:
    """``(title, text)`` for each pod of the namespace; best effort (an API error becomes the text)."""
    try:
        pods = (
            kube.request("GET", f"/api/v1/namespaces/{where.namespace}/pods", timeout=10).get("items") or []
        )
        events = (
            kube.request("GET", f"/api/v1/namespaces/{where.namespace}/events", timeout=10).get("items") or []
        )
    except ApiError as exc:
        return [(f"pods in {where.namespace}", f"could not read the namespace: {exc}")]
    sections = []
    for pod in pods:
        name = str(pod["metadata"]["name"])
        logs: dict[tuple[str, bool], str] = {}
        for c in podstate.container_states(pod):
            if c.state in ("running", "terminated") or c.restarts:
                logs[(c.name, False)] = read_log(kube, where.namespace, name, c.name, lines=log_lines)
            if c.restarts:
                logs[(c.name, True)] = read_log(
                    kube, where.namespace, name, c.name, previous=True, lines=log_lines
                )
        sections.append(
            (f"pod {where.namespace}/{name}", render_pod(pod, events, logs, where, log_lines=log_lines))
        )
    return sections
