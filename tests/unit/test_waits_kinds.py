"""When each kind is up (kubectl rollout status, kstatus), a workload's pods, the registry of kinds,
and kubectl wait's checks. Pure."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_pods.discovery import Resource
from pytest_pods.waits import kinds as k
from pytest_pods.waits import kubectl, loop
from pytest_pods.waits.verdicts import Verdict, pending, success
from tests.unit.podjson import (
    CLUSTER_ROLE,
    CRD,
    DEPLOYMENT,
    JOB,
    OTHER_DEPLOYMENT,
    POD,
    PVC,
    SERVICE,
    WIDGET,
    cond,
    deployment,
    labelled,
    pod,
    running,
    terminated,
    waiting,
)


def test_deployment_waits_for_the_controller_to_observe_the_generation() -> None:
    v = k.deployment_verdict(deployment(observed=1, updatedReplicas=2, replicas=2, availableReplicas=2))
    assert not v.done and "generation 2" in v.detail


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ({"updatedReplicas": 1, "replicas": 2, "availableReplicas": 1}, "1 of 2 new replicas"),
        ({"updatedReplicas": 2, "replicas": 3, "availableReplicas": 2}, "1 old replicas"),
        ({"updatedReplicas": 2, "replicas": 2, "availableReplicas": 1}, "1 of 2 updated replicas"),
    ],
)
def test_deployment_rollout_in_progress_as_kubectl_says(status: dict[str, int], says: str) -> None:
    v = k.deployment_verdict(deployment(**status))
    assert not v.done and says in v.detail


def test_deployment_rolled_out() -> None:
    v = k.deployment_verdict(deployment(updatedReplicas=2, replicas=2, availableReplicas=2))
    assert (v.done, v.ok) == (True, True)


def test_deployment_with_zero_replicas_is_rolled_out() -> None:
    assert k.deployment_verdict(deployment(want=0)).ok


def test_deployment_progress_deadline_fails() -> None:
    d = deployment(conditions=[cond("Progressing", "False", "ProgressDeadlineExceeded", "too slow")])
    v = k.deployment_verdict(d)
    assert (v.done, v.ok, v.reason) == (True, False, "ProgressDeadlineExceeded")


def test_replicaset_replica_failure_and_ready() -> None:
    rs: dict[str, Any] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1},
    }
    rs["status"]["conditions"] = [cond("ReplicaFailure", "True", "FailedCreate", "exceeded quota")]
    assert k.replicaset_verdict(rs).reason == "ReplicaFailure"
    rs["status"] = {
        "observedGeneration": 1,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
    }
    assert not k.replicaset_verdict(rs).done
    rs["status"]["availableReplicas"] = 2
    assert k.replicaset_verdict(rs).ok


def statefulset(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, **status},
    }


def test_statefulset_as_kubectl_rollout_status() -> None:
    assert not k.statefulset_verdict(statefulset(readyReplicas=1)).done
    s = statefulset(readyReplicas=2, updatedReplicas=1, currentRevision="a", updateRevision="b")
    assert not k.statefulset_verdict(s).done
    assert k.statefulset_verdict(statefulset(readyReplicas=2, currentRevision="b", updateRevision="b")).ok
    part = statefulset(readyReplicas=2, updatedReplicas=1, currentRevision="a", updateRevision="b")
    part["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}
    assert k.statefulset_verdict(part).ok


def test_daemonset_as_kubectl_rollout_status() -> None:
    ds: dict[str, Any] = {"metadata": {"generation": 3}, "spec": {}, "status": {"observedGeneration": 3}}
    ds["status"].update(desiredNumberScheduled=1, updatedNumberScheduled=1, numberAvailable=0)
    assert "0 of 1 updated pods available" in k.daemonset_verdict(ds).detail
    ds["status"]["numberAvailable"] = 1
    assert k.daemonset_verdict(ds).ok


def test_job_complete_failed_and_running() -> None:
    job: dict[str, Any] = {"spec": {}, "status": {"active": 1}}
    assert not k.job_verdict(job).done
    # SuccessCriteriaMet comes first, before the pods are finalised and status.succeeded is written
    job["status"]["conditions"] = [cond("SuccessCriteriaMet", "True")]
    assert not k.job_verdict(job).done
    job["status"]["conditions"] = [cond("SuccessCriteriaMet", "True"), cond("Complete", "True")]
    assert k.job_verdict(job).ok
    job["status"]["conditions"] = [
        cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the limit")
    ]
    assert (k.job_verdict(job).reason, k.job_verdict(job).ok) == ("BackoffLimitExceeded", False)
    job["status"]["conditions"] = [cond("Failed", "True", "PodFailurePolicy", "rule matched")]
    assert k.job_verdict(job).reason == "JobFailed"


def test_label_selector_and_matching() -> None:
    sel = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert k.label_selector(sel) == "app=web,tier in (a,b),!canary"
    assert k.matches({"app": "web", "tier": "a"}, sel)
    assert not k.matches({"app": "web", "tier": "c"}, sel)
    assert not k.matches({"app": "web", "tier": "a", "canary": "1"}, sel)
    assert not k.matches({"app": "web"}, {})
    plain = {"rc": "legacy", "app": "web"}  # a ReplicationController's selector: a map of labels
    assert k.label_selector(plain) == "app=web,rc=legacy"
    assert k.matches({"rc": "legacy", "app": "web", "x": "y"}, plain) and not k.matches(
        {"rc": "legacy"}, plain
    )


def test_a_workload_pod_with_a_fail_fast_reason_is_found() -> None:
    pods = [
        labelled(pod(phase="Running", statuses=[running("web")]), "web-1"),
        labelled(pod(statuses=[waiting("web", "ImagePullBackOff")]), "web-2"),
    ]
    found = k.failing_pod(k.pods_of(deployment(), pods))
    assert found is not None
    assert (found[0]["metadata"]["name"], found[1].reason) == ("web-2", "ImagePullBackOff")


def test_pods_the_controller_replaces_do_not_fail_the_workload() -> None:
    deleting = labelled(pod(statuses=[waiting("web", "ImagePullBackOff")], deleting=True), "old")
    evicted = labelled(pod(phase="Failed"), "evicted")
    evicted["status"]["reason"] = "Evicted"
    assert k.failing_pod([deleting, evicted]) is None


def test_a_job_retries_failed_pods_but_not_pods_that_cannot_start() -> None:
    failed = labelled(pod(phase="Failed", statuses=[terminated("web", 3)]), "try-1")
    assert k.failing_pod([failed], runs_to_completion=True) is None
    stuck = labelled(pod(statuses=[waiting("web", "ErrImagePull")]), "try-2")
    assert k.failing_pod([failed, stuck], runs_to_completion=True) is not None
    found = k.job_pod_reason([failed])
    assert found is not None and "exited 3" in found[1].detail
    # under OnFailure a crash loop is the Job's retry, counted against its backoffLimit: not a verdict
    looping = labelled(pod(statuses=[waiting("web", "CrashLoopBackOff")]), "try-3")
    assert k.failing_pod([looping], runs_to_completion=True) is None
    assert k.failing_pod([looping]) is not None  # a Deployment's crash loop fails at once
    restarted = {
        "name": "web",
        "restartCount": 1,
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 6, "reason": "Error"}},
    }
    looped = labelled(pod(statuses=[restarted]), "try-4")
    found = k.job_pod_reason([looped])  # the Job failed: its pod's last run says why
    assert found is not None and found[1].reason == "Error" and "6" in found[1].detail


def test_condition_and_jsonpath_checks() -> None:
    d = deployment(conditions=[cond("Available", "True")], readyReplicas=2)
    assert kubectl.condition_check("Available")(d)
    assert kubectl.condition_check("available=true")(d)
    assert not kubectl.condition_check("Available=False")(d)
    assert kubectl.jsonpath_check("{.status.readyReplicas}=2")(d)
    assert not kubectl.jsonpath_check("{.status.readyReplicas}=3")(d)
    assert kubectl.jsonpath_check("{.status.readyReplicas}")(d)
    assert not kubectl.jsonpath_check("{.status.missing}")(d)
    assert kubectl.jsonpath_check('{.status.conditions[?(@.type=="Available")].status}=True')(d)


def test_a_failed_jobs_pod_being_deleted_tells_its_last_exit() -> None:
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    deleting = labelled(pod(phase="Running", statuses=[again], deleting=True), "try-1")
    found = k.job_pod_reason([deleting])
    assert found is not None and found[1].reason == "Error" and "exited 6" in found[1].detail


# --- the registry of kinds -----------------------------------------------------------------------


class Facts:
    def __init__(self, classes: list[dict[str, Any]], events: list[dict[str, Any]] | None = None) -> None:
        self.classes, self.said = classes, events or []
        self.asked: list[str] = []

    def storage_classes(self) -> list[dict[str, Any]]:
        return self.classes

    def events(self, name: str) -> list[dict[str, Any]]:
        self.asked.append(name)
        return self.said


def test_the_waited_kinds_are_pods_the_registry_and_custom_resources() -> None:
    assert list(k.UP) == [
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "PersistentVolumeClaim",
        "CustomResourceDefinition",
    ]
    assert [k.waited(r) for r in (POD, DEPLOYMENT, JOB, PVC, CRD, WIDGET, OTHER_DEPLOYMENT)] == [True] * 7
    assert not k.waited(SERVICE) and not k.waited(CLUSTER_ROLE)  # built-in, without a notion of up
    assert k.builtin_group("") and k.builtin_group("apps") and k.builtin_group("rbac.authorization.k8s.io")
    assert not k.builtin_group("toys.pytest-pods.test")


def test_each_kind_judges_through_its_entry() -> None:
    rolled = deployment(updatedReplicas=2, replicas=2, availableReplicas=2)
    assert k.up_of(DEPLOYMENT).verdict(rolled, Facts([])).reason == "RolledOut"
    facts = Facts([{"metadata": {"name": "s"}, "volumeBindingMode": "Immediate"}])
    claim = {
        "metadata": {"name": "data"},
        "spec": {"storageClassName": "nope"},
        "status": {"phase": "Pending"},
    }
    assert k.up_of(PVC).verdict(claim, facts).reason == "StorageClassNotFound"
    assert facts.asked == ["data"]  # the PVC's own events
    job, pvc = k.up_of(JOB), k.up_of(PVC)
    assert (job.pods, job.holds, job.runs_to_completion) == (True, False, True)
    assert (pvc.pods, pvc.holds) == (False, False)
    # any other kind is judged by the generic verdict, a same-named kind of another group too
    assert k.up_of(SERVICE) is k.GENERIC and k.up_of(WIDGET) is k.GENERIC
    assert k.up_of(OTHER_DEPLOYMENT) is k.GENERIC and k.up_of(CRD) is k.UP["CustomResourceDefinition"]
    with pytest.raises(ValueError, match="waited for as a pod"):
        k.up_of(POD)


def test_a_new_kind_of_wait_is_one_verdict_and_one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """E.g. a CronJob is up once it has been scheduled: one function, one entry in UP."""

    def cronjob_verdict(obj: dict[str, Any]) -> Verdict:
        scheduled = (obj.get("status") or {}).get("lastScheduleTime")
        return success("Scheduled") if scheduled else pending("not scheduled yet")

    cronjob = Resource("batch", "v1", "CronJob", "cronjobs")
    monkeypatch.setitem(k.UP, "CronJob", k.Up(k.alone(cronjob_verdict), "batch", pods=False, holds=False))
    target = loop.up_target(cronjob, "nightly")
    assert (target.kind, target.streamed, target.up) == ("CronJob", False, k.UP["CronJob"])
    assert k.up_of(cronjob).verdict({"status": {"lastScheduleTime": "t"}}, Facts([])).ok


# --- a CRD, and any other kind (a custom resource) ------------------------------------------------


def crd(**conditions: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "widgets.toys.pytest-pods.test", "generation": 1},
        "status": {"conditions": [cond(t, s, reason=f"Is{s}") for t, s in conditions.items()]},
    }


def test_a_crd_is_up_once_established_with_its_names_accepted() -> None:
    assert k.crd_verdict(crd(NamesAccepted="True", Established="True")).reason == "Established"
    for not_yet in (crd(), crd(NamesAccepted="True"), crd(NamesAccepted="True", Established="False")):
        v = k.crd_verdict(not_yet)
        assert not v.done and "Established" in v.detail
    refused = k.crd_verdict(crd(NamesAccepted="False", Established="False"))
    assert (refused.done, refused.ok, refused.reason) == (True, False, "IsFalse")
    assert k.crd_verdict(crd(Established="True")).done is False  # names not yet accepted


def cr(status: dict[str, Any] | None, generation: int = 1) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": "w", "generation": generation}}
    if status is not None:
        obj["status"] = status
    return obj


def conds(*items: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {"conditions": list(items), **status}


@pytest.mark.parametrize(
    ("obj", "done", "ok", "reason"),
    [
        (cr(None), True, True, "Exists"),
        (cr({}), True, True, "Exists"),
        (cr({"phase": "Whatever"}), True, True, "Current"),
        (cr(conds(cond("Ready", "True"))), True, True, "Ready"),
        (cr(conds(cond("Ready", "True"), observedGeneration=1), generation=2), False, False, "InProgress"),
        (cr(conds(cond("Ready", "True"), observedGeneration=2), generation=2), True, True, "Ready"),
        (
            cr(conds(cond("Ready", "False", reason="NoBattery", message="out of power"))),
            True,
            False,
            "NoBattery",
        ),
        (cr(conds(cond("Ready", "False"))), False, False, "InProgress"),
        (cr(conds(cond("Ready", "Unknown", reason="Starting"))), False, False, "InProgress"),
        (
            cr(conds(cond("Ready", "Unknown"), cond("Stalled", "True", reason="Wedged"))),
            True,
            False,
            "Wedged",
        ),
        (cr(conds(cond("Failed", "True", reason="Broke"))), True, False, "Broke"),
        (cr(conds(cond("Failed", "False"), cond("Stalled", "False"))), True, True, "Current"),
        (cr(conds(cond("Reconciling", "True", reason="Working"))), False, False, "InProgress"),
        (cr(conds(cond("Reconciling", "False"), cond("Synced", "True"))), True, True, "Current"),
    ],
)
def test_a_custom_resource_by_the_generic_rules(
    obj: dict[str, Any], done: bool, ok: bool, reason: str
) -> None:
    v = k.generic_verdict(obj)
    assert (v.done, v.ok, v.reason) == (done, ok, reason)


def test_the_generic_verdict_says_what_it_waits_for() -> None:
    assert "generation 2" in k.generic_verdict(cr(conds(observedGeneration=1), generation=2)).detail
    assert k.generic_verdict(
        cr(conds(cond("Ready", "False", reason="NoBattery", message="out of power")))
    ).detail == ("out of power")
    assert (
        k.generic_verdict(cr(conds(cond("Reconciling", "True", message="step 2 of 3")))).detail
        == "step 2 of 3"
    )
