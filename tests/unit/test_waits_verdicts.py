"""The pure verdicts on a pod's state: Ready, Running, the reasons that never heal, a broken hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_pods.waits.verdicts import (
    FAIL_FAST_REASONS,
    HINTS,
    WAITING_REASONS,
    classify_finished,
    classify_held,
    classify_ready,
    classify_running,
    fail_fast_table,
    last_termination,
    restart_counts,
)
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


def test_readme_fail_fast_table_is_the_code_list() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert fail_fast_table() in readme, (
        "regenerate: python -c 'from pytest_pods.waits import *; print(fail_fast_table())'"
    )
    rows = [line for line in readme.splitlines() if line.startswith("| `") and "|" in line[3:]]
    listed = {r.split("`")[1] for r in rows if r.split("`")[1] in FAIL_FAST_REASONS}
    assert listed == FAIL_FAST_REASONS


def test_last_termination_prefers_a_non_zero_exit() -> None:
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    v = last_termination(pod(phase="Running", statuses=[again], deleting=True))
    assert v is not None and (v.reason, v.container) == ("Error", "web")
    assert "exited 6" in v.detail and "restarts 1" in v.detail
    assert last_termination(pod(phase="Running", statuses=[running("web")])) is None


def test_a_pod_being_deleted_that_still_runs_is_running_but_never_becomes_ready() -> None:
    """Its grace period, a preStop hook: whatever talks to a pod reaches it; a wait for Ready fails."""
    p = pod(phase="Running", deleting=True, statuses=[running("web")], conditions=[cond("Ready", "True")])
    assert (classify_running(p).ok, classify_running(p).reason) == (True, "Running")
    assert classify_ready(p).reason == "Terminating"
    starting = pod(deleting=True, statuses=[waiting("web", "ContainerCreating")])
    v = classify_running(starting)
    assert (v.done, v.ok, v.reason) == (True, False, "Terminating")


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_finished_is_either_end_of_a_one_shot_pod(phase: str) -> None:
    """A ``helm test`` pod is done when it ends, either way: its outcome is the caller's to read."""
    v = classify_finished(pod(phase=phase, statuses=[terminated("web", 0 if phase == "Succeeded" else 1)]))
    assert (v.done, v.ok, v.reason) == (True, True, phase)


def test_finished_waits_while_it_runs_and_through_its_exit() -> None:
    assert not classify_finished(pod(phase="Running", statuses=[running("web")])).done
    # the container has exited 1 under restartPolicy Never, the pod's phase is not Failed yet: the
    # ready wait's "no retry will come" is no failure here, the pod is simply not at its end
    exited = pod(phase="Running", statuses=[terminated("web", 1)])
    exited["spec"]["restartPolicy"] = "Never"
    assert not classify_finished(exited).done


def test_finished_fails_at_once_when_the_pod_can_never_run() -> None:
    v = classify_finished(pod(statuses=[waiting("web", "ErrImagePull", "not found")]))
    assert (v.done, v.ok, v.reason) == (True, False, "ErrImagePull")
