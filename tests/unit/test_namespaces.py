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
