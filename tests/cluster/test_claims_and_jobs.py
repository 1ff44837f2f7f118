"""A pod's claims and a failed Job's log, against the real cluster: a pod that waits on a claim that
will never bind fails fast naming the claim and its reason (the claim applied earlier, the pod's
wait the only one); a missing claim is named; a failed Job's error carries its pod's last log lines
even when the Job controller has deleted the pod."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import yaml

from pytest_pods import Namespace
from pytest_pods.errors import PodNotReadyError, WorkloadNotReadyError
from pytest_pods.waits.claims import DEFAULT_STORAGE_CLASS
from tests.cluster.conftest import MANIFESTS, workload

pytestmark = pytest.mark.cluster

TIMEOUT = 120.0
FAST = 20.0  # seconds: generous; each fails in a few seconds here


def require_local_path(ns: Namespace) -> None:
    classes = ns.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses")["items"]
    default = [
        c for c in classes if c["metadata"].get("annotations", {}).get(DEFAULT_STORAGE_CLASS) == "true"
    ]
    if not default or default[0].get("provisioner") != "rancher.io/local-path":
        pytest.skip("the default StorageClass is not local-path-provisioner's")


def user_deployment() -> dict[str, Any]:
    spec = yaml.safe_load((MANIFESTS / "claim-user.yaml").read_text())["spec"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "users"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "users"}},
            "template": {"metadata": {"labels": {"app": "users"}}, "spec": spec},
        },
    }


@pytest.mark.parametrize("how", ["wait_ready", "apply", "deployment"])
def test_a_pod_on_a_claim_applied_earlier_that_the_provisioner_refuses_fails_fast(
    pods_namespace: Namespace, how: str
) -> None:
    """The claim is applied on its own, unwaited; then only the pod (or a Deployment's pod) is waited
    for. The pod stays Pending with no condition while the scheduler waits for the volume: its wait
    reads the claim and fails on its ProvisioningFailed event."""
    require_local_path(pods_namespace)
    pods_namespace.apply(MANIFESTS / "claim-rwx.yaml")
    began = time.monotonic()
    err: PodNotReadyError | WorkloadNotReadyError
    if how == "wait_ready":
        pods_namespace.apply(MANIFESTS / "claim-user.yaml")
        with pytest.raises(PodNotReadyError) as pod_info:
            pods_namespace.pod("user").wait_ready(timeout=TIMEOUT)
        err = pod_info.value
    elif how == "apply":
        with pytest.raises(PodNotReadyError) as pod_info:
            pods_namespace.apply(MANIFESTS / "claim-user.yaml", wait=True, timeout=TIMEOUT)
        err = pod_info.value
    else:
        with pytest.raises(WorkloadNotReadyError) as workload_info:
            pods_namespace.apply(user_deployment(), wait=True, timeout=TIMEOUT)
        err = workload_info.value
        assert (err.kind, err.name, err.pod_reason) == ("Deployment", "users", "ProvisioningFailed"), err
        assert err.pod.startswith("users-")
    elapsed = time.monotonic() - began
    assert err.reason == "ProvisioningFailed", err
    assert elapsed < FAST, f"took {elapsed:.1f}s"
    text = str(err)
    if how == "deployment":
        assert f"pod {err.pod}: ProvisioningFailed: PersistentVolumeClaim 'shared'" in text
    else:
        assert text.startswith(
            f"pod {pods_namespace.name}/user: ProvisioningFailed: PersistentVolumeClaim 'shared'"
        )
    assert (
        "PersistentVolumeClaim 'shared' (volume 'data'): failed to provision volume with StorageClass" in text
    )
    assert "only supports ReadWriteOnce" in text
    assert "ProvisioningFailed" in text and "PersistentVolumeClaim/shared" in text  # the claim's event
    assert "hint: the provisioner could not make the volume" in text


def test_a_pod_on_a_claim_that_does_not_exist_fails_fast_naming_it(pods_namespace: Namespace) -> None:
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.apply(MANIFESTS / "claim-missing.yaml", wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason == "ClaimNotFound", err
    assert elapsed < FAST, f"took {elapsed:.1f}s"
    text = str(err)
    # what the error promises: the reason, the claim and the volume, the hint. The scheduler's own
    # word ("persistentvolumeclaim ... not found") is in the report only if it spoke before the
    # claim check decided, so it is not asserted (tests/unit/test_waits_report.py checks both ways)
    assert "volume 'data' uses PersistentVolumeClaim 'shraed', which does not exist" in text
    assert "hint: fix the volume's claimName" in text


def test_a_claim_made_after_the_scheduler_said_not_found_is_waited_for(pods_namespace: Namespace) -> None:
    """It heals: the scheduler takes the pod once the claim exists. A wait that begins after the
    claim was made must not fail on the scheduler's earlier word (the condition stays until then)."""
    require_local_path(pods_namespace)
    pods_namespace.apply(MANIFESTS / "claim-missing.yaml")
    pods_namespace.wait_for(
        "pod",
        "orphan",
        jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}=Unschedulable',
        timeout=60,
    )
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "shraed"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }
    pods_namespace.apply(claim)
    pods_namespace.pod("orphan").wait_ready(timeout=TIMEOUT)
    assert pods_namespace.pod("orphan").exec(["ls", "/data"]).returncode == 0


@pytest.mark.parametrize("policy", ["Never", "OnFailure"])
def test_a_failed_jobs_error_has_its_pods_last_log_lines(pods_namespace: Namespace, policy: str) -> None:
    """Under OnFailure the Job controller deletes the pod as the Job fails, before the wait can read
    its log: the wait read it when it saw the container exit."""
    manifest = (MANIFESTS / "job-logs.yaml").read_text().replace("POLICY", policy)
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(manifest, wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason, err.pod_reason) == (
        "Job",
        "migrate",
        "BackoffLimitExceeded",
        "Error",
    )
    assert elapsed < FAST, f"took {elapsed:.1f}s"
    assert err.pod.startswith("migrate-")
    assert f"pod {err.pod}: container 'main' exited 7" in err.detail
    before = " before its restart" if policy == "OnFailure" else ""
    expected = (
        f"last log lines of main{before}:\n"
        "  migration 1 of 3 applied\n"
        "  migration 2 of 3: table users is locked\n"
    )
    assert expected in err.report, err.report
    assert "(no log" not in err.report
    assert "hint: the container exited with the code shown" in str(err)


def test_a_pod_on_an_immediate_claim_fails_with_the_claims_reason_not_unschedulable(
    pods_namespace: Namespace,
) -> None:
    """The scheduler's "unbound immediate PersistentVolumeClaims" heals once the claim binds, so it
    does not fail the wait by itself: the claim's ProvisioningFailed does."""
    require_local_path(pods_namespace)
    name = f"pytest-pods-eager-{pods_namespace.name}"
    manifest = (MANIFESTS / "claim-immediate-user.yaml").read_text().replace("CLASS", name)
    objects = list(yaml.safe_load_all(manifest))
    began = time.monotonic()
    try:
        pods_namespace.apply(objects[:2])
        with pytest.raises(PodNotReadyError) as info:
            pods_namespace.apply(objects[2:], wait=True, timeout=TIMEOUT)
    finally:
        pods_namespace.kube.request("DELETE", f"/apis/storage.k8s.io/v1/storageclasses/{name}")
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason == "ProvisioningFailed", err
    assert elapsed < FAST, f"took {elapsed:.1f}s"
    text = str(err)
    assert "PersistentVolumeClaim 'early' (volume 'data'): failed to provision volume" in text
    assert "no node was specified" in text
    assert "pod has unbound immediate PersistentVolumeClaims" in text  # the scheduler's word, reported


def test_a_pod_with_an_ephemeral_volume_is_waited_for(pods_namespace: Namespace) -> None:
    """Its claim does not exist for a moment after the pod is made: that is no ClaimNotFound."""
    require_local_path(pods_namespace)
    pods_namespace.apply(MANIFESTS / "claim-ephemeral.yaml", wait=True, timeout=TIMEOUT)
    assert pods_namespace.pod("scratch").read_file("/data/file") == "kept\n"


def test_a_statefulset_whose_claim_template_is_refused_fails_fast_naming_the_claim(
    pods_namespace: Namespace,
) -> None:
    """The StatefulSet controller makes the claim (data-db-0) from its template, then the pod."""
    require_local_path(pods_namespace)
    spec = yaml.safe_load((MANIFESTS / "claim-user.yaml").read_text())["spec"]
    del spec["volumes"]
    claim = {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Mi"}}}
    sts = workload(
        "StatefulSet",
        "db",
        {"metadata": {"labels": {"app": "db"}}, "spec": spec},
        replicas=1,
        serviceName="db",
        volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": claim}],
    )
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(sts, wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason, err.pod) == ("StatefulSet", "db", "ProvisioningFailed", "db-0"), (
        err
    )
    assert elapsed < FAST, f"took {elapsed:.1f}s"
    assert "pod db-0: ProvisioningFailed: PersistentVolumeClaim 'data-db-0' (volume 'data')" in err.detail
    assert "PersistentVolumeClaim/data-db-0" in err.report  # the claim's event


def test_a_pod_that_times_out_on_its_claim_has_the_claims_events_in_the_report(
    pods_namespace: Namespace,
) -> None:
    """A claim for a hand-made PersistentVolume may bind once one is made: no fast failure, but the
    timeout's report says why the pod waits."""
    pods_namespace.apply(MANIFESTS / "claim-static.yaml")
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("waiter").wait_ready(timeout=4)
    err = info.value
    assert err.reason == "Timeout", err
    # the event, with its count once the controller said it again: "PersistentVolumeClaim/static (x2): ..."
    said = re.search(r"PersistentVolumeClaim/static( \(x\d+\))?: no persistent volumes available", err.report)
    assert said, err
