"""A kustomize overlay as the team ships it (``kustomize/overlays/staging`` over ``kustomize/base``),
rendered by the real kustomize and applied: what the overlay changes is asserted on the cluster, the
page its generator makes read from inside a pod. Point ``pods_manifest`` at your own overlay."""

from __future__ import annotations

import pytest

from pytest_pods import Namespace

pytestmark = [pytest.mark.cluster, pytest.mark.pods_manifest("kustomize/overlays/staging", scope="module")]


def test_the_overlay_scales_the_webserver_to_three(pods_namespace: Namespace) -> None:
    web = pods_namespace.workload("Deployment", "staging-webserver")
    assert web.get()["spec"]["replicas"] == 3
    assert web.status["readyReplicas"] == 3
    assert len(web.pods()) == 3


def test_every_pod_carries_the_env_label(pods_namespace: Namespace) -> None:
    for pod in pods_namespace.workload("Deployment", "staging-webserver").pods():
        assert pod.get()["metadata"]["labels"]["env"] == "staging"


def test_nginx_serves_the_overlays_page(pods_namespace: Namespace) -> None:
    pod = pods_namespace.workload("Deployment", "staging-webserver").pods()[0]
    assert pod.read_file("/usr/share/nginx/html/index.html") == "hello from staging\n"
    # the generated ConfigMap's name has kustomize's hash suffix
    volume = pod.get()["spec"]["volumes"][0]["configMap"]["name"]
    assert volume.startswith("staging-page-") and len(volume) > len("staging-page-")
