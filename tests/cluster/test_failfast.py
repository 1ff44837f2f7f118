"""Each reason that will not heal makes wait_ready fail at once, triggered for real."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import PodNotReadyError

pytestmark = pytest.mark.cluster

TIMEOUT = 180.0  # the waits below must end long before this


def pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", **container}], "terminationGracePeriodSeconds": 0, **spec},
    }


CASES = {
    "ErrImagePull": (
        pod("pull", {"image": "pytest-pods.invalid/nope:1"}),
        {"ErrImagePull", "ImagePullBackOff"},
    ),
    "InvalidImageName": (pod("invalid", {"image": "UPPER/case::bad"}), {"InvalidImageName"}),
    # The probe keeps the container from being Ready in the instant before it exits (a pod that
    # is Ready, however briefly, rightly ends wait_ready).
    "CrashLoopBackOff": (
        pod(
            "crash",
            {
                "image": "debian",
                "command": ["sh", "-c", "echo dying; exit 1"],
                "readinessProbe": {"exec": {"command": ["false"]}},
            },
        ),
        {"CrashLoopBackOff"},
    ),
    "CreateContainerConfigError": (
        pod(
            "config",
            {
                "image": "debian",
                "command": ["sleep", "600"],
                "env": [
                    {
                        "name": "PASSWORD",
                        "valueFrom": {"secretKeyRef": {"name": "missing-secret", "key": "password"}},
                    }
                ],
            },
        ),
        {"CreateContainerConfigError"},
    ),
    "Unschedulable": (
        pod("nowhere", {"image": "nginx"}, nodeSelector={"pytest-pods/no-such-node": "true"}),
        {"Unschedulable"},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wait_ready_fails_fast_naming_the_reason(pods_namespace: Namespace, case: str) -> None:
    manifest, reasons = CASES[case]
    name = manifest["metadata"]["name"]
    pods_namespace.apply(manifest)
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod(name).wait_ready(timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason in reasons
    assert elapsed < 60, f"{case} took {elapsed:.1f}s: not fast"
    assert (err.namespace, err.pod) == (pods_namespace.name, name)
    text = str(err)
    assert f"pod {pods_namespace.name}/{name}: {err.reason}" in text
    assert "phase: Pending" in text or "phase: Running" in text
    assert "hint:" in text
    if case == "Unschedulable":
        assert "node(s) didn't match" in text or "didn't match Pod's node affinity/selector" in text
    else:
        assert f"container main: waiting ({err.reason}" in text
    if case == "CrashLoopBackOff":
        assert "last exit code 1" in text
    if case == "CreateContainerConfigError":
        assert "missing-secret" in text


def test_timeout_names_phase_and_each_container_state(pods_namespace: Namespace) -> None:
    never_ready = pod(
        "slow", {"image": "nginx", "readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}}
    )
    pods_namespace.apply(never_ready)
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("slow").wait_ready(timeout=8)
    assert 8 <= time.monotonic() - began < 30
    text = str(info.value)
    assert info.value.reason == "Timeout"
    assert "Timeout: not Ready after 8s (phase: Running)" in text
    assert "container main: running, ready false, restarts 0" in text
    assert "Ready=False (ContainersNotReady" in text
    assert "recent events:" in text


def test_a_container_that_exits_at_start_is_caught_by_a_stability_window(pods_namespace: Namespace) -> None:
    """Without a readiness probe such a container can be Ready for an instant; ``stable`` asks for
    the pod to stay Ready, so the crash that follows fails the wait (well before its timeout)."""
    manifest = pod("flicker", {"image": "debian", "command": ["sh", "-c", "echo started; exit 3"]})
    pods_namespace.apply(manifest)
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("flicker").wait_ready(timeout=TIMEOUT, stable=3)
    assert info.value.reason == "CrashLoopBackOff", info.value
    assert time.monotonic() - began < 60
    assert "last exit code 3" in str(info.value)


def test_a_pod_that_stays_ready_passes_the_stability_window(pods_namespace: Namespace) -> None:
    pods_namespace.apply(pod("steady", {"image": "debian", "command": ["sleep", "600"]}))
    began = time.monotonic()
    pods_namespace.pod("steady").wait_ready(timeout=TIMEOUT, stable=2)
    assert time.monotonic() - began >= 2
