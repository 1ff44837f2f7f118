"""Pods101, step 1 (pods01.yaml): one nginx pod called ``webserver``.

The lab runs ``kubectl apply``, ``get pods -o wide``, ``describe``, ``get -o json``, ``exec`` and
``delete``; each observable result of those commands is a test here. The tests that only look at the
pod share one namespace, applied once for the module (``scope="module"``); the one that deletes the
pod has a namespace of its own (its own marker is per test, and the narrowest scope wins).
"""

from __future__ import annotations

import uuid

import pytest

from pytest_pods import Namespace, assert_log_contains

pytestmark = [pytest.mark.cluster, pytest.mark.pods_manifest("pods01.yaml", scope="module")]


def test_webserver_is_running_and_ready_1_of_1_with_an_ip_and_a_node(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    assert pod.phase == "Running"
    assert [(c.name, c.ready) for c in pod.container_statuses] == [("webserver", True)]
    assert pod.ip
    assert pod.node


def test_describe_shows_image_port_restarts_and_true_conditions(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    (container,) = pod.get()["spec"]["containers"]
    assert container["image"] == "nginx:latest"
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]  # "Port: 80/TCP"
    assert pod.restart_counts == {"webserver": 0}
    for condition in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
        assert pod.conditions[condition] == "True", pod.conditions


def test_get_pods_json_has_the_fields_the_lab_shows(pods_namespace: Namespace) -> None:
    obj = pods_namespace.pod("webserver").get()
    assert obj["apiVersion"] == "v1" and obj["kind"] == "Pod"
    meta = obj["metadata"]
    assert meta["name"] == "webserver"
    assert meta["namespace"] == pods_namespace.name
    assert {"uid", "resourceVersion", "creationTimestamp"} <= meta.keys()
    (container,) = obj["spec"]["containers"]
    assert container["imagePullPolicy"] == "Always"  # the default for :latest
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    status = obj["status"]
    assert status["phase"] == "Running"
    assert status["podIP"] and status["hostIP"] and status["startTime"]
    (cstatus,) = status["containerStatuses"]
    assert cstatus["containerID"].startswith("containerd://")
    assert "nginx" in cstatus["image"] and cstatus["imageID"]


def test_exec_bash_shows_a_debian(pods_namespace: Namespace) -> None:
    result = pods_namespace.pod("webserver").exec(["/bin/bash", "-c", "cat /etc/os-release"])
    assert result.returncode == 0
    assert 'NAME="Debian GNU/Linux"' in result.stdout
    assert "ID=debian" in result.stdout.splitlines()


def test_an_http_request_is_answered_and_then_logged(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    marker = f"pods101-{uuid.uuid4().hex[:8]}"
    answer = pod.http_get(80, f"/?from={marker}")  # through a port-forward, once nginx listens
    assert answer.status == 200
    assert "Welcome to nginx!" in answer.text
    line = pod.wait_for_log(rf'"GET /\?from={marker} HTTP/1\.1" 200', timeout=10)
    assert marker in line


def test_the_logs_show_the_entrypoint_start_up_lines(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    assert_log_contains(pod, r"/docker-entrypoint\.d/ is not empty, will attempt to perform configuration")
    assert_log_contains(pod, r"Configuration complete; ready for start up")


@pytest.mark.pods_manifest("pods01.yaml")
def test_after_delete_the_pod_is_gone(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    pod.delete()
    assert [p.name for p in pods_namespace.pods()] == []  # "No resources found."
