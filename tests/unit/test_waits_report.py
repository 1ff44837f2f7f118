"""The failure report: its text, a workload's status, and the logs of a Job's failed runs kept. Pure."""

from __future__ import annotations

from pytest_pods.waits import report as r
from pytest_pods.waits.claims import claim_verdict
from pytest_pods.waits.report import failure_report
from pytest_pods.waits.verdicts import HINTS
from tests.unit.podjson import cond, deployment, event, pod, running, terminated, waiting


def test_failure_report_lists_phase_containers_events_and_hint() -> None:
    p = pod(statuses=[waiting("web", "ImagePullBackOff", "Back-off pulling image")])
    events = [
        event("Failed", "pull failed", "2026-01-01T00:00:02Z"),
        event("Scheduled", "assigned", "2026-01-01T00:00:01Z", type="Normal"),
    ]
    text = failure_report(p, events, "check the image")
    assert "phase: Pending" in text
    assert "web: waiting (ImagePullBackOff: Back-off pulling image)" in text
    assert text.index("Scheduled") < text.index("pull failed")
    assert text.endswith("hint: check the image")


def test_failure_report_without_pod() -> None:
    assert failure_report(None, []) == "the pod does not exist"


def test_failure_report_has_the_log_lines() -> None:
    text = failure_report(
        pod(phase="Running", statuses=[terminated("web", 3)]),
        [],
        HINTS["Error"],
        {("web", False): "one\nabout-to-fail\n", ("web", True): ""},
    )
    assert "last log lines of web:\n  one\n  about-to-fail" in text
    assert "last log lines of web before its restart: (empty)" in text


def test_describe_names_counts_and_conditions() -> None:
    text = r.describe(
        deployment(
            replicas=2,
            updatedReplicas=1,
            conditions=[cond("Available", "False", "MinimumReplicasUnavailable")],
        )
    )
    assert "generation 2" in text and "updatedReplicas 1" in text
    assert "condition Available=False (MinimumReplicasUnavailable)" in text


def test_a_run_that_exited_non_zero_is_named_by_its_restart_count() -> None:
    assert r.failed_runs(pod(containers=("main",), phase="Running", statuses=[terminated("main", 6)])) == [
        ("main", 0, False)
    ]
    again = running("main")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    assert r.failed_runs(pod(containers=("main",), phase="Running", statuses=[again])) == [("main", 0, True)]
    assert r.failed_runs(pod(containers=("main",), phase="Succeeded", statuses=[terminated("main", 0)])) == []
    assert r.failed_runs(pod(containers=("main",), phase="Running", statuses=[running("main")])) == []


def test_a_kept_log_fills_in_for_a_pod_that_is_gone() -> None:
    """restartPolicy OnFailure: the pod as last seen runs again (restart 1); the failed run's log was
    read when it exited (run 0), before the Job controller deleted the pod."""
    again = running("main")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    gone = pod(containers=("main",), phase="Running", statuses=[again], deleting=True)
    read = {("main", False): '(no log: pods "p" not found)', ("main", True): '(no log: pods "p" not found)'}
    logs = r.with_kept_logs(gone, read, {("main", 0): "job-broke\n"})
    assert logs == {("main", True): "job-broke\n"}  # the run after it left no log, and it is gone


def test_a_log_read_now_wins_and_nothing_kept_leaves_the_reason() -> None:
    failed = pod(containers=("main",), phase="Failed", statuses=[terminated("main", 3)])
    assert r.with_kept_logs(failed, {("main", False): "all of it\n"}, {("main", 0): "some\n"}) == {
        ("main", False): "all of it\n"
    }
    assert r.with_kept_logs(failed, {("main", False): "(no log: gone)"}, {}) == {
        ("main", False): "(no log: gone)"
    }


def test_a_missing_claims_error_promises_the_reason_claim_volume_and_hint_and_no_more() -> None:
    """The claim check may decide before the scheduler has said a word: the error names the reason,
    the claim, its volume and the hint without it, and shows the scheduler's event when there is one."""
    user = pod()
    del user["spec"]["nodeName"]
    user["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "shraed"}}]
    verdict = claim_verdict(user, {"shraed": None})
    assert verdict is not None
    err = r.pod_failed("ns", "p", user, verdict, [])
    text = str(err)
    assert err.reason == "ClaimNotFound"
    assert "volume 'data' uses PersistentVolumeClaim 'shraed', which does not exist" in text
    assert "hint: fix the volume's claimName" in text
    assert "not found" not in text.replace("does not exist", "")
    said = event(
        "FailedScheduling",
        '0/1 nodes are available: persistentvolumeclaim "shraed" not found.',
        "2026-01-01T00:00:01Z",
    )
    assert 'persistentvolumeclaim "shraed" not found' in str(r.pod_failed("ns", "p", user, verdict, [said]))
