"""gc.py: what may be deleted and why (pure rules; the listing comes from a stand-in for the API)."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest

from pytest_pods import gc, namespaces
from pytest_pods.errors import ApiError

NOW = dt.datetime(2026, 12, 7, 5, 0, 0, tzinfo=dt.UTC)
REF = "pytest-pods/pp-run-abc"


def lease(renewed: dt.datetime | None, seconds: int = 120, holder: str = "ci-17/abc") -> dict[str, Any]:
    spec: dict[str, Any] = {"holderIdentity": holder, "leaseDurationSeconds": seconds}
    if renewed is not None:
        spec["renewTime"] = renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"metadata": {"name": "pp-run-abc"}, "spec": spec}


def test_a_lease_expires_its_duration_after_its_last_renewal() -> None:
    renewed = NOW - dt.timedelta(seconds=100)
    assert gc.lease_expiry(lease(renewed)) == renewed + dt.timedelta(seconds=120)
    assert gc.lease_verdict(REF, lease(renewed), NOW) is None  # live: 20 s left
    late = lease(NOW - dt.timedelta(seconds=200))
    assert gc.lease_verdict(REF, late, NOW) == (f"its run's lease {REF} expired 1m20s ago (holder ci-17/abc)")
    assert gc.lease_verdict(REF, None, NOW) == (
        f"its run's lease {REF} is gone (the run ended, or its lease was reaped)"
    )
    assert "has no renewal time" in str(gc.lease_verdict(REF, lease(None), NOW))
    acquired = {"spec": {"acquireTime": "2026-12-07T04:00:00.000000Z", "leaseDurationSeconds": 60}}
    assert gc.lease_expiry(acquired) == dt.datetime(2026, 12, 7, 4, 1, tzinfo=dt.UTC)


def test_a_kept_namespace_goes_after_its_expiry_and_one_without_is_left_alone() -> None:
    until = {namespaces.EXPIRES_ANNOTATION: "2026-12-07T04:30:00Z"}
    assert (
        gc.kept_verdict(until, NOW) == "kept until 2026-12-07T04:30:00Z (--pods-keep-for), expired 30m00s ago"
    )
    assert gc.kept_verdict({namespaces.EXPIRES_ANNOTATION: "2026-12-08T04:30:00Z"}, NOW) is None
    assert gc.kept_verdict({}, NOW) is None  # kept before expiries existed: the user's to delete
    assert gc.kept_verdict({namespaces.EXPIRES_ANNOTATION: "soon"}, NOW) is None


class StandIn:
    """Answers the listing of namespaces and leases, and GETs of named leases; records deletions."""

    def __init__(self, items: list[dict[str, Any]], leases: dict[str, dict[str, Any]]) -> None:
        self.items, self.leases = items, leases
        self.asked: list[str] = []

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        self.asked.append(f"{method} {path}")
        if method == "GET" and path == "/api/v1/namespaces":
            assert kw["query"] == {"labelSelector": namespaces.RUN_LABEL}  # never another's namespaces
            return {"items": self.items}
        if method == "GET" and path == gc.LEASES_PATH:
            return {"items": list(self.leases.values())}
        if method == "GET" and "/leases/" in path:
            name = path.rsplit("/", 1)[1]
            if name == "forbidden":
                raise ApiError(method, path, 403, {"reason": "Forbidden", "message": "no"})
            if name not in self.leases:
                raise ApiError(method, path, 404, {"reason": "NotFound", "message": "gone"})
            return self.leases[name]
        return {}


def ns(name: str, *, ref: str | None = None, kept: str | None = None, **annotations: str) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {namespaces.RUN_LABEL: "r"},
        "annotations": {namespaces.HOST_ANNOTATION: "another-host", namespaces.OWNER_ANNOTATION: "1:1"},
    }
    if ref:
        meta["annotations"][namespaces.LEASE_ANNOTATION] = f"pytest-pods/{ref}"
    if kept:
        meta["labels"][namespaces.KEPT_LABEL] = "true"
        meta["annotations"][namespaces.EXPIRES_ANNOTATION] = kept
    meta["annotations"].update(annotations)
    return {"metadata": meta}


def test_plan_reaps_by_lease_from_any_host_and_never_touches_a_live_run() -> None:
    outside = json.dumps([["ClusterRole", "rbac.authorization.k8s.io/v1", "/apis/rbac/clusterroles/r"]])
    items = [
        ns("pp-live", ref="live"),
        ns("pp-expired", ref="old", **{namespaces.OUTSIDE_ANNOTATION: outside}),
        ns("pp-ended", ref="ended"),
        ns("pp-unreadable", ref="forbidden"),
        ns("pp-no-lease-other-host"),
        ns("pp-kept-expired", ref="live", kept="2026-12-07T04:00:00Z"),
        ns("pp-kept", ref="old", kept="2026-12-08T04:00:00Z"),
        {"metadata": {**ns("pp-going", ref="old")["metadata"], "deletionTimestamp": "2026-12-07T04:59:00Z"}},
    ]
    leases = {
        "live": {**lease(NOW - dt.timedelta(seconds=10)), "metadata": {"name": "live"}},
        "old": {**lease(NOW - dt.timedelta(seconds=600)), "metadata": {"name": "old"}},
        "older": {**lease(NOW - dt.timedelta(seconds=900)), "metadata": {"name": "older"}},
    }
    kube = StandIn(items, leases)
    found = gc.plan(kube, NOW, host="this-host")  # type: ignore[arg-type]
    assert found.namespaces == ["pp-ended", "pp-expired", "pp-kept-expired"]
    by_name = {d.name: d for d in found.doomed}
    assert by_name["pp-expired"].line == (
        "namespace pp-expired (with ClusterRole/r): its run's lease pytest-pods/old expired 8m00s ago "
        "(holder ci-17/abc)"
    )
    assert "is gone" in by_name["pp-ended"].why
    assert by_name["pp-kept-expired"].why.startswith("kept until 2026-12-07T04:00:00Z")
    # the lease "old" is still named by a kept namespace that lives on: kept; "older" names nothing
    assert [d.line for d in found.doomed if d.kind == "Lease"] == [
        "lease pytest-pods/older: expired 13m00s ago (holder ci-17/abc)"
    ]
    assert found.problems == [
        "namespace pp-unreadable: cannot read its run's lease: GET "
        "/apis/coordination.k8s.io/v1/namespaces/pytest-pods/leases/forbidden: 403 Forbidden: no"
    ]
    # each lease read once, however many namespaces name it
    assert kube.asked.count("GET /apis/coordination.k8s.io/v1/namespaces/pytest-pods/leases/old") == 1
    assert not [a for a in kube.asked if not a.startswith("GET")], "plan deletes nothing"

    gc.collect(kube, found.doomed)  # type: ignore[arg-type]
    deletes = [a for a in kube.asked if a.startswith("DELETE")]
    assert deletes == [
        "DELETE /apis/rbac/clusterroles/r",  # what its tests made outside it, first
        "DELETE /api/v1/namespaces/pp-expired/pods",
        "DELETE /api/v1/namespaces/pp-expired",
        "DELETE /api/v1/namespaces/pp-ended/pods",
        "DELETE /api/v1/namespaces/pp-ended",
        "DELETE /api/v1/namespaces/pp-kept-expired/pods",
        "DELETE /api/v1/namespaces/pp-kept-expired",
        "DELETE /apis/coordination.k8s.io/v1/namespaces/pytest-pods/leases/older",
    ]


def test_without_a_lease_the_host_local_rule_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = ns("pp-gone", **{namespaces.HOST_ANNOTATION: "here", namespaces.OWNER_ANNOTATION: "999999999:1"})
    mine = ns(
        "pp-mine",
        **{
            namespaces.HOST_ANNOTATION: "here",
            namespaces.OWNER_ANNOTATION: namespaces.owner_annotations()[namespaces.OWNER_ANNOTATION],
        },
    )
    kube = StandIn([gone, mine, ns("pp-elsewhere")], {})
    found = gc.plan(kube, NOW, host="here")  # type: ignore[arg-type]
    assert [d.line for d in found.doomed] == [
        "namespace pp-gone: its maker, process 999999999 on this host (here), is gone"
    ]
    # a lease-holding namespace whose maker is gone from this host is reaped at once, live lease or not
    monkeypatch.setenv(namespaces.HOST_ENV, "here")
    assert namespaces.host_name() == "here"
    live = {"live": {**lease(NOW), "metadata": {"name": "live"}}}
    found = gc.plan(StandIn([ns("pp-x", ref="live", **gone["metadata"]["annotations"])], live), NOW)  # type: ignore[arg-type]
    assert found.namespaces == ["pp-x"]
    assert os.environ[namespaces.HOST_ENV] == "here"


def test_short_durations_read_well() -> None:
    assert [gc.ago(s) for s in (0, 59, 60, 3599, 3600, 90061)] == [
        "0s",
        "59s",
        "1m00s",
        "59m59s",
        "1h00m",
        "25h01m",
    ]
