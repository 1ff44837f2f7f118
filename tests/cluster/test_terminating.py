"""A pod that is being deleted but still runs (its grace period, a preStop hook) is reachable, as in
the Kubernetes docs' graceful termination: the old pod keeps serving while it terminates. A wait for
such a pod to become Ready fails at once (``Terminating``). Against the real cluster."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_pods import Namespace, Pod
from pytest_pods.errors import PodError, PodNotReadyError

pytestmark = pytest.mark.cluster

#: How long the preStop hook keeps the pod running once it is deleted (seconds).
GRACE = 60


def slow_to_stop() -> dict[str, Any]:
    """The nginx stand-in, with a preStop hook that sleeps: nginx serves on while the pod terminates."""
    container = {
        "name": "web",
        "image": "nginx:latest",
        "ports": [{"containerPort": 80}],
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(GRACE)]}}},
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "old"},
        "spec": {"terminationGracePeriodSeconds": GRACE + 30, "containers": [container]},
    }


@pytest.fixture
def terminating(pods_namespace: Namespace) -> Iterator[Pod]:
    """The pod, Ready, then deleted without waiting: it runs its preStop hook for GRACE seconds."""
    pods_namespace.apply(slow_to_stop(), wait=True)
    pod = pods_namespace.pod("old")
    pod.delete(wait=False)
    deadline = time.monotonic() + 30
    while not (pod.get().get("metadata") or {}).get("deletionTimestamp"):
        assert time.monotonic() < deadline, "the pod was not marked for deletion"
        time.sleep(0.1)
    yield pod
    pod.delete(grace_period=0)


def test_a_pod_being_deleted_still_serves_and_runs_commands(terminating: Pod) -> None:
    assert terminating.phase == "Running"
    answer = terminating.http_get(80, timeout=20)
    assert answer.status == 200 and "nginx" in answer.text
    assert terminating.exec(["cat", "/etc/hostname"]).stdout.strip() == "old"
    assert terminating.read_file("/etc/hostname").strip() == "old"
    assert isinstance(terminating.logs(), str)
    with terminating.port_forward(80, timeout=20) as port:
        assert port > 0


def test_a_wait_for_ready_on_a_pod_being_deleted_fails_at_once(terminating: Pod) -> None:
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        terminating.wait_ready(timeout=60)
    assert info.value.reason == "Terminating"
    assert "the pod is being deleted" in str(info.value)
    assert time.monotonic() - began < 10


def test_exec_into_a_container_that_already_stopped_says_why(pods_namespace: Namespace) -> None:
    """The docs' lifecycle example: nginx's preStop quits it at once, while another container's preStop
    keeps the pod Terminating: an exec into the stopped one says the pod is being deleted and its
    process has exited, not only the runtime's words. (Here the kubelet sends SIGTERM only after the
    preStop hooks, and writes the containers' states only once the whole pod has stopped.)"""
    pod_json = slow_to_stop()
    quitter = {
        "name": "quitter",
        "image": "nginx:latest",
        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", "kill 1"]}}},  # as `nginx -s quit`
    }
    pod_json["spec"]["containers"].append(quitter)
    pods_namespace.apply(pod_json, wait=True)
    pod = pods_namespace.pod("old")
    pod.delete(wait=False)
    try:
        # ask the runtime, by exec, until the quitter is gone (the pod's status does not say yet)
        deadline = time.monotonic() + 30
        while True:
            try:
                pod.exec(["true"], container="quitter")
            except PodError as exc:
                error = str(exc)
                break
            assert time.monotonic() < deadline, "the quitter did not stop"
            time.sleep(0.2)
        # the runtime's words vary with the moment (pods._STOPPED knows them); the reason is ours
        assert "the pod is being deleted and its process has already exited" in error
        assert pod.exec(["true"], container="web").returncode == 0  # the other one still runs
    finally:
        pod.delete(grace_period=0)
