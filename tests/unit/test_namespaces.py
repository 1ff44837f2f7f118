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
