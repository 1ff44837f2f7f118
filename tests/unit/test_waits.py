from __future__ import annotations

import pytest

from pytest_pods.waits import classify_ready, classify_running, failure_report
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
