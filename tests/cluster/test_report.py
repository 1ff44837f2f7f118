"""The failure report, JUnit timings, namespace lifecycle and providers, through inner pytest runs
pointed at this same cluster with the existing provider."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_pods import Cluster
from pytest_pods.errors import ApiError
from pytest_pods.namespaces import RUN_LABEL, TEST_LABEL, WORKER_LABEL
from tests.cluster.conftest import MANIFESTS

pytestmark = pytest.mark.cluster

FAILING = """
import time
from pathlib import Path

import pytest

@pytest.mark.pods_manifest(__MANIFEST__)
def test_fails(pods_namespace, pods_apply):
    Path(__OUT__).write_text(pods_namespace.name)
    pods_apply({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "crasher"},
        "spec": {"containers": [{"name": "boom", "image": "debian",
                                 "command": ["sh", "-c", "echo crash-output-$HOSTNAME; sleep 5; exit 2"]}]},
    })
    pod = pods_namespace.pod("crasher")
    pod.wait_for_log("crash-output", timeout=60)
    deadline = time.monotonic() + 60
    while pod.restart_counts.get("boom", 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert False, "the test's own failure"
"""


def _namespace_exists(cluster: Cluster, name: str) -> bool:
    try:
        ns = cluster.kube.request("GET", f"/api/v1/namespaces/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return not ns["metadata"].get("deletionTimestamp")


def test_failure_report_sections_and_kept_namespace(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    out = pytester.path / "namespace.txt"
    pytester.makepyfile(
        test_inner=FAILING.replace("__MANIFEST__", repr(str(MANIFESTS / "pods01.yaml"))).replace(
            "__OUT__", repr(str(out))
        )
    )
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(*existing_args, "--pods-keep-namespace=on-failure", f"--junitxml={junit}")
    result.assert_outcomes(failed=1)
    ns = out.read_text()
    kubeconfig = str(pods_cluster.info.kubeconfig)
    text = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            f"*- pods: pod {ns}/crasher -*",
            f"pod {ns}/crasher: phase Running, node *, IP *",
            "conditions: *Ready=*PodScheduled=True*",
            "containers:",
            "  boom: running, ready true, restarts [1-9]*, last terminated: Error exit code 2",
            f"events in namespace {ns} (oldest first):",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "log of boom (last 30 lines):",
            "  crash-output-crasher",
            "log of boom before its last restart (last 30 lines):",
            "  crash-output-crasher",
            "look at it yourself:",
            f"  kubectl --kubeconfig {kubeconfig} --context * -n {ns} describe pod crasher",
            f"  kubectl --kubeconfig {kubeconfig} --context * -n {ns} get events --sort-by=.lastTimestamp",
            f"  kubectl --kubeconfig {kubeconfig} --context * -n {ns} logs crasher -c boom",
            f"  kubectl --kubeconfig {kubeconfig} --context * -n {ns} logs crasher -c boom --previous",
        ]
    )
    result.stdout.fnmatch_lines(
        [f"*- pods: pod {ns}/webserver -*", "  webserver: running, ready true, restarts 0"]
    )
    assert "BackOff" in text or "Started" in text
    assert "the test's own failure" in text
    # kept, and said so with the command that deletes it
    result.stdout.fnmatch_lines(
        [
            f"kept namespace {ns} until *: kubectl * get all,events; "
            f"kubectl --kubeconfig {kubeconfig} delete namespace {ns}"
        ]
    )
    try:
        assert _namespace_exists(pods_cluster, ns)
    finally:
        pods_cluster.kube.request("DELETE", f"/api/v1/namespaces/{ns}")
    # phase timings in the JUnit XML
    props = {p.get("name"): float(p.get("value", "nan")) for p in ET.parse(junit).iter("property")}
    assert {"pods_cluster_seconds", "pods_apply_seconds", "pods_ready_seconds"} <= set(props)
    assert props["pods_apply_seconds"] > 0
    assert props["pods_ready_seconds"] > 0


def test_namespace_is_labelled_and_cleaned_up(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    out = pytester.path / "namespace.txt"
    pytester.makepyfile(
        test_inner=f"""
        def test_passes(pods_namespace, pods_cluster):
            ns = pods_namespace.kube.request("GET", f"/api/v1/namespaces/{{pods_namespace.name}}")
            labels = ns["metadata"]["labels"]
            assert labels[{TEST_LABEL!r}] == "test_inner.py_test_passes"
            assert labels[{RUN_LABEL!r}] == pods_cluster.run_id
            assert labels[{WORKER_LABEL!r}] == "main"
            path = f"/api/v1/namespaces/{{pods_namespace.name}}/serviceaccounts/default"
            sa = pods_namespace.kube.request("GET", path)
            assert sa["metadata"]["name"] == "default"
            __import__("pathlib").Path({str(out)!r}).write_text(pods_namespace.name)
    """
    )
    pytester.runpytest(*existing_args).assert_outcomes(passed=1)
    assert not _namespace_exists(pods_cluster, out.read_text())


def test_existing_provider_against_the_local_clusters_kubeconfig(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    pytester.makepyfile(
        test_inner=f"""
        import pytest

        @pytest.mark.pods_manifest({str(MANIFESTS / "pods01.yaml")!r})
        def test_on_existing(pods_cluster, pods_namespace):
            assert pods_cluster.info.provider == "existing"
            assert pods_cluster.info.kubernetes_version == {pods_cluster.info.kubernetes_version!r}
            assert pods_namespace.pod("webserver").exec(["nginx", "-v"]).stderr.startswith("nginx version")
    """
    )
    result = pytester.runpytest(*existing_args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"pods: provider existing; cluster: kubeconfig {pods_cluster.info.kubeconfig}, context * at https://*",
            f"cluster: context * at https://*, Kubernetes {pods_cluster.info.kubernetes_version}, ready in *",
        ]
    )


def test_xdist_workers_share_the_cluster_with_a_namespace_each(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    out = pytester.path / "seen"
    out.mkdir()
    pytester.makepyfile(
        test_inner=f"""
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_parallel(pods_namespace, i):
            ns = pods_namespace.kube.request("GET", f"/api/v1/namespaces/{{pods_namespace.name}}")
            worker = ns["metadata"]["labels"][{WORKER_LABEL!r}]
            run = ns["metadata"]["labels"][{RUN_LABEL!r}]
            (__import__("pathlib").Path({str(out)!r}) / pods_namespace.name).write_text(worker + " " + run)
    """
    )
    pytester.runpytest(*existing_args, "-n", "2").assert_outcomes(passed=4)
    seen = {p.name: p.read_text().split() for p in out.iterdir()}
    assert len(seen) == 4
    assert {w for w, _ in seen.values()} == {"gw0", "gw1"}
    assert len({r for _, r in seen.values()}) == 1
    assert not any(_namespace_exists(pods_cluster, name) for name in seen)
