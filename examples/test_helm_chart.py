"""A small Helm chart (``chart/webserver``) rendered by Helm v4 for the test's namespace and applied:
what the values change is asserted on the cluster and read from inside a pod, the chart's own ``helm
test`` pod is run, and a bad image tag given through values fails at once. Point ``pods_chart`` at
your own chart."""

from __future__ import annotations

import pytest

from pytest_pods import Namespace, PodsError

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.pods_chart(
        "chart/webserver", values={"replicas": 2, "message": "hello from CI"}, scope="module"
    ),
]


def test_the_values_set_the_replicas(pods_namespace: Namespace) -> None:
    web = pods_namespace.workload("Deployment", "webserver")
    assert web.get()["spec"]["replicas"] == 2
    assert web.status["readyReplicas"] == 2


def test_every_pod_carries_the_release_label(pods_namespace: Namespace) -> None:
    for pod in pods_namespace.workload("Deployment", "webserver").pods():
        assert pod.get()["metadata"]["labels"]["app.kubernetes.io/instance"] == "webserver"


def test_nginx_serves_the_message_from_the_values(pods_namespace: Namespace) -> None:
    pod = pods_namespace.workload("Deployment", "webserver").pods()[0]
    assert pod.read_file("/usr/share/nginx/html/index.html") == "hello from CI\n"


def test_the_charts_own_helm_test_passes(pods_namespace: Namespace) -> None:
    (outcome,) = pods_namespace.chart_tests("webserver")
    assert outcome.passed, outcome.log
    assert "hello from CI" in outcome.log


def test_a_bad_image_tag_in_values_fails_fast(pods_namespace: Namespace) -> None:
    with pytest.raises(PodsError, match=r"ErrImagePull|ImagePullBackOff"):
        pods_namespace.apply_chart(
            "chart/webserver", release="broken", values={"image": {"tag": "no-such-tag"}}
        )
