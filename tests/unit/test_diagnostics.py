from __future__ import annotations

from pathlib import Path

from pytest_pods.diagnostics import KubectlCommands, render_pod
from tests.unit.podjson import cond, event, pod, running, waiting


def test_render_pod_has_state_events_logs_and_commands() -> None:
    p = pod(
        phase="Running",
        containers=("web", "side"),
        statuses=[
            running("web"),
            waiting("side", "CrashLoopBackOff", "back-off 10s", restarts=2, last_exit=1),
        ],
        conditions=[cond("Ready", "False", "ContainersNotReady")],
    )
    events = [event("BackOff", "Back-off restarting", "2026-01-01T00:00:09Z")]
    logs = {
        ("web", False): "a\nb\nc\n",
        ("side", False): "",
        ("side", True): "\n".join(f"l{i}" for i in range(50)),
    }
    text = render_pod(p, events, logs, KubectlCommands(Path("/k/config"), "ctx", "ns1"), log_lines=5)
    assert "pod ns1/p: phase Running, node node1, IP 10.0.0.5" in text
    assert "conditions: Ready=False (ContainersNotReady)" in text
    assert (
        "side: waiting (CrashLoopBackOff: back-off 10s), ready false, restarts 2, "
        "last terminated: Error exit code 1" in text
    )
    assert "BackOff" in text and "Back-off restarting" in text
    assert "log of side before its last restart (last 5 lines):\n  l45\n  l46\n  l47\n  l48\n  l49" in text
    assert "log of side: (empty)" in text
    assert "kubectl --kubeconfig /k/config --context ctx -n ns1 describe pod p" in text
    assert "kubectl --kubeconfig /k/config --context ctx -n ns1 logs p -c side --previous" in text
    assert "kubectl --kubeconfig /k/config --context ctx -n ns1 logs p -c web --previous" not in text
    assert "exec -it p -c web -- sh" in text
    assert "--pods-keep-namespace=on-failure" in text


def test_kept_namespace_offers_the_delete_command() -> None:
    text = render_pod(pod(), [], {}, KubectlCommands(Path("/k c"), None, "ns1", kept=True))
    assert "kubectl --kubeconfig '/k c' delete namespace ns1" in text
    assert "being deleted" not in text
    assert "events: (none)" in text
