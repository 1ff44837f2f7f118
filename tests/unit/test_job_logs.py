"""A failed Job's pod log: which runs are read as they fail, and how the report fills in what can no
longer be read. Pure, on literal pods shaped as the API server sends them."""

from __future__ import annotations

from pytest_pods import workloads as w
from tests.unit.podjson import pod, running, terminated


def test_a_run_that_exited_non_zero_is_named_by_its_restart_count() -> None:
    assert w.failed_runs(pod(containers=("main",), phase="Running", statuses=[terminated("main", 6)])) == [
        ("main", 0, False)
    ]
    again = running("main")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    assert w.failed_runs(pod(containers=("main",), phase="Running", statuses=[again])) == [("main", 0, True)]
    assert w.failed_runs(pod(containers=("main",), phase="Succeeded", statuses=[terminated("main", 0)])) == []
    assert w.failed_runs(pod(containers=("main",), phase="Running", statuses=[running("main")])) == []


def test_a_kept_log_fills_in_for_a_pod_that_is_gone() -> None:
    """restartPolicy OnFailure: the pod as last seen runs again (restart 1); the failed run's log was
    read when it exited (run 0), before the Job controller deleted the pod."""
    again = running("main")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    gone = pod(containers=("main",), phase="Running", statuses=[again], deleting=True)
    read = {("main", False): '(no log: pods "p" not found)', ("main", True): '(no log: pods "p" not found)'}
    logs = w.with_kept_logs(gone, read, {("main", 0): "job-broke\n"})
    assert logs == {("main", True): "job-broke\n"}  # the run after it left no log, and it is gone


def test_a_log_read_now_wins_and_nothing_kept_leaves_the_reason() -> None:
    failed = pod(containers=("main",), phase="Failed", statuses=[terminated("main", 3)])
    assert w.with_kept_logs(failed, {("main", False): "all of it\n"}, {("main", 0): "some\n"}) == {
        ("main", False): "all of it\n"
    }
    assert w.with_kept_logs(failed, {("main", False): "(no log: gone)"}, {}) == {
        ("main", False): "(no log: gone)"
    }
