"""Workloads are waited for (kubectl rollout status semantics), fail fast naming the workload, the
pod and the reason, and are reachable through a handle. Against the real cluster."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import WorkloadNotReadyError
from pytest_pods.waits.claims import DEFAULT_STORAGE_CLASS
from tests.cluster.conftest import MANIFESTS, workload

pytestmark = pytest.mark.cluster

TIMEOUT = 180.0


def template(command: str, **container: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {"name": "main", "image": "debian", "command": ["sh", "-c", command], **container}
            ],
        },
    }


def deployment(name: str, command: str, replicas: int = 2, **container: Any) -> dict[str, Any]:
    return workload("Deployment", name, template(command, **container), replicas)


PROBED = deployment(
    "web",
    "touch /tmp/ready; sleep 600",
    readinessProbe={"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1},
)


@pytest.mark.pods_manifest(PROBED)
def test_the_marker_waits_for_a_deployment_and_the_handle_reaches_its_pods(pods_namespace: Namespace) -> None:
    web = pods_namespace.workload("deploy", "web")
    pods = web.pods()
    assert len(pods) == 2
    for pod in pods:
        assert pod.conditions["Ready"] == "True"
        assert pod.exec(["cat", "/tmp/ready"]).returncode == 0
    assert web.status["availableReplicas"] == 2
    assert web.verdict().ok
    assert web.selector == "app=web"


def test_a_deployment_with_a_bad_image_fails_fast_naming_it_the_pod_and_the_reason(
    pods_namespace: Namespace,
) -> None:
    bad = deployment("pull", "sleep 600")
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "pytest-pods.invalid/nope:1"
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(bad, wait=True, timeout=TIMEOUT)
    assert time.monotonic() - began < 30
    err = info.value
    assert (err.kind, err.name) == ("Deployment", "pull")
    assert err.reason in ("ErrImagePull", "ImagePullBackOff")
    assert err.pod.startswith("pull-")
    assert f"Deployment {pods_namespace.name}/pull: {err.reason}: pod {err.pod}" in str(err)
    assert "hint:" in str(err)


def test_a_crash_looping_deployment_fails_within_15s_with_the_exit_code_and_log(
    pods_namespace: Namespace,
) -> None:
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(deployment("crash", "echo about-to-fail; exit 3", replicas=1), wait=True)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.pod_reason in ("Error", "CrashLoopBackOff"), err
    assert "3" in err.detail
    assert "about-to-fail" in str(err)
    assert elapsed < 15, f"{elapsed:.1f}s"


def test_an_unschedulable_deployment_fails_fast(pods_namespace: Namespace) -> None:
    d = deployment("nowhere", "sleep 600", replicas=1)
    d["spec"]["template"]["spec"]["nodeSelector"] = {"pytest-pods/no-such-node": "true"}
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(d, wait=True, timeout=TIMEOUT)
    assert info.value.pod_reason == "Unschedulable"


def test_statefulset_and_daemonset_are_waited_for(pods_namespace: Namespace) -> None:
    sts = workload("StatefulSet", "db", template("sleep 600"), replicas=2, serviceName="db")
    ds: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template("sleep 600")},
    }
    ds["spec"]["template"]["metadata"]["labels"] = {"app": "agent"}
    pods_namespace.apply([sts, ds], wait=True, timeout=TIMEOUT)
    db = pods_namespace.workload("StatefulSet", "db")
    assert [p.name for p in db.pods()] == ["db-0", "db-1"]
    assert db.status["readyReplicas"] == 2
    agent = pods_namespace.workload("ds", "agent")
    assert agent.status["numberAvailable"] == agent.status["desiredNumberScheduled"] >= 1
    assert all(p.conditions["Ready"] == "True" for p in agent.pods())


def job(name: str, command: str) -> dict[str, Any]:
    t = template(command)
    t["spec"]["restartPolicy"] = "Never"
    del t["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": t},
    }


def test_a_job_is_waited_for_until_complete(pods_namespace: Namespace) -> None:
    pods_namespace.apply(job("once", "echo did-it"), wait=True, timeout=TIMEOUT)
    done = pods_namespace.workload("Job", "once")
    assert done.status["succeeded"] == 1
    (pod,) = done.pods()
    assert "did-it" in pod.logs()


def test_a_failed_job_fails_fast_with_its_pods_reason(pods_namespace: Namespace) -> None:
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(job("broken", "echo job-broke; exit 3"), wait=True, timeout=TIMEOUT)
    assert time.monotonic() - began < 30
    err = info.value
    assert (err.kind, err.reason, err.pod_reason) == ("Job", "BackoffLimitExceeded", "Error")
    assert "exited 3" in err.detail and "job-broke" in str(err)


def test_a_pvc_of_a_class_that_does_not_exist_fails_at_once(pods_namespace: Namespace) -> None:
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(MANIFESTS / "pvc-no-class.yaml", wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason) == ("PersistentVolumeClaim", "data", "StorageClassNotFound")
    assert elapsed < 15, f"took {elapsed:.1f}s from apply"
    text = str(err)
    assert "no StorageClass 'pytest-pods-no-such-class' (the cluster has: " in text
    assert "phase: Pending" in text
    assert "hint: the PVC names a StorageClass the cluster does not have" in text


def test_wait_for_condition_jsonpath_and_delete(pods_namespace: Namespace) -> None:
    pods_namespace.apply(PROBED)
    obj = pods_namespace.wait_for("deployment", "web", condition="Available", timeout=TIMEOUT)
    assert obj["kind"] == "Deployment"
    pods_namespace.wait_for("deployment", "web", jsonpath="{.status.readyReplicas}=2", timeout=TIMEOUT)
    pod = pods_namespace.workload("Deployment", "web").pods()[0]
    pods_namespace.wait_for("pod", pod.name, jsonpath="{.status.phase}=Running", timeout=TIMEOUT)
    with pytest.raises(
        WorkloadNotReadyError, match="--for=condition=Available=False not met after 2s"
    ) as info:
        pods_namespace.wait_for("deployment", "web", condition="Available=False", timeout=2)
    assert "condition Available=True" in str(info.value)
    pod.delete(wait=False, grace_period=0)
    assert pods_namespace.wait_for("pod", pod.name, delete=True, timeout=60) == {}


def test_a_pvc_of_the_default_class_and_its_pod_are_waited_for(pods_namespace: Namespace) -> None:
    """A WaitForFirstConsumer class binds once a pod uses the PVC: the PVC counts as up, its pod's
    wait covers the binding, and the PVC is Bound afterwards."""
    classes = pods_namespace.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
    default = [
        c for c in classes if c["metadata"].get("annotations", {}).get(DEFAULT_STORAGE_CLASS) == "true"
    ]
    if not default:
        pytest.skip("the cluster has no default StorageClass")
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }
    user = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user"},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "main",
                    "image": "debian",
                    "command": ["sh", "-c", "echo kept > /data/file; sleep 600"],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    pods_namespace.apply([pvc, user], wait=True, timeout=TIMEOUT)
    assert pods_namespace.pod("user").read_file("/data/file") == "kept\n"
    bound = pods_namespace.wait_for("pvc", "data", jsonpath="{.status.phase}=Bound", timeout=60)
    assert bound["status"]["phase"] == "Bound"


def default_class(ns: Namespace) -> dict[str, Any]:
    classes = ns.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
    for c in classes:
        if c["metadata"].get("annotations", {}).get(DEFAULT_STORAGE_CLASS) == "true":
            return dict(c)
    pytest.skip("the cluster has no default StorageClass")


def test_a_pvc_the_provisioner_refuses_fails_fast_with_its_message(pods_namespace: Namespace) -> None:
    """ReadWriteMany from local-path-provisioner (ReadWriteOnce only): the class binds on first use,
    so the pod makes it try; its ProvisioningFailed event fails the wait, naming the PVC."""
    if default_class(pods_namespace).get("provisioner") != "rancher.io/local-path":
        pytest.skip("the default StorageClass is not local-path-provisioner's")
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(MANIFESTS / "pvc-rwx.yaml", wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason) == ("PersistentVolumeClaim", "shared", "ProvisioningFailed"), err
    assert elapsed < 15, f"took {elapsed:.1f}s from apply"
    assert "only supports ReadWriteOnce" in err.detail
    text = str(err)
    assert "ProvisioningFailed" in text and "PersistentVolumeClaim/shared" in text  # the event, in the report
    assert "hint: the provisioner could not make the volume" in text


def test_a_pvc_of_a_class_whose_provisioner_errors_fails_fast(pods_namespace: Namespace) -> None:
    """local-path-provisioner under Immediate binding: no node was chosen, so it cannot provision."""
    if default_class(pods_namespace).get("provisioner") != "rancher.io/local-path":
        pytest.skip("the default StorageClass is not local-path-provisioner's")
    name = f"pytest-pods-immediate-{pods_namespace.name}"
    manifest = (MANIFESTS / "pvc-immediate.yaml").read_text().replace("CLASS", name)
    began = time.monotonic()
    try:
        with pytest.raises(WorkloadNotReadyError) as info:
            pods_namespace.apply(manifest, wait=True, timeout=TIMEOUT)
    finally:
        pods_namespace.kube.request("DELETE", f"/apis/storage.k8s.io/v1/storageclasses/{name}")
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason) == ("PersistentVolumeClaim", "data", "ProvisioningFailed"), err
    assert elapsed < 15, f"took {elapsed:.1f}s from apply"
    assert "no node was specified" in err.detail and name in err.detail
    assert "hint: the provisioner could not make the volume" in str(err)
