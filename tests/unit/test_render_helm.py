"""A Helm chart as a manifest, the pure parts: offline refusals (a remote reference, a dependency not
vendored), Helm's messages mapped to the file they name, the split of ``helm template``'s output and
its ``helm test`` hooks, the ``pods_chart`` marker's signature; and one rendering by the real Helm
(the cached build; no cluster)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from pytest_pods import Chart, ChartError, manifests, validate_pods_chart
from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import PreflightError
from pytest_pods.render import helm, tools

WEB = Path(__file__).parents[1] / "cluster" / "charts" / "web"


def chart(tmp_path: Path, chart_yaml: str = "apiVersion: v2\nname: app\nversion: 0.1.0\n") -> Path:
    d = tmp_path / "app"
    (d / "templates").mkdir(parents=True)
    (d / "Chart.yaml").write_text(chart_yaml)
    return d


@pytest.mark.parametrize(
    "ref", ["oci://registry.example.com/charts/app", "https://example.com/app-1.0.0.tgz", "bitnami/nginx"]
)
def test_a_remote_chart_reference_is_refused_at_once(ref: str) -> None:
    with pytest.raises(ChartError) as info:
        helm.resolve(ref)
    assert info.value.chart == ref and "remote chart reference" in str(info.value)
    assert "offline" in str(info.value) and "helm pull" in str(info.value)


def test_a_local_chart_is_found_from_the_base_dir(tmp_path: Path) -> None:
    d = chart(tmp_path)
    assert helm.resolve("app", tmp_path) == d
    with pytest.raises(ChartError, match="no such chart"):
        helm.resolve("missing-dir", tmp_path)


def test_a_vendored_dependency_passes(tmp_path: Path) -> None:
    d = chart(
        tmp_path,
        "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n"
        "- {name: db, version: 1.0.0, repository: https://charts.example.com}\n"
        "- {name: cache, version: 2.0.0, repository: oci://r.example.com/c}\n",
    )
    (d / "charts" / "db").mkdir(parents=True)
    (d / "charts" / "db" / "Chart.yaml").write_text("apiVersion: v2\nname: db\nversion: 1.0.0\n")
    (d / "charts" / "cache-2.0.0.tgz").write_bytes(b"")
    helm.check_dependencies(d)


@pytest.mark.parametrize(
    ("repository", "words"),
    [
        ("https://charts.example.com", "needs a download from https://charts.example.com"),
        ("oci://r.example.com/charts", "needs a download from oci://r.example.com/charts"),
        ("file://../db", "is not vendored under charts/"),
    ],
)
def test_a_dependency_not_vendored_is_refused_naming_it(tmp_path: Path, repository: str, words: str) -> None:
    d = chart(
        tmp_path,
        f"apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: db\n  repository: {repository}\n",
    )
    with pytest.raises(ChartError) as info:
        helm.check_dependencies(d)
    assert info.value.source == str(d / "Chart.yaml")
    assert "dependency 'db'" in str(info.value) and words in str(info.value)


def test_an_old_charts_requirements_are_checked_too(tmp_path: Path) -> None:
    d = chart(tmp_path, "apiVersion: v1\nname: app\nversion: 0.1.0\n")
    (d / "requirements.yaml").write_text("dependencies:\n- {name: db, repository: https://x.example.com}\n")
    with pytest.raises(ChartError) as info:
        helm.check_dependencies(d)
    assert info.value.source == str(d / "requirements.yaml")


def test_a_directory_without_chart_yaml_is_not_a_chart(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match=r"no Chart\.yaml"):
        helm.check_dependencies(tmp_path)


@pytest.mark.parametrize(
    ("output", "file", "line"),
    [
        (
            'Error: template: app/templates/deploy.yaml:7:20: executing "app/templates/deploy.yaml" '
            "at <.Values.x.y>: "
            "nil pointer evaluating interface {}.y",
            "templates/deploy.yaml",
            7,
        ),
        (
            'Error: parse error at (app/templates/cm.yaml:3): unexpected "}" in operand',
            "templates/cm.yaml",
            3,
        ),
        (
            "Error: execution error at (app/templates/deploy.yaml:20:50): image.tag is required\n"
            "Use --debug flag to render out invalid YAML",
            "templates/deploy.yaml",
            20,
        ),
        (
            "Error: YAML parse error on app/charts/sub/templates/x.yaml: "
            "error converting YAML to JSON: yaml: line 5",
            "charts/sub/templates/x.yaml",
            None,
        ),
        (
            "Error: values don't meet the specifications of the schema(s) in the following chart(s):\napp:\n"
            "- at '/replicas': got string, want integer",
            "values.schema.json",
            None,
        ),
    ],
    ids=["template", "parse", "required", "yaml", "schema"],
)
def test_helms_message_names_the_file(tmp_path: Path, output: str, file: str, line: int | None) -> None:
    d = chart(tmp_path)
    err = helm.chart_error("app", d, output)
    assert (err.source, err.line, err.chart) == (str(d / file), line, "app")
    assert err.detail.startswith(output.removeprefix("Error: ").splitlines()[0])
    assert "--debug" not in str(err)


def test_a_bad_values_file_is_named() -> None:
    err = helm.chart_error(
        "app",
        Path("/c/app"),
        "Error: failed to parse /t/bad.yaml: error converting YAML to JSON: yaml: line 2: x",
    )
    assert (err.source, err.line) == ("/t/bad.yaml", 2)


RENDERED = """\
---
# Source: app/templates/cm.yaml
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
---
# Source: app/templates/tests/t.yaml
apiVersion: v1
kind: Pod
metadata:
  name: t
  annotations: {"helm.sh/hook": "test"}
---
# Source: app/templates/empty.yaml
# nothing rendered
"""


def test_the_output_is_split_by_source_and_test_hooks_found(tmp_path: Path) -> None:
    d = chart(tmp_path)
    parts = helm.split(RENDERED, d)
    assert [s for s, _ in parts] == [str(d / "templates/cm.yaml"), str(d / "templates/tests/t.yaml")]
    assert [helm.is_test_hook(text) for _, text in parts] == [False, True]
    assert helm.is_test_hook("metadata: {annotations: {helm.sh/hook: 'pre-install,test-success'}}")


def test_the_marker_checks_its_arguments() -> None:
    marker = validate_pods_chart(
        "charts/web", release="r", values={"a": 1}, values_files="v.yaml", scope="module"
    )
    assert marker.manifests == (Chart("charts/web", "r", {"a": 1}, ("v.yaml",), None),)
    assert marker.scope == "module" and marker.wait
    with pytest.raises(TypeError, match="mapping"):
        validate_pods_chart("c", values=["a"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scope"):
        validate_pods_chart("c", scope="forever")
    with pytest.raises(TypeError, match="chart directory"):
        validate_pods_chart(3)  # type: ignore[arg-type]


# --- the real Helm (the cached build; no cluster) ----------------------------------------------------


def test_rendered_by_the_real_helm_for_a_namespace_and_a_cluster() -> None:
    out = helm.render(
        Chart(WEB, release="r1", set={"replicas": 3}),
        namespace="ns-given",
        kube_version="v1.31.4",
        api_versions=["apps/v1", "apps/v1/Deployment"],
    )
    assert out.release == "r1" and out.path == WEB
    text = "".join(t for _, t in out.documents)
    assert "replicas: 3" in text and 'namespace: "ns-given"' in text
    assert 'apps: "served"' in text and 'kube: "v1.31.4"' in text
    assert [s for s, _ in out.tests] == [str(WEB / "templates/tests/test-message.yaml")]
    assert str(WEB / "charts/greeting/templates/configmap.yaml") in [s for s, _ in out.documents]


def test_without_the_api_the_capability_is_not_seen() -> None:
    out = helm.render(Chart(WEB), namespace="n", api_versions=[])
    assert 'apps: "served"' not in "".join(t for _, t in out.documents)


def test_a_packaged_chart_and_values_files(tmp_path: Path) -> None:
    """A ``.tgz`` (as ``helm package`` makes it) renders as its directory does; its release defaults to
    the name in its Chart.yaml (not the file's), and its documents name the file inside the package."""
    packaged = tmp_path / "web-chart-0.1.0.tgz"
    with tarfile.open(packaged, "w:gz") as tar:
        tar.add(WEB, arcname="web")
    (tmp_path / "ci-values.yaml").write_text("replicas: 4\nmessage: from a values file\n")
    out = helm.render(
        Chart("web-chart-0.1.0.tgz", values_files=("ci-values.yaml",)), namespace="n", base_dir=tmp_path
    )
    assert out.release == "web"
    text = "".join(t for _, t in out.documents)
    assert "replicas: 4" in text and '"from a values file"' in text
    assert f"{packaged}:web/templates/deployment.yaml" in [s for s, _ in out.documents]
    (tmp_path / "not-a-chart.tgz").write_bytes(b"plain bytes")
    with pytest.raises(ChartError, match="not a packaged chart"):
        helm.render(Chart(tmp_path / "not-a-chart.tgz"), namespace="n")


def test_no_helm_built_and_no_go_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(PreflightError) as info:
        tools.helm(CachePaths(tmp_path))
    assert info.value.missing == "helm" and "`pytest-pods helm install`" in str(info.value)
    assert "no go command" in str(info.value) and "install Go" in info.value.fix
    assert str(tmp_path / "bin" / f"helm-{tools.HELM_VERSION}" / "helm") in str(info.value)


def test_helm_is_built_on_first_use_when_go_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[CachePaths] = []

    def install(cache: CachePaths, progress: object) -> Path:  # the real one: minutes of go install
        built.append(cache)
        return tools.cached_helm(cache)

    monkeypatch.setattr(tools, "install_helm", install)
    said: list[str] = []
    cache = CachePaths(tmp_path)
    assert tools.helm(cache, said.append) == tools.cached_helm(cache)
    assert built == [cache]
    assert said and "building it once" in said[0] and "`pytest-pods helm install`" in said[0]


def test_a_built_helm_is_found_and_not_built_again(tmp_path: Path) -> None:

    cache = CachePaths(tmp_path)
    built = cache.bin_dir("helm", tools.HELM_VERSION) / "helm"
    built.parent.mkdir(parents=True)
    built.write_text("")
    said: list[str] = []
    assert tools.install_helm(cache, said.append) == built == tools.helm(cache)
    assert said == []  # no go command ran, nothing to report


def test_a_chart_needs_a_namespace_to_be_rendered_for() -> None:

    with pytest.raises(TypeError, match="apply_chart"):
        manifests.load(Chart(WEB))
