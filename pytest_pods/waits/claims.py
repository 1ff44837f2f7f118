"""PersistentVolumeClaims: when a claim is up, and the claims a Pending pod waits on that will never
bind, so that the pod's wait fails at once naming the claim and its reason instead of timing out.

``pvc_verdict`` (the PVC wait's verdict) and ``claim_verdict`` (a pod's claims) are pure and share
one set of rules; :class:`ClaimCheck` reads what they need, only for a pod that is not scheduled yet.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

from pytest_pods import podstate
from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube
from pytest_pods.podstate import pod_claims, waits_on_claims
from pytest_pods.waits.report import pod_events
from pytest_pods.waits.verdicts import Verdict, fail, pending, success

DEFAULT_STORAGE_CLASS = "storageclass.kubernetes.io/is-default-class"

#: How often a wait re-reads the claims of a pod that waits on them (seconds).
CLAIM_POLL = 1.0


def default_storage_class(classes: Sequence[JSON]) -> JSON | None:
    for sc in classes:
        if ((sc.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_STORAGE_CLASS) == "true":
            return sc
    return None


def pvc_verdict(obj: JSON, storage_classes: Sequence[JSON] = (), events: Sequence[JSON] = ()) -> Verdict:
    """A PVC is up when Bound. While Pending: a class with ``volumeBindingMode: WaitForFirstConsumer``
    binds only once a pod uses it, so the PVC counts as up (that pod's own wait covers the binding);
    a class that does not exist, or no class and no default class (and no ``spec.volumeName`` to
    bind statically), fails at once; so does a ``ProvisioningFailed`` event about this PVC (the
    newest one), unless its message says a retry may heal it (:data:`TRANSIENT_PROVISIONING`)."""
    phase = (obj.get("status") or {}).get("phase", "Pending")
    if phase == "Bound":
        return success("Bound")
    if phase == "Lost":
        return fail("Lost", "the PVC lost its PersistentVolume")
    spec = obj.get("spec") or {}
    if spec.get("volumeName"):
        return pending(f"waiting to bind PersistentVolume {spec['volumeName']}")
    wanted = spec.get("storageClassName")
    by_name = {str((sc.get("metadata") or {}).get("name")): sc for sc in storage_classes}
    if wanted == "":
        return pending('storageClassName "" binds only to a pre-made PersistentVolume')
    sc = by_name.get(str(wanted)) if wanted is not None else default_storage_class(storage_classes)
    if sc is None:
        if wanted is not None:
            have = ", ".join(sorted(by_name)) or "none"
            return fail("StorageClassNotFound", f"no StorageClass {wanted!r} (the cluster has: {have})")
        return fail(
            "NoDefaultStorageClass", "no storageClassName and the cluster has no default StorageClass"
        )
    uid = (obj.get("metadata") or {}).get("uid")
    for ev in sorted(events, key=podstate.event_time, reverse=True):
        about = ev.get("involvedObject") or ev.get("regarding") or {}
        if uid and about.get("uid") and about.get("uid") != uid:
            continue  # an earlier PVC of the same name
        if ev.get("reason") == "ProvisioningFailed":
            message = str(ev.get("message") or "").strip()
            if not TRANSIENT_PROVISIONING.search(message):
                return fail("ProvisioningFailed", message)
            return pending(f"Pending, the provisioner will try again after: {message}")
    if sc.get("volumeBindingMode") == "WaitForFirstConsumer":
        return success("WaitForFirstConsumer", f"StorageClass {wanted or 'default'} binds on first use")
    return pending(f"Pending, StorageClass {(sc.get('metadata') or {}).get('name')}")


#: ProvisioningFailed messages that a retry may heal (a timeout, a conflict, an API or provisioner
#: not reachable for a moment): the wait goes on, and its timeout report shows the events.
TRANSIENT_PROVISIONING = re.compile(
    r"timed? ?out|deadline exceeded|the object has been modified|conflict|connection refused|"
    r"connection reset|i/o timeout|try again|temporarily|unavailable|too many requests|rate limit",
    re.IGNORECASE,
)


def claim_verdict(
    pod: JSON,
    claims: Mapping[str, JSON | None],
    storage_classes: Sequence[JSON] = (),
    events: Mapping[str, Sequence[JSON]] | None = None,
) -> Verdict | None:
    """The first of the pod's claims that will never bind, as a failure of the pod that names the
    claim (by :func:`pvc_verdict`'s rules), or None. ``claims`` maps a claim's name to the claim, or
    to None when it does not exist: a missing claim fails (``ClaimNotFound``), except an ephemeral
    volume's, which its controller is about to make. Pure."""
    for volume, claim, ephemeral in pod_claims(pod):
        obj = claims.get(claim, {})
        if obj is None:
            if ephemeral:
                continue
            return fail(
                "ClaimNotFound",
                f"volume {volume!r} uses PersistentVolumeClaim {claim!r}, which does not exist",
                claim=claim,
            )
        if not obj:
            continue  # not read (an API error): no verdict on it
        verdict = pvc_verdict(obj, storage_classes, (events or {}).get(claim, ()))
        if verdict.done and not verdict.ok:
            detail = f"PersistentVolumeClaim {claim!r} (volume {volume!r}): {verdict.detail}"
            return fail(verdict.reason, detail, claim=claim)
    return None


WAITING_ON_CLAIMS = pending("waiting on its PersistentVolumeClaims")


class ClaimCheck:
    """The claims check of one wait: called with a pod's state, it returns None when the pod waits on
    no claim (:func:`waits_on_claims`; no I/O), else the :func:`claim_verdict` on its claims as read
    now, or :data:`WAITING_ON_CLAIMS`. A pod's claims are read at most every ``interval`` seconds."""

    def __init__(self, kube: Kube, namespace: str, *, interval: float = CLAIM_POLL / 2) -> None:
        self.kube = kube
        self.namespace = namespace
        self.interval = interval
        self._last: dict[str, tuple[float, Verdict]] = {}  # pod uid -> when read, verdict

    def __call__(self, pod: JSON) -> Verdict | None:
        if not waits_on_claims(pod):
            return None
        meta = pod.get("metadata") or {}
        key = str(meta.get("uid") or meta.get("name"))
        now = time.monotonic()
        if key in self._last and now - self._last[key][0] < self.interval:
            return self._last[key][1]
        verdict = self._read(pod) or WAITING_ON_CLAIMS
        self._last[key] = (now, verdict)
        return verdict

    def _read(self, pod: JSON) -> Verdict | None:
        claims: dict[str, JSON | None] = {}
        events: dict[str, list[JSON]] = {}
        for _, claim, _ in pod_claims(pod):
            try:
                obj = self.kube.request(
                    "GET", f"/api/v1/namespaces/{self.namespace}/persistentvolumeclaims/{claim}"
                )
            except ApiError as exc:
                claims[claim] = None if exc.status == 404 else {}
                continue
            claims[claim] = obj
            if (obj.get("status") or {}).get("phase") != "Bound":
                events[claim] = pod_events(self.kube, self.namespace, claim)
        classes: list[JSON] = []
        if events:
            try:
                listing = self.kube.request("GET", "/apis/storage.k8s.io/v1/storageclasses")
            except ApiError:
                return None  # no verdict without the classes: the next read tries again
            classes = list(listing.get("items") or [])
        return claim_verdict(pod, claims, classes, events)
