"""A kustomization directory as a manifest: detection, the offline refusal of remote targets, the
kubectl that renders it, and kustomize's errors named after the kustomization file. Rendering runs
the real ``kubectl kustomize`` of the cached build (no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods import manifests
from pytest_pods.core import DEFAULT_KUBERNETES_VERSION
from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import ManifestError, PreflightError
from pytest_pods.render import kustomize, tools

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {replicas: 1, selector: {matchLabels: {app: web}},
       template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: nginx:1.27}]}}}
"""


def overlay(tmp_path: Path, kustomization: str) -> Path:
    """``tmp_path/overlay`` over :func:`base` (made too)."""
    base(tmp_path)
    d = tmp_path / "overlay"
    d.mkdir()
    (d / "kustomization.yaml").write_text(kustomization)
    return d


def base(tmp_path: Path) -> Path:
    d = tmp_path / "base"
    d.mkdir()
    (d / "deployment.yaml").write_text(DEPLOYMENT)
    (d / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [mode=base]\n"
    )
    return d


@pytest.mark.parametrize("name", kustomize.KUSTOMIZATION_FILES)
def test_each_kustomization_file_name_is_found(tmp_path: Path, name: str) -> None:
    assert kustomize.kustomization_file(tmp_path) is None
    (tmp_path / name).write_text("resources: []\n")
    assert kustomize.kustomization_file(tmp_path) == tmp_path / name


@pytest.mark.parametrize(
    "target",
    [
        "github.com/kubernetes-sigs/kustomize/examples/multibases?ref=v1.0.6",
        "https://github.com/org/repo//deploy?ref=main",
        "git@github.com:org/repo.git/deploy",
        "https://example.com/manifests/all.yaml",
        "gitlab.example.org/team/app/base",
    ],
)
def test_a_remote_target_is_found_however_deep(tmp_path: Path, target: str) -> None:
    top = overlay(tmp_path, "resources:\n- ../base\n")
    (tmp_path / "base" / "kustomization.yaml").write_text(f"resources:\n- deployment.yaml\n- {target}\n")
    (found,) = kustomize.remote_references(top)
    assert (found.file, found.field, found.target) == (
        tmp_path / "base" / "kustomization.yaml",
        "resources",
        target,
    )


def test_local_paths_and_components_are_not_remote(tmp_path: Path) -> None:
    base(tmp_path)
    comp = tmp_path / "comp"
    comp.mkdir()
    (comp / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
    )
    (tmp_path / "kustomization.yaml").write_text("resources: [base]\ncomponents: [comp]\n")
    assert kustomize.remote_references(tmp_path) == []


def test_a_remote_base_is_refused_at_once_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("bases:\n- github.com/org/repo/base?ref=v1\n")
    with pytest.raises(ManifestError) as info:
        manifests.load(tmp_path)
    assert info.value.source == str(tmp_path / "kustomization.yaml")
    assert "bases names a remote target 'github.com/org/repo/base?ref=v1'" in str(info.value)
    assert "offline" in str(info.value) and "vendor it" in str(info.value)


def test_a_plain_directory_is_still_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is a directory, not a manifest file"):
        manifests.load(tmp_path)


def test_a_kustomization_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n- a\n  b: [\n")
    with pytest.raises(ManifestError) as info:
        kustomize.remote_references(tmp_path)
    assert info.value.source.endswith("kustomization.yaml") and info.value.line is not None


def test_error_detail_keeps_kustomizes_words() -> None:
    assert kustomize.error_detail("error: accumulating resources: boom\n\n") == "accumulating resources: boom"
    assert kustomize.error_detail("") == "kubectl kustomize failed with no message"


def test_no_built_kubectl_names_ci_install(tmp_path: Path) -> None:
    with pytest.raises(PreflightError) as info:
        tools.kubectl(CachePaths(tmp_path))
    assert ".ci/install" in str(info.value) and info.value.missing == "kubectl"


def test_the_default_versions_kubectl_first_else_the_newest(tmp_path: Path) -> None:
    cache = CachePaths(tmp_path)
    for version in ("v1.9.0", "v1.30.1"):
        (cache.bin_dir("kubernetes", version)).mkdir(parents=True)
        (cache.bin_dir("kubernetes", version) / "kubectl").write_text("")
    assert tools.kubectl(cache) == cache.bin_dir("kubernetes", "v1.30.1") / "kubectl"
    default = cache.bin_dir("kubernetes", DEFAULT_KUBERNETES_VERSION)
    default.mkdir(parents=True)
    (default / "kubectl").write_text("")
    assert tools.kubectl(cache) == default / "kubectl"


# --- the real kustomize (the cached kubectl; no cluster) ------------------------------------------------


def test_rendered_by_the_real_kustomize(tmp_path: Path) -> None:
    top = overlay(
        tmp_path,
        "resources: [../base]\nnamePrefix: dev-\nlabels:\n- pairs: {team: pods}\n"
        "images:\n- name: nginx\n  newTag: '1.28'\n",
    )
    docs = manifests.load("overlay", base_dir=tmp_path)
    labels = sorted(d.label for d in docs)
    assert labels[1] == "Deployment/dev-web"
    assert labels[0].startswith("ConfigMap/dev-settings-") and len(labels[0]) > len("ConfigMap/dev-settings-")
    deploy = next(d for d in docs if d.kind == "Deployment")
    assert deploy.obj["metadata"]["labels"] == {"team": "pods"}
    assert deploy.obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert deploy.source == str(top / "kustomization.yaml") and deploy.line is None


def test_kustomizes_error_names_the_file_and_the_problem(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    with pytest.raises(ManifestError) as info:
        manifests.load(tmp_path)
    assert info.value.source == str(tmp_path / "kustomization.yaml")
    assert "kustomize failed:" in str(info.value) and "missing.yaml" in str(info.value)


def test_a_schema_error_in_the_output_is_named_after_the_kustomization(tmp_path: Path) -> None:
    base(tmp_path)
    (tmp_path / "base" / "deployment.yaml").write_text(
        DEPLOYMENT.replace("replicas: 1,", "replicas: 1, replica: 2,")
    )
    with pytest.raises(ManifestError) as info:
        manifests.check(manifests.load(tmp_path / "base"))
    assert info.value.source == str(tmp_path / "base" / "kustomization.yaml")
    assert info.value.obj == "Deployment/web" and "replica" in str(info.value)
