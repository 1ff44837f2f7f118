"""A PVC's verdict, and the claims of a pod not scheduled yet: which are read, and which fail its
wait. Pure, on literal objects shaped as the API server sends them (events as recorded on the
local cluster)."""

from __future__ import annotations

from typing import Any

from pytest_pods import podstate
from pytest_pods.waits import claims as c
from pytest_pods.waits import verdicts
from tests.unit.podjson import cond, pod

REFUSED = (
    'failed to provision volume with StorageClass "standard": NodePath only supports ReadWriteOnce '
    "and ReadWriteOncePod (1.22+) access modes"
)


def user(*volumes: dict[str, Any], scheduled: bool = False, **status: Any) -> dict[str, Any]:
    p = pod(**status)
    p["metadata"]["name"] = "user"
    if not scheduled:
        del p["spec"]["nodeName"]
    p["spec"]["volumes"] = list(volumes)
    return p


SHARED = {"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}


SCRATCH = {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}


STANDARD = {
    "metadata": {"name": "standard", "annotations": {c.DEFAULT_STORAGE_CLASS: "true"}},
    "volumeBindingMode": "WaitForFirstConsumer",
}


def claim(phase: str = "Pending", uid: str = "u1") -> dict[str, Any]:
    return {"metadata": {"name": "shared", "uid": uid}, "spec": {}, "status": {"phase": phase}}


def event(message: str, uid: str = "u1", at: str = "2026-11-27T06:26:00Z") -> dict[str, Any]:
    about = {"kind": "PersistentVolumeClaim", "name": "shared", "uid": uid}
    return {"reason": "ProvisioningFailed", "message": message, "involvedObject": about, "lastTimestamp": at}


def test_the_claims_of_a_pod_include_its_ephemeral_volumes() -> None:
    assert podstate.pod_claims(user(SHARED, SCRATCH, {"name": "tmp", "emptyDir": {}})) == [
        ("data", "shared", False),
        ("scratch", "user-scratch", True),
    ]


def test_only_a_pending_unscheduled_pod_with_claims_waits_on_them() -> None:
    assert podstate.waits_on_claims(user(SHARED))
    assert not podstate.waits_on_claims(user(SHARED, scheduled=True))  # its claims are bound already
    assert not podstate.waits_on_claims(user())
    assert not podstate.waits_on_claims(user(SHARED, deleting=True))
    assert not podstate.waits_on_claims(user(SHARED, phase="Failed"))


def test_a_claim_the_provisioner_refused_fails_the_pod_naming_the_claim() -> None:
    v = c.claim_verdict(user(SHARED), {"shared": claim()}, [STANDARD], {"shared": [event(REFUSED)]})
    assert v is not None and (v.done, v.ok, v.reason, v.claim) == (
        True,
        False,
        "ProvisioningFailed",
        "shared",
    )
    assert v.detail == f"PersistentVolumeClaim 'shared' (volume 'data'): {REFUSED}"


def test_the_pvc_waits_rules_hold_for_a_pods_claim() -> None:
    """Only this claim's uid, only its newest event, and a message a retry may heal keeps waiting."""
    pending = {"shared": claim()}
    earlier = {"shared": [event(REFUSED, uid="an-earlier-claim")]}
    assert c.claim_verdict(user(SHARED), pending, [STANDARD], earlier) is None
    healed = [event(REFUSED), event("context deadline exceeded", at="2026-11-27T06:26:05Z")]
    assert c.claim_verdict(user(SHARED), pending, [STANDARD], {"shared": healed}) is None
    assert c.claim_verdict(user(SHARED), pending, [STANDARD], {}) is None  # waiting for its first consumer
    assert c.claim_verdict(user(SHARED), {"shared": claim("Bound")}) is None
    v = c.claim_verdict(user(SHARED), pending, [])
    assert v is not None and v.reason == "NoDefaultStorageClass"


def test_a_missing_claim_fails_but_an_ephemeral_one_is_about_to_be_made() -> None:
    v = c.claim_verdict(user(SHARED), {"shared": None})
    assert v is not None and (v.reason, v.claim) == ("ClaimNotFound", "shared")
    assert "volume 'data' uses PersistentVolumeClaim 'shared', which does not exist" in v.detail
    assert c.claim_verdict(user(SCRATCH), {"user-scratch": None}) is None
    assert c.claim_verdict(user(SHARED), {"shared": {}}) is None  # not read (an API error): no verdict


def test_the_schedulers_word_on_claims_is_not_a_verdict_but_other_reasons_are() -> None:
    """As the scheduler of v1.37 says it: the claim may bind in a moment, or be created."""
    for message in (
        "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. not found",
        '0/1 nodes are available: persistentvolumeclaim "nope" not found. not found',
        "0/1 nodes are available: waiting for ephemeral volume controller to create the "
        "persistentvolumeclaim",
    ):
        p = user(SHARED, conditions=[cond("PodScheduled", "False", "Unschedulable", message)])
        assert verdicts.pod_failure(p) is None, message
    other = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
    p = user(SHARED, conditions=[cond("PodScheduled", "False", "Unschedulable", other)])
    failure = verdicts.pod_failure(p)
    assert failure is not None and failure.reason == "Unschedulable"


def test_each_claim_failure_the_verdicts_give_has_a_hint_and_a_row() -> None:
    """Every way a claim fails, as the verdicts give it, fails fast with a hint of the one list: the
    reasons come from the verdicts, not from a list of our own."""
    lost = claim("Lost")
    failures = [
        c.claim_verdict(user(SHARED), {"shared": claim()}, [STANDARD], {"shared": [event(REFUSED)]}),
        c.claim_verdict(
            user(SHARED), {"shared": {**claim(), "spec": {"storageClassName": "fast"}}}, [STANDARD]
        ),
        c.claim_verdict(user(SHARED), {"shared": claim()}, []),
        c.claim_verdict(user(SHARED), {"shared": lost}),
        c.claim_verdict(user(SHARED), {"shared": None}),
    ]
    reasons = []
    for v in failures:
        assert v is not None and v.done and not v.ok and v.claim == "shared", v
        assert verdicts.HINTS[v.reason], v.reason
        reasons.append(v.reason)
    assert reasons == [
        "ProvisioningFailed",
        "StorageClassNotFound",
        "NoDefaultStorageClass",
        "Lost",
        "ClaimNotFound",
    ]
    rows = {f.reason for f in verdicts.FAIL_FAST if "claim" in f.seen_as.lower() or "PVC" in f.seen_as}
    assert rows == set(reasons)


def sc(name: str, *, default: bool = False, mode: str = "Immediate") -> dict[str, Any]:
    annotations = {c.DEFAULT_STORAGE_CLASS: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "volumeBindingMode": mode}


def pvc(phase: str = "Pending", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "data"}, "spec": spec, "status": {"phase": phase}}


def test_pvc_bound_is_up() -> None:
    assert c.pvc_verdict(pvc("Bound")).ok


def test_pvc_without_any_storage_class_fails_at_once() -> None:
    assert c.pvc_verdict(pvc()).reason == "NoDefaultStorageClass"
    v = c.pvc_verdict(pvc(storageClassName="fast"), [sc("standard", default=True)])
    assert v.reason == "StorageClassNotFound" and "standard" in v.detail


def test_pvc_pending_on_an_immediate_class_waits_and_wait_for_first_consumer_is_up() -> None:
    assert not c.pvc_verdict(pvc(), [sc("standard", default=True)]).done
    v = c.pvc_verdict(pvc(storageClassName="local"), [sc("local", mode="WaitForFirstConsumer")])
    assert (v.ok, v.reason) == (True, "WaitForFirstConsumer")


def test_pvc_static_binding_waits_and_provisioning_failure_fails() -> None:
    assert not c.pvc_verdict(pvc(volumeName="pv1")).done
    event = {"reason": "ProvisioningFailed", "message": "no space"}
    assert c.pvc_verdict(pvc(), [sc("s", default=True)], [event]).reason == "ProvisioningFailed"


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
    v = c.pvc_verdict(claim, classes, [refused])
    assert v.reason == "ProvisioningFailed" and "ReadWriteOnce" in v.detail
    assert not c.pvc_verdict(claim, classes, [event("no space", uid="an-earlier-pvc")]).done
    transient = event("failed to provision volume: context deadline exceeded", at="2026-01-01T00:00:02Z")
    v = c.pvc_verdict(claim, classes, [refused, transient])  # the newest decides
    assert not v.done and "try again" in v.detail
