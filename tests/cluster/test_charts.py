"""Helm charts as manifests (issue 21, part 2), rendered by the Helm v4 pytest-pods builds and applied
to the real cluster: values, ``--set``, ``.Release.Namespace`` and ``.Capabilities`` seen from inside a
pod, a vendored dependency, CRDs of ``crds/`` first, ``helm test`` pods that pass and fail, a bad image
tag through values that fails fast, and Helm's refusals before any cluster work."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from pytest_pods import ApiError, Chart, ChartError, ChartTestError, Namespace, PodsError

pytestmark = pytest.mark.cluster

CHARTS = Path(__file__).parent / "charts"


@pytest.mark.pods_chart("charts/web", set={"replicas": 2}, values={"message": "from the marker"})
def test_marker_renders_for_the_namespace_and_the_cluster(pods_namespace: Namespace) -> None:
    web = pods_namespace.workload("Deployment", "web-web")
    assert web.get()["spec"]["replicas"] == 2 and web.status["readyReplicas"] == 2  # --set, waited for
    pod = web.pods()[0]
    assert pod.read_file("/etc/settings/message") == "from the marker"  # values
    assert pod.read_file("/etc/settings/namespace") == pods_namespace.name  # .Release.Namespace
    assert pod.read_file("/etc/settings/apps") == "served"  # .Capabilities.APIVersions
    assert pod.read_file("/etc/settings/kube") == pods_namespace.info.kubernetes_version  # KubeVersion
    greeting = pods_namespace.kube.request(
        "GET", f"/api/v1/namespaces/{pods_namespace.name}/configmaps/web-greeting"
    )
    assert greeting["data"] == {"text": "hi from the subchart"}  # the vendored dependency, its values


def test_chart_tests_pass_then_fail_with_the_log(pods_namespace: Namespace) -> None:
    dry = pods_namespace.dry_run(Chart(CHARTS / "web", release="demo"))  # a Chart is a manifest source
    assert sorted(o["kind"] for o in dry) == ["ConfigMap", "ConfigMap", "Deployment"]  # no test hook
    with pytest.raises(ApiError) as gone:  # nothing was made
        pods_namespace.workload("Deployment", "demo-web").get()
    assert gone.value.status == 404
    pods_namespace.apply_chart(CHARTS / "web", release="demo")
    (outcome,) = pods_namespace.chart_tests("demo")
    assert (outcome.name, outcome.passed, outcome.phase) == ("demo-test-message", True, "Succeeded")
    assert "message ok" in outcome.log
    # what the test checks is changed behind the chart's back: the same test pod now fails
    pods_namespace.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "demo-settings"},
            "data": {"message": "tampered"},
        }
    )
    with pytest.raises(ChartTestError) as info:
        pods_namespace.chart_tests("demo")
    assert info.value.pod == "demo-test-message" and info.value.release == "demo"
    assert "checking the message" in info.value.log and "checking the message" in str(info.value)
    (failed,) = pods_namespace.chart_tests("demo", check=False)
    assert (failed.passed, failed.phase) == (False, "Failed")


def test_a_bad_image_tag_through_values_fails_fast(pods_namespace: Namespace) -> None:
    began = time.monotonic()
    with pytest.raises(PodsError) as info:
        pods_namespace.apply_chart(CHARTS / "web", values={"image": {"tag": "no-such-tag-0"}}, timeout=120)
    assert time.monotonic() - began < 60
    assert "ImagePull" in str(info.value) or "ErrImage" in str(info.value)
    assert "debian:no-such-tag-0" in str(info.value)


@pytest.mark.parametrize(
    ("given", "file", "words"),
    [
        ({"set": {"replicas": "two"}}, "values.schema.json", "replicas"),
        ({"values": {"image": {"tag": None}}}, "templates/deployment.yaml", "image.tag is required"),
    ],
    ids=["schema", "template"],
)
def test_helms_refusal_names_the_file_before_any_cluster_work(
    pods_namespace: Namespace, given: dict[str, dict[str, object]], file: str, words: str
) -> None:
    with pytest.raises(ChartError) as info:
        pods_namespace.apply_chart(CHARTS / "web", **given)  # type: ignore[arg-type]
    assert info.value.source == str(CHARTS / "web" / file)
    assert words in str(info.value)
    assert pods_namespace.applied == []


def test_crds_of_the_chart_go_first(pods_namespace: Namespace, tmp_path: Path) -> None:
    group = f"pp{secrets.token_hex(3)}.example.com"
    chart = tmp_path / "widgets"
    (chart / "crds").mkdir(parents=True)
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: widgets\nversion: 0.1.0\n")
    (chart / "crds" / "widget.yaml").write_text(
        f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: widgets.{group}}}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""
    )
    (chart / "templates" / "widget.yaml").write_text(
        f"apiVersion: {group}/v1\nkind: Widget\n"
        "metadata:\n  name: {{ .Release.Name }}\nsize: {{ .Values.size }}\n"
    )
    (chart / "values.yaml").write_text("size: 3\n")
    objs = pods_namespace.apply_chart(chart)
    assert [o["kind"] for o in objs] == ["CustomResourceDefinition", "Widget"]
    widget = pods_namespace.wait_for(f"widgets.{group}", "widgets")
    assert widget["size"] == 3 and widget["metadata"]["namespace"] == pods_namespace.name


def test_on_the_existing_provider_a_chart_and_an_overlay_work_as_markers(
    pytester: pytest.Pytester, existing_args: list[str]
) -> None:
    """An inner run on this same cluster through ``--pods-provider=existing``: the renderers need
    nothing of the provider; the markers go through the session's look-ahead like any manifest."""
    overlay = Path(__file__).parent / "kustomize" / "overlays" / "dev"
    pytester.makepyfile(
        test_rendered=f"""
        import pytest

        def test_first(pods_namespace):
            pass

        @pytest.mark.pods_chart({str(CHARTS / "web")!r}, release="inner", set={{"message": "existing"}})
        def test_chart(pods_namespace):
            pod = pods_namespace.workload("Deployment", "inner-web").pods()[0]
            assert pod.read_file("/etc/settings/message") == "existing"
            assert pod.read_file("/etc/settings/namespace") == pods_namespace.name
            assert [t.passed for t in pods_namespace.chart_tests("inner")] == [True]

        @pytest.mark.pods_manifest({str(overlay)!r})
        def test_overlay(pods_namespace):
            assert pods_namespace.workload("Deployment", "dev-web").status["readyReplicas"] == 2
        """
    )
    result = pytester.runpytest(*existing_args)
    result.assert_outcomes(passed=3)
