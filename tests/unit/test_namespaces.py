"""namespaces.py: names and labels (pure)."""

from __future__ import annotations

import re

from pytest_pods import namespaces


def test_namespace_names_are_unique_dns_labels() -> None:
    nodeid = (
        "tests/cluster/test_x.py::TestThing::test_a_very_long_name_with_Params[nginx:latest-" + "x" * 80 + "]"
    )
    names = {namespaces.namespace_name(nodeid) for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
        assert len(name) <= 63
        assert name.startswith("pp-test-a-very-long-name")


def test_labels_are_valid_label_values() -> None:
    labels = namespaces.namespace_labels("tests/t.py::test_x[a/b c]" + "y" * 80, "run1", "gw0")
    assert set(labels) == {namespaces.TEST_LABEL, namespaces.RUN_LABEL, namespaces.WORKER_LABEL}
    for value in labels.values():
        assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value)
        assert len(value) <= 63
    assert labels[namespaces.WORKER_LABEL] == "gw0"
    assert labels[namespaces.TEST_LABEL].endswith("yyy")


def test_a_live_process_owns_its_namespaces_and_a_gone_one_does_not() -> None:
    import os
    import socket
    import subprocess

    mine = namespaces.owner_annotations()
    assert mine[namespaces.HOST_ANNOTATION] == socket.gethostname()
    assert not namespaces.owner_gone(mine)
    child = subprocess.Popen(["sleep", "30"])
    token = namespaces.process_token(child.pid)
    assert token is not None
    theirs = {namespaces.HOST_ANNOTATION: socket.gethostname(), namespaces.OWNER_ANNOTATION: token}
    assert not namespaces.owner_gone(theirs)
    child.kill()
    child.wait()
    assert namespaces.owner_gone(theirs)
    reused = {**theirs, namespaces.OWNER_ANNOTATION: f"{os.getpid()}:1"}  # our pid, another start time
    assert namespaces.owner_gone(reused)
    assert not namespaces.owner_gone({**theirs, namespaces.HOST_ANNOTATION: "another-host"})
    assert not namespaces.owner_gone({})  # made by an older version: left alone


def test_stuck_names_only_deletions_older_than_the_bound() -> None:
    import datetime as dt
    from typing import Any

    listing = {
        "items": [
            {"metadata": {"name": "live"}},
            {"metadata": {"name": "just-deleted", "deletionTimestamp": "2026-01-01T10:00:50Z"}},
            {"metadata": {"name": "held", "deletionTimestamp": "2026-01-01T09:58:00Z"}},
        ]
    }
    asked: list[Any] = []

    class StandIn:
        def request(self, method: str, path: str, **kw: Any) -> Any:
            asked.append((method, path, kw))
            return listing

    now = dt.datetime(2026, 1, 1, 10, 1, 0, tzinfo=dt.UTC)
    assert namespaces.stuck(StandIn(), "pytest-pods/run", 60, now) == ["held"]  # type: ignore[arg-type]
    assert asked == [("GET", "/api/v1/namespaces", {"query": {"labelSelector": "pytest-pods/run"}})]


def test_who_else_owns_an_object_outside_a_tests_namespace() -> None:
    ours = {"labels": {namespaces.RUN_LABEL: "r1", namespaces.NAMESPACE_LABEL: "pp-a-1"}}
    assert namespaces.foreign_owner(ours, "pp-a-1", owner_live=True) is None  # the test's own: re-applied
    # another test's, of a run still going: refused, naming it
    who = namespaces.foreign_owner(ours, "pp-b-2", owner_live=True)
    assert who == "test namespace pp-a-1 of run r1, which is still running"
    # another test's whose run (or namespace) is gone: taken
    assert namespaces.foreign_owner(ours, "pp-b-2", owner_live=False) is None
    # kept (--pods-keep-namespace): its user still wants it, whether its run is gone or not
    kept = {"labels": {**ours["labels"], namespaces.KEPT_LABEL: "true"}}
    for live in (True, False):
        assert "the kept test namespace pp-a-1" in str(
            namespaces.foreign_owner(kept, "pp-b-2", owner_live=live)
        )
    # not ours at all: named by its field managers
    theirs = {"labels": {"app": "x"}, "managedFields": [{"manager": "kubectl-create"}, {"manager": "helm"}]}
    for live in (True, False):
        assert namespaces.foreign_owner(theirs, "pp-b-2", owner_live=live) == (
            "someone else (it has no pytest-pods/namespace label; managed by helm, kubectl-create)"
        )
    assert namespaces.foreign_owner({}, "pp-b-2", owner_live=False) == (
        "someone else (it has no pytest-pods/namespace label)"
    )


def test_objects_outside_go_custom_resources_first_and_namespaces_last() -> None:
    made = [
        namespaces.Outside("Namespace", "v1", "/api/v1/namespaces/team"),
        namespaces.Outside(
            "CustomResourceDefinition", "apiextensions.k8s.io/v1", "/apis/x/gadgets.g.example.com"
        ),
        namespaces.Outside("ClusterRole", "rbac.authorization.k8s.io/v1", "/apis/rbac/clusterroles/r"),
        namespaces.Outside("Gadget", "g.example.com/v1", "/apis/g.example.com/v1/gadgets/one"),
        namespaces.Outside("ConfigMap", "v1", "/api/v1/namespaces/team/configmaps/settings"),
    ]
    deleted: list[str] = []

    class Recorder:
        def request(self, method: str, path: str, **kw: object) -> dict[str, object]:
            deleted.append(f"{method} {path}")
            if path.endswith("/r"):  # gone already: no problem
                from pytest_pods.errors import ApiError

                raise ApiError(method, path, 404, {"message": "not found"})
            return {}

    namespaces.delete_outside(Recorder(), made)  # type: ignore[arg-type]
    assert deleted == [
        "DELETE /apis/g.example.com/v1/gadgets/one",
        "DELETE /apis/rbac/clusterroles/r",
        "DELETE /api/v1/namespaces/team/configmaps/settings",
        "DELETE /apis/x/gadgets.g.example.com",
        "DELETE /api/v1/namespaces/team",
    ]
    assert [o.label for o in made] == [
        "Namespace/team",
        "CustomResourceDefinition/gadgets.g.example.com",
        "ClusterRole/r",
        "Gadget/one",
        "ConfigMap/settings in namespace team",
    ]


def test_the_list_of_objects_outside_round_trips_through_the_namespaces_annotation() -> None:
    listed = '[["ClusterRole", "rbac.authorization.k8s.io/v1", "/apis/rbac/clusterroles/r"]]'
    assert namespaces.outside_of({namespaces.OUTSIDE_ANNOTATION: listed}) == [
        namespaces.Outside("ClusterRole", "rbac.authorization.k8s.io/v1", "/apis/rbac/clusterroles/r")
    ]
    assert namespaces.outside_of({}) == []
    assert namespaces.outside_of({namespaces.OUTSIDE_ANNOTATION: "not json"}) == []
    assert namespaces.outside_of({namespaces.OUTSIDE_ANNOTATION: '[["too", "short"]]'}) == []
