from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_pods.waits import (
    FAIL_FAST_REASONS,
    HINTS,
    RECHECK_SECONDS,
    REPORT_LAG,
    STARTED_AT_SLACK,
    WAITING_REASONS,
    Hold,
    classify_held,
    classify_ready,
    classify_running,
    fail_fast_table,
    failure_report,
    last_termination,
    restart_counts,
)
from pytest_pods.witness import Key, Sight
from tests.unit.podjson import cond, pod, running, terminated, waiting


def test_ready_condition_is_success() -> None:
    v = classify_ready(pod(phase="Running", statuses=[running("web")], conditions=[cond("Ready", "True")]))
    assert (v.done, v.ok, v.reason) == (True, True, "Ready")


def test_running_but_not_ready_keeps_waiting() -> None:
    v = classify_ready(
        pod(phase="Running", statuses=[running("web", ready=False)], conditions=[cond("Ready", "False")])
    )
    assert not v.done


def test_container_creating_keeps_waiting() -> None:
    assert not classify_ready(pod(statuses=[waiting("web", "ContainerCreating")])).done


@pytest.mark.parametrize(
    "reason",
    [
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
    ],
)
def test_fail_fast_reasons(reason: str) -> None:
    v = classify_ready(
        pod(statuses=[running("a"), waiting("web", reason, "details here")], containers=("a", "web"))
    )
    assert (v.done, v.ok, v.reason) == (True, False, reason)
    assert "container 'web'" in v.detail
    assert "details here" in v.detail


def test_fail_fast_reason_of_an_init_container() -> None:
    v = classify_ready(pod(init=("setup",), init_statuses=[waiting("setup", "ImagePullBackOff")]))
    assert v.reason == "ImagePullBackOff"
    assert "setup" in v.detail


def test_crashloop_names_last_exit_code() -> None:
    v = classify_ready(pod(statuses=[waiting("web", "CrashLoopBackOff", restarts=2, last_exit=1)]))
    assert "last exit code 1" in v.detail
    assert "restarts 2" in v.detail


def test_unschedulable() -> None:
    p = pod(
        conditions=[
            cond("PodScheduled", "False", "Unschedulable", "0/1 nodes are available: 1 node(s) didn't match")
        ]
    )
    v = classify_ready(p)
    assert (v.done, v.ok, v.reason) == (True, False, "Unschedulable")
    assert "didn't match" in v.detail


def test_scheduled_false_for_another_reason_keeps_waiting() -> None:
    assert not classify_ready(pod(conditions=[cond("PodScheduled", "False", "SchedulingGated")])).done


def test_failed_phase_names_exit_codes() -> None:
    v = classify_ready(pod(phase="Failed", statuses=[terminated("web", 3)]))
    assert (v.done, v.ok) == (True, False)
    assert "exited 3" in v.detail


def test_succeeded_never_becomes_ready() -> None:
    v = classify_ready(pod(phase="Succeeded", statuses=[terminated("web", 0, "Completed")]))
    assert (v.done, v.ok, v.reason) == (True, False, "Completed")


def test_deleting_pod_fails() -> None:
    v = classify_ready(pod(phase="Running", deleting=True, conditions=[cond("Ready", "True")]))
    assert (v.done, v.ok, v.reason) == (True, False, "Terminating")


@pytest.mark.parametrize("reason", ["ContainerCreating", "PodInitializing"])
def test_transient_reasons_keep_waiting(reason: str) -> None:
    assert not classify_ready(pod(statuses=[waiting("web", reason, "in a moment")])).done
    assert not classify_ready(pod(init=("setup",), init_statuses=[waiting("setup", reason)])).done


def test_classify_running_accepts_running_without_readiness() -> None:
    p = pod(phase="Running", statuses=[running("web", ready=False)], conditions=[cond("Ready", "False")])
    assert classify_running(p).ok
    assert not classify_ready(p).done


def test_failure_report_lists_phase_containers_events_and_hint() -> None:
    p = pod(statuses=[waiting("web", "ImagePullBackOff", "Back-off pulling image")])
    events = [
        {
            "type": "Warning",
            "reason": "Failed",
            "message": "pull failed",
            "lastTimestamp": "2026-01-01T00:00:02Z",
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
        {
            "type": "Normal",
            "reason": "Scheduled",
            "message": "assigned",
            "lastTimestamp": "2026-01-01T00:00:01Z",
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
    ]
    text = failure_report(p, events, "check the image")
    assert "phase: Pending" in text
    assert "web: waiting (ImagePullBackOff: Back-off pulling image)" in text
    assert text.index("Scheduled") < text.index("pull failed")
    assert text.endswith("hint: check the image")


def test_failure_report_without_pod() -> None:
    assert failure_report(None, []) == "the pod does not exist"


# --- reasons that never heal, and Ready that holds ---------------------------------------------


def _with(p: dict[str, Any], **spec: Any) -> dict[str, Any]:
    p["spec"].update(spec)
    return p


def test_every_waiting_reason_is_in_the_one_list() -> None:
    assert WAITING_REASONS <= FAIL_FAST_REASONS
    assert {"OOMKilled", "Init:Error", "Init:CrashLoopBackOff", "Evicted", "DeadlineExceeded"} <= (
        FAIL_FAST_REASONS
    )
    assert set(HINTS) == FAIL_FAST_REASONS


@pytest.mark.parametrize("reason", ["CreateContainerError", "RunContainerError", "ErrImageNeverPull"])
def test_runtime_and_never_pull_reasons_fail_fast(reason: str) -> None:
    v = classify_ready(pod(statuses=[waiting("web", reason, "oci runtime said no")]))
    assert (v.done, v.ok, v.reason, v.container) == (True, False, reason, "web")
    assert "oci runtime said no" in v.detail


def test_oomkilled_terminated_fails_fast_even_under_always() -> None:
    v = classify_ready(pod(phase="Running", statuses=[terminated("web", 137, "OOMKilled")]))
    assert (v.reason, v.container) == ("OOMKilled", "web")


def test_crashloop_after_an_oom_kill_is_named_oomkilled() -> None:
    s = waiting("web", "CrashLoopBackOff", restarts=2, last_exit=137)
    s["lastState"]["terminated"]["reason"] = "OOMKilled"
    assert classify_ready(pod(phase="Running", statuses=[s])).reason == "OOMKilled"


def test_a_non_zero_exit_under_always_waits_for_the_crash_loop() -> None:
    assert not classify_ready(pod(phase="Running", statuses=[terminated("web", 3)])).done


def test_a_non_zero_exit_under_never_fails_at_once_before_the_phase_says_so() -> None:
    v = classify_ready(_with(pod(phase="Running", statuses=[terminated("web", 3)]), restartPolicy="Never"))
    assert (v.reason, v.container) == ("Error", "web")
    assert "exited 3" in v.detail and "no retry" in v.detail


def test_a_non_zero_exit_under_on_failure_waits_for_the_retry() -> None:
    p = _with(pod(phase="Running", statuses=[terminated("web", 3)]), restartPolicy="OnFailure")
    assert not classify_ready(p).done


@pytest.mark.parametrize("policy", ["Never", "OnFailure"])
def test_exit_zero_of_a_one_shot_pod_is_completed(policy: str) -> None:
    p = _with(pod(phase="Running", statuses=[terminated("web", 0, "Completed")]), restartPolicy=policy)
    assert classify_ready(p).reason == "Completed"


def test_init_error_and_init_crashloop() -> None:
    p = pod(
        init=("setup",), init_statuses=[terminated("setup", 2)], statuses=[waiting("web", "PodInitializing")]
    )
    v = classify_ready(p)
    assert (v.reason, v.container) == ("Init:Error", "setup")
    assert "exited 2" in v.detail
    p = pod(init=("setup",), init_statuses=[waiting("setup", "CrashLoopBackOff", restarts=1, last_exit=2)])
    assert classify_ready(p).reason == "Init:CrashLoopBackOff"


def test_a_finished_init_container_is_fine() -> None:
    p = pod(init=("setup",), init_statuses=[terminated("setup", 0, "Completed")], statuses=[running("web")])
    assert not classify_ready(p).done


def _sidecar_pod(sidecar_status: dict[str, Any], ready: str = "False") -> dict[str, Any]:
    p = pod(
        phase="Running",
        init=("shipper",),
        init_statuses=[sidecar_status],
        statuses=[running("web")],
        conditions=[cond("Ready", ready)],
    )
    p["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    return p


def test_a_crash_looping_sidecar_fails_fast_by_its_own_reason() -> None:
    v = classify_ready(_sidecar_pod(waiting("shipper", "CrashLoopBackOff", restarts=2, last_exit=1)))
    assert (v.reason, v.container) == ("CrashLoopBackOff", "shipper")


def test_a_sidecar_that_exited_is_not_an_init_error() -> None:
    assert not classify_ready(_sidecar_pod(terminated("shipper", 1))).done


def test_a_sidecar_is_watched_while_ready_holds() -> None:
    p = _sidecar_pod(running("shipper"), ready="True")
    baseline = restart_counts(p)
    assert baseline == {"shipper": 0, "web": 0}
    assert not classify_held(p, baseline).done
    v = classify_held(_sidecar_pod(terminated("shipper", 1), ready="False"), baseline)
    assert (v.reason, v.container) == ("Error", "shipper")


@pytest.mark.parametrize(
    ("status_reason", "message"),
    [
        ("Evicted", "The node was low on resource: ephemeral-storage."),
        ("DeadlineExceeded", "Pod was active too long"),
    ],
)
def test_failed_pod_reasons(status_reason: str, message: str) -> None:
    p = pod(phase="Failed", statuses=[terminated("web", 137)])
    p["status"].update(reason=status_reason, message=message)
    v = classify_ready(p)
    assert v.reason == status_reason
    assert message in v.detail


def test_held_ready_catches_a_restart_with_its_exit_code() -> None:
    ready = pod(phase="Running", statuses=[running("web")], conditions=[cond("Ready", "True")])
    baseline = restart_counts(ready)
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 3, "reason": "Error"}})
    v = classify_held(pod(phase="Running", statuses=[again], conditions=[cond("Ready", "True")]), baseline)
    assert (v.done, v.ok, v.reason, v.container) == (True, False, "Error", "web")
    assert "exited 3" in v.detail


@pytest.mark.parametrize(("code", "reason"), [(0, "Completed"), (137, "OOMKilled"), (3, "Error")])
def test_held_ready_catches_a_termination(code: int, reason: str) -> None:
    p = pod(phase="Running", statuses=[terminated("web", code, reason)])
    assert classify_held(p, {"web": 0}).reason == reason


def test_failure_report_has_the_log_lines() -> None:
    text = failure_report(
        pod(phase="Running", statuses=[terminated("web", 3)]),
        [],
        HINTS["Error"],
        {("web", False): "one\nabout-to-fail\n", ("web", True): ""},
    )
    assert "last log lines of web:\n  one\n  about-to-fail" in text
    assert "last log lines of web before its restart: (empty)" in text


def test_readme_fail_fast_table_is_the_code_list() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert fail_fast_table() in readme, (
        "regenerate: python -c 'from pytest_pods.waits import *; print(fail_fast_table())'"
    )
    rows = [line for line in readme.splitlines() if line.startswith("| `") and "|" in line[3:]]
    listed = {r.split("`")[1] for r in rows if r.split("`")[1] in FAIL_FAST_REASONS}
    assert listed == FAIL_FAST_REASONS


def _started(seconds_ago: float, wall: float, restarts: int = 0) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(int(wall - seconds_ago), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "name": "web",
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": stamp}},
    }


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return pod(phase="Running", statuses=[status], conditions=[cond("Ready", "True")])


def test_hold_on_the_status_alone_adds_the_kubelets_report_lag() -> None:
    """Without a witness, a status read at t proves a container alive only until t - REPORT_LAG."""
    wall = 1_800_000_000.0
    hold = Hold(1.0)
    p = _ready(_started(0.3, wall))
    assert hold.until(p, now=100.0, wall=wall) == pytest.approx(101.0 + REPORT_LAG)
    # later reads do not move the start: the window counts from the first sight
    assert hold.until(p, now=100.9, wall=wall + 0.9) == pytest.approx(101.0 + REPORT_LAG)


def test_hold_of_a_container_running_for_a_while_is_over_at_once() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    # started 10 s ago (on the node's clock, this machine's for local and kind): held already, and
    # the status alone proves it, so no stream is opened
    assert Hold(1.0, witness).until(_ready(_started(10, wall)), now=100.0, wall=wall) <= 100.0
    assert witness.asked == []
    # started 3 s ago: the kubelet reported it by startedAt + STARTED_AT_SLACK; the rest is left
    until = Hold(1.0).until(_ready(_started(3, wall)), now=100.0, wall=wall)
    assert until == pytest.approx(100.0 - 3 + STARTED_AT_SLACK + 1.0 + REPORT_LAG)


def test_hold_starts_anew_after_a_restart_and_waits_while_not_running() -> None:
    wall = 1_800_000_000.0
    hold = Hold(1.0)
    assert hold.until(_ready(_started(0, wall)), now=100.0, wall=wall) == pytest.approx(101.0 + REPORT_LAG)
    restarted = _ready(_started(0, wall + 2, restarts=1))
    assert hold.until(restarted, now=102.0, wall=wall + 2) == pytest.approx(103.0 + REPORT_LAG)
    stopped = pod(phase="Running", statuses=[terminated("web", 3)])
    assert hold.until(stopped, now=104.0, wall=wall + 4) == pytest.approx(105.0)
    assert Hold(0).until(_ready(_started(0, wall)), now=104.0, wall=wall) == 104.0


class FakeWitness:
    """A witness whose sights the test sets (the real one attaches to the container)."""

    def __init__(self) -> None:
        self.sights: dict[str, Sight] = {}
        self.asked: list[tuple[str, str, str, bool]] = []
        self.closed = False

    def sight(self, key: Key, namespace: str, pod: str, container: str, *, tty: bool = False) -> Sight:
        self.asked.append((namespace, pod, container, tty))
        return self.sights.setdefault(container, Sight())

    def close(self) -> None:
        self.closed = True


def test_a_container_seen_alive_by_its_stream_holds_without_the_report_lag() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    hold = Hold(1.0, witness)
    p = _ready(_started(0, wall))
    # the stream is still opening: look again soon, never later than the status alone would allow
    assert hold.until(p, now=100.0, wall=wall) == pytest.approx(101.0)
    assert witness.asked == [("ns", "p", "web", False)]
    # open since 100.02 and seen alive until 100.6 only: look again at the window's end
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=100.6)
    assert hold.until(p, now=100.6, wall=wall + 0.6) == pytest.approx(101.0)
    # at its end, not seen alive through it yet: look again a moment later (never after the status)
    assert hold.until(p, now=101.0, wall=wall + 1.0) == pytest.approx(101.0 + RECHECK_SECONDS)
    # seen alive through the window: held at its end, not REPORT_LAG later
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=101.01)
    assert hold.until(p, now=101.03, wall=wall + 1.03) == pytest.approx(101.0)


def test_a_stream_that_ended_or_was_refused_leaves_the_status_to_decide() -> None:
    wall = 1_800_000_000.0
    for why in ("the attach stream ended", "attach failed: forbidden"):
        witness = FakeWitness()
        witness.sights["web"] = Sight("lost", why=why)
        assert Hold(1.0, witness).until(_ready(_started(0, wall)), now=100.0, wall=wall) == pytest.approx(
            101.0 + REPORT_LAG
        )


def test_a_container_applied_ahead_holds_once_its_stream_opens() -> None:
    """Started 4 s ago: the status proves it alive only until 1.2 s ago, the open stream since it
    opened, which closes the window (it began at startedAt + STARTED_AT_SLACK at the latest)."""
    wall = 1_800_000_000.0
    witness = FakeWitness()
    hold = Hold(1.0, witness)
    p = _ready(_started(4, wall))
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=100.03)
    assert hold.until(p, now=100.05, wall=wall + 0.05) == pytest.approx(100.02)


def test_the_witness_is_told_a_tty_container_and_closed_with_the_hold() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    p = _ready(_started(0, wall))
    p["spec"] = {"containers": [{"name": "web", "tty": True}]}
    with Hold(1.0, witness) as hold:
        hold.until(p, now=100.0, wall=wall)
    assert witness.asked == [("ns", "p", "web", True)] and witness.closed


def test_last_termination_prefers_a_non_zero_exit() -> None:
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    v = last_termination(pod(phase="Running", statuses=[again], deleting=True))
    assert v is not None and (v.reason, v.container) == ("Error", "web")
    assert "exited 6" in v.detail and "restarts 1" in v.detail
    assert last_termination(pod(phase="Running", statuses=[running("web")])) is None
