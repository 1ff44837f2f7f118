"""Kustomize overlays as manifests (issue 21, part 1), rendered by the real kustomize (the cached
kubectl's) and applied to the real cluster: a generator's hash suffix, a patch, a name prefix, labels,
images and a component, each seen on the objects and from inside a pod."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import ApiError, ManifestError

pytestmark = pytest.mark.cluster

KUSTOMIZE = Path(__file__).parent / "kustomize"


@pytest.mark.pods_manifest("kustomize/overlays/dev")
def test_marker_applies_the_overlay_and_waits_for_it(pods_namespace: Namespace) -> None:
    web = pods_namespace.workload("Deployment", "dev-web")  # namePrefix
    spec = web.get()["spec"]
    assert spec["replicas"] == 2  # the overlay's patch
    assert web.status["readyReplicas"] == 2  # waited for by the marker
    assert spec["selector"]["matchLabels"] == {"app": "web"}  # labels without includeSelectors
    pods = web.pods()
    assert len(pods) == 2
    for pod in pods:
        obj = pod.get()
        assert obj["metadata"]["labels"]["team"] == "pods"  # labels, into the template
        (container,) = obj["spec"]["containers"]
        assert container["image"] == "debian:latest"  # images
        assert container["env"] == [{"name": "DEBUG", "value": "on"}]  # the component's patch
        assert pod.exec(["cat", "/etc/settings/mode"]).stdout == "dev"  # the merged generator
    volume = pods[0].get()["spec"]["volumes"][0]["configMap"]["name"]
    assert volume.startswith("dev-settings-") and volume != "dev-settings"  # the hash suffix
    cm = pods_namespace.kube.request("GET", f"/api/v1/namespaces/{pods_namespace.name}/configmaps/{volume}")
    assert cm["data"] == {"mode": "dev"}


def test_apply_and_dry_run_take_a_kustomization_directory(pods_namespace: Namespace) -> None:
    dry = pods_namespace.dry_run(KUSTOMIZE / "overlays" / "dev")
    assert sorted(o["kind"] for o in dry) == ["ConfigMap", "Deployment"]
    with pytest.raises(ApiError) as gone:  # a dry run creates nothing
        pods_namespace.kube.request(
            "GET", f"/apis/apps/v1/namespaces/{pods_namespace.name}/deployments/dev-web"
        )
    assert gone.value.status == 404
    objs = pods_namespace.apply(KUSTOMIZE / "base", wait=True)
    names = {o["kind"]: o["metadata"]["name"] for o in objs}
    assert names["Deployment"] == "web" and names["ConfigMap"].startswith("settings-")
    (pod,) = pods_namespace.workload("Deployment", "web").pods()
    assert pod.exec(["cat", "/etc/settings/mode"]).stdout == "base"
    assert "DEBUG" not in str(pod.get()["spec"]["containers"][0].get("env"))


def test_kustomizes_error_names_the_file_before_any_cluster_work(pods_namespace: Namespace) -> None:
    broken = KUSTOMIZE / "overlays" / "broken"
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(broken)
    assert info.value.source == str(broken / "kustomization.yaml")
    assert "no-such-patch.yaml" in str(info.value)
    assert pods_namespace.applied == []
