"""The pure workload verdicts, on literal objects shaped as the API server sends them."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_pods import workloads as w
from tests.unit.podjson import cond, pod, running, terminated, waiting


def deployment(want: int = 2, generation: int = 2, observed: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": want, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": observed, **status},
    }


def test_deployment_waits_for_the_controller_to_observe_the_generation() -> None:
    v = w.deployment_verdict(deployment(observed=1, updatedReplicas=2, replicas=2, availableReplicas=2))
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
    v = w.deployment_verdict(deployment(**status))
    assert not v.done and says in v.detail


def test_deployment_rolled_out() -> None:
    v = w.deployment_verdict(deployment(updatedReplicas=2, replicas=2, availableReplicas=2))
    assert (v.done, v.ok) == (True, True)


def test_deployment_with_zero_replicas_is_rolled_out() -> None:
    assert w.deployment_verdict(deployment(want=0)).ok


def test_deployment_progress_deadline_fails() -> None:
    d = deployment(conditions=[cond("Progressing", "False", "ProgressDeadlineExceeded", "too slow")])
    v = w.deployment_verdict(d)
    assert (v.done, v.ok, v.reason) == (True, False, "ProgressDeadlineExceeded")


def test_replicaset_replica_failure_and_ready() -> None:
    rs: dict[str, Any] = {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1},
    }
    rs["status"]["conditions"] = [cond("ReplicaFailure", "True", "FailedCreate", "exceeded quota")]
    assert w.replicaset_verdict(rs).reason == "ReplicaFailure"
    rs["status"] = {
        "observedGeneration": 1,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
    }
    assert not w.replicaset_verdict(rs).done
    rs["status"]["availableReplicas"] = 2
    assert w.replicaset_verdict(rs).ok


def statefulset(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, **status},
    }


def test_statefulset_as_kubectl_rollout_status() -> None:
    assert not w.statefulset_verdict(statefulset(readyReplicas=1)).done
    s = statefulset(readyReplicas=2, updatedReplicas=1, currentRevision="a", updateRevision="b")
    assert not w.statefulset_verdict(s).done
    assert w.statefulset_verdict(statefulset(readyReplicas=2, currentRevision="b", updateRevision="b")).ok
    part = statefulset(readyReplicas=2, updatedReplicas=1, currentRevision="a", updateRevision="b")
    part["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}
    assert w.statefulset_verdict(part).ok


def test_daemonset_as_kubectl_rollout_status() -> None:
    ds: dict[str, Any] = {"metadata": {"generation": 3}, "spec": {}, "status": {"observedGeneration": 3}}
    ds["status"].update(desiredNumberScheduled=1, updatedNumberScheduled=1, numberAvailable=0)
    assert "0 of 1 updated pods available" in w.daemonset_verdict(ds).detail
    ds["status"]["numberAvailable"] = 1
    assert w.daemonset_verdict(ds).ok


def test_job_complete_failed_and_running() -> None:
    job: dict[str, Any] = {"spec": {}, "status": {"active": 1}}
    assert not w.job_verdict(job).done
    # SuccessCriteriaMet comes first, before the pods are finalised and status.succeeded is written
    job["status"]["conditions"] = [cond("SuccessCriteriaMet", "True")]
    assert not w.job_verdict(job).done
    job["status"]["conditions"] = [cond("SuccessCriteriaMet", "True"), cond("Complete", "True")]
    assert w.job_verdict(job).ok
    job["status"]["conditions"] = [
        cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the limit")
    ]
    assert (w.job_verdict(job).reason, w.job_verdict(job).ok) == ("BackoffLimitExceeded", False)
    job["status"]["conditions"] = [cond("Failed", "True", "PodFailurePolicy", "rule matched")]
    assert w.job_verdict(job).reason == "JobFailed"


def sc(name: str, *, default: bool = False, mode: str = "Immediate") -> dict[str, Any]:
    annotations = {w.DEFAULT_STORAGE_CLASS: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "volumeBindingMode": mode}


def pvc(phase: str = "Pending", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "data"}, "spec": spec, "status": {"phase": phase}}


def test_pvc_bound_is_up() -> None:
    assert w.pvc_verdict(pvc("Bound")).ok


def test_pvc_without_any_storage_class_fails_at_once() -> None:
    assert w.pvc_verdict(pvc()).reason == "NoDefaultStorageClass"
    v = w.pvc_verdict(pvc(storageClassName="fast"), [sc("standard", default=True)])
    assert v.reason == "StorageClassNotFound" and "standard" in v.detail


def test_pvc_pending_on_an_immediate_class_waits_and_wait_for_first_consumer_is_up() -> None:
    assert not w.pvc_verdict(pvc(), [sc("standard", default=True)]).done
    v = w.pvc_verdict(pvc(storageClassName="local"), [sc("local", mode="WaitForFirstConsumer")])
    assert (v.ok, v.reason) == (True, "WaitForFirstConsumer")


def test_pvc_static_binding_waits_and_provisioning_failure_fails() -> None:
    assert not w.pvc_verdict(pvc(volumeName="pv1")).done
    event = {"reason": "ProvisioningFailed", "message": "no space"}
    assert w.pvc_verdict(pvc(), [sc("s", default=True)], [event]).reason == "ProvisioningFailed"


def test_label_selector_and_matching() -> None:
    sel = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    assert w.label_selector(sel) == "app=web,tier in (a,b),!canary"
    assert w.matches({"app": "web", "tier": "a"}, sel)
    assert not w.matches({"app": "web", "tier": "c"}, sel)
    assert not w.matches({"app": "web", "tier": "a", "canary": "1"}, sel)
    assert not w.matches({"app": "web"}, {})


def labelled(p: dict[str, Any], name: str) -> dict[str, Any]:
    p["metadata"].update(name=name, labels={"app": "web"})
    return p


def test_a_workload_pod_with_a_fail_fast_reason_is_found() -> None:
    pods = [
        labelled(pod(phase="Running", statuses=[running("web")]), "web-1"),
        labelled(pod(statuses=[waiting("web", "ImagePullBackOff")]), "web-2"),
    ]
    found = w.failing_pod("Deployment", w.pods_of(deployment(), pods))
    assert found is not None
    assert (found[0]["metadata"]["name"], found[1].reason) == ("web-2", "ImagePullBackOff")


def test_pods_the_controller_replaces_do_not_fail_the_workload() -> None:
    deleting = labelled(pod(statuses=[waiting("web", "ImagePullBackOff")], deleting=True), "old")
    evicted = labelled(pod(phase="Failed"), "evicted")
    evicted["status"]["reason"] = "Evicted"
    assert w.failing_pod("Deployment", [deleting, evicted]) is None


def test_a_job_retries_failed_pods_but_not_pods_that_cannot_start() -> None:
    failed = labelled(pod(phase="Failed", statuses=[terminated("web", 3)]), "try-1")
    assert w.failing_pod("Job", [failed]) is None
    stuck = labelled(pod(statuses=[waiting("web", "ErrImagePull")]), "try-2")
    assert w.failing_pod("Job", [failed, stuck]) is not None
    found = w.job_pod_reason([failed])
    assert found is not None and "exited 3" in found[1].detail


def test_held_finds_a_pod_that_restarted_since_it_was_up() -> None:
    up = labelled(pod(phase="Running", statuses=[running("web")]), "web-1")
    baseline = {"web-1": {"web": 0}}
    assert w.held(baseline, [up]) is None
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
    found = w.held(baseline, [labelled(pod(phase="Running", statuses=[again]), "web-1")])
    assert found is not None and found[1].reason == "OOMKilled"


def test_kind_names_like_kubectl() -> None:
    assert [w.kind_of(k) for k in ("deploy", "deployments", "Deployment", "pvc", "sts", "job")] == [
        "Deployment",
        "Deployment",
        "Deployment",
        "PersistentVolumeClaim",
        "StatefulSet",
        "Job",
    ]
    with pytest.raises(ValueError, match="unknown kind 'gadget'"):
        w.kind_of("gadget")
    assert w.object_path("Deployment", "ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"


def test_condition_and_jsonpath_checks() -> None:
    d = deployment(conditions=[cond("Available", "True")], readyReplicas=2)
    assert w.condition_check("Available")(d)
    assert w.condition_check("available=true")(d)
    assert not w.condition_check("Available=False")(d)
    assert w.jsonpath_check("{.status.readyReplicas}=2")(d)
    assert not w.jsonpath_check("{.status.readyReplicas}=3")(d)
    assert w.jsonpath_check("{.status.readyReplicas}")(d)
    assert not w.jsonpath_check("{.status.missing}")(d)
    assert w.jsonpath_check('{.status.conditions[?(@.type=="Available")].status}=True')(d)


def test_describe_names_counts_and_conditions() -> None:
    text = w.describe(
        deployment(
            replicas=2,
            updatedReplicas=1,
            conditions=[cond("Available", "False", "MinimumReplicasUnavailable")],
        )
    )
    assert "generation 2" in text and "updatedReplicas 1" in text
    assert "condition Available=False (MinimumReplicasUnavailable)" in text


def test_a_failed_jobs_pod_being_deleted_tells_its_last_exit() -> None:
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 6, "reason": "Error"}})
    deleting = labelled(pod(phase="Running", statuses=[again], deleting=True), "try-1")
    found = w.job_pod_reason([deleting])
    assert found is not None and found[1].reason == "Error" and "exited 6" in found[1].detail


def test_provisioning_failed_of_this_pvc_fails_unless_a_retry_may_heal_it() -> None:
    claim = pvc()
    claim["metadata"]["uid"] = "u1"
    classes = [sc("s", default=True)]

    def event(message: str, uid: str = "u1", at: str = "2026-01-01T00:00:01Z") -> dict[str, Any]:
        about = {"kind": "PersistentVolumeClaim", "name": "data", "uid": uid}
        return {
            "reason": "ProvisioningFailed",
            "message": message,
            "involvedObject": about,
            "lastTimestamp": at,
        }

    refused = event("NodePath only supports ReadWriteOnce and ReadWriteOncePod (1.22+) access modes")
    v = w.pvc_verdict(claim, classes, [refused])
    assert v.reason == "ProvisioningFailed" and "ReadWriteOnce" in v.detail
    assert not w.pvc_verdict(claim, classes, [event("no space", uid="an-earlier-pvc")]).done
    transient = event("failed to provision volume: context deadline exceeded", at="2026-01-01T00:00:02Z")
    v = w.pvc_verdict(claim, classes, [refused, transient])  # the newest decides
    assert not v.done and "try again" in v.detail
