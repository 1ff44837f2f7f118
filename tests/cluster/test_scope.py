"""A namespace shared by a module's tests, against the real cluster: applied once, deleted when the
module ends (not at the session's end), kept with ``--pods-keep-namespace=on-failure`` if one of its
tests failed, and reported on the failing test. Inner pytest runs point at this same cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_pods import Cluster
from pytest_pods.session import KEPT_LABEL
from tests.cluster.conftest import MANIFESTS, namespace_phase

pytestmark = pytest.mark.cluster

SHARED = """
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.pods_manifest(__MANIFEST__, scope="module")
OUT = Path(__OUT__)

def record(test, ns):
    pod = ns.pod("webserver").get()
    with OUT.open("a") as f:
        f.write(json.dumps({"test": test, "ns": ns.name, "uid": pod["metadata"]["uid"],
                            "applied": len(ns.applied)}) + "\\n")
"""


def _shared_modules(pytester: pytest.Pytester, **bodies: str) -> Path:
    """Test modules (name=body), each sharing one namespace of pods01.yaml among its tests; returns
    the file their ``record`` lines go to."""
    out = pytester.path / "seen.jsonl"
    manifest = repr(str(MANIFESTS / "pods01.yaml"))
    head = SHARED.replace("__MANIFEST__", manifest).replace("__OUT__", repr(str(out)))
    pytester.makepyfile(**{name: head + body for name, body in bodies.items()})
    return out


def test_a_module_namespace_is_applied_once_and_deleted_when_the_module_ends(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    three = "\n".join(
        f"def test_{i}(pods_namespace):\n    record('a{i}', pods_namespace)\n" for i in range(3)
    )
    out = _shared_modules(
        pytester,
        test_a=three,
        # runs after test_a.py: by then test_a's namespace must be on its way out
        test_b="""
def test_after(pods_namespace, pods_cluster):
    seen = [json.loads(line) for line in OUT.read_text().splitlines()]
    first = pods_cluster.kube.request("GET", f"/api/v1/namespaces/{seen[0]['ns']}")
    record("b", pods_namespace)
    with OUT.open("a") as f:
        f.write(json.dumps({"first_deleting": bool(first["metadata"].get("deletionTimestamp"))}) + "\\n")
""",
    )
    pytester.runpytest(*existing_args).assert_outcomes(passed=4)
    *tests, last = [json.loads(line) for line in out.read_text().splitlines()]
    a = [t for t in tests if t["test"].startswith("a")]
    assert len(a) == 3
    assert len({t["ns"] for t in a}) == 1 and len({t["uid"] for t in a}) == 1
    assert all(t["applied"] == 1 for t in tests), "the manifest was applied more than once"
    (b,) = [t for t in tests if t["test"] == "b"]
    assert b["ns"] != a[0]["ns"]
    assert last == {"first_deleting": True}, "the module's namespace outlived the module"
    assert namespace_phase(pods_cluster, a[0]["ns"]) in ("Terminating", "Gone")
    assert namespace_phase(pods_cluster, b["ns"]) in ("Terminating", "Gone")


def test_a_failing_test_in_a_shared_namespace_gets_its_report_and_keeps_the_namespace(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    out = _shared_modules(
        pytester,
        test_a="""
def test_passes(pods_namespace):
    record("passes", pods_namespace)

def test_fails(pods_namespace):
    record("fails", pods_namespace)
    assert pods_namespace.pod("webserver").phase == "Succeeded", "the test's own failure"

def test_passes_after(pods_namespace):
    record("after", pods_namespace)
""",
    )
    result = pytester.runpytest(*existing_args, "--pods-keep-namespace=on-failure", "-rA")
    result.assert_outcomes(passed=2, failed=1)
    seen = [json.loads(line) for line in out.read_text().splitlines()]
    (ns,) = {t["ns"] for t in seen}
    kubeconfig = str(pods_cluster.info.kubeconfig)
    try:
        # the failing test's report shows the shared namespace's pod, and how to look at it
        result.stdout.fnmatch_lines(
            [
                "*_ test_fails _*",
                "*the test's own failure*",
                f"*- pods: pod {ns}/webserver -*",
                f"pod {ns}/webserver: phase Running, node *, IP *",
                "  webserver: running, ready true, restarts 0",
                f"  kubectl --kubeconfig {kubeconfig} --context * -n {ns} describe pod webserver",
                f"  kubectl --kubeconfig {kubeconfig} delete namespace {ns}",
            ]
        )
        assert result.stdout.str().count(f"- pods: pod {ns}/webserver -") == 1, "only the failing test"
        result.stdout.fnmatch_lines(
            [
                f"kept namespace {ns} until *: kubectl * get all,events; "
                f"kubectl --kubeconfig {kubeconfig} delete namespace {ns}"
            ]
        )
        assert namespace_phase(pods_cluster, ns) == "Active"
        labels = pods_cluster.kube.request("GET", f"/api/v1/namespaces/{ns}")["metadata"]["labels"]
        assert labels[KEPT_LABEL] == "true"
    finally:
        pods_cluster.kube.request("DELETE", f"/api/v1/namespaces/{ns}")
