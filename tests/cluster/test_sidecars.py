"""Init containers and native sidecars (init containers with restartPolicy Always) are containers of
the pod: reachable by name, waited for, and named in failures. Against the real cluster."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import ContainerNotFoundError, PodNotReadyError
from tests.cluster.conftest import shell_pod

pytestmark = pytest.mark.cluster


def with_sidecar(name: str, sidecar_command: str, **sidecar: Any) -> dict[str, Any]:
    shared = [{"name": "shared", "mountPath": "/shared"}]
    init = [
        {
            "name": "setup",
            "image": "debian",
            "command": ["sh", "-c", "echo setup-done > /shared/setup"],
            "volumeMounts": shared,
        },
        {
            "name": "shipper",
            "image": "debian",
            "restartPolicy": "Always",
            "command": ["sh", "-c", sidecar_command],
            "volumeMounts": shared,
            **sidecar,
        },
    ]
    return shell_pod(
        name,
        "echo main-up; sleep 600",
        {"volumeMounts": shared},
        initContainers=init,
        volumes=[{"name": "shared", "emptyDir": {}}],
    )


def test_a_native_sidecar_and_an_init_container_are_reachable(pods_namespace: Namespace) -> None:
    pods_namespace.apply(
        with_sidecar(
            "side",
            "echo shipping > /tmp/shipper-state; echo shipper-started; sleep 600",
            readinessProbe={"exec": {"command": ["cat", "/tmp/shipper-state"]}, "periodSeconds": 1},
        ),
        wait=True,
    )
    pod = pods_namespace.pod("side")
    assert pod.all_containers == ["setup", "shipper", "main"]
    assert pod.read_file("/tmp/shipper-state", container="shipper") == "shipping\n"
    assert pod.exec(["cat", "/shared/setup"], container="shipper").stdout == "setup-done\n"
    assert pod.wait_for_log("shipper-started", container="shipper", timeout=30) == "shipper-started"
    assert "shipper-started" in pod.logs(container="shipper")
    assert pod.logs(container="setup") == ""
    assert any("side" in e.names for e in pod.hosts(container="shipper"))
    assert pod.container(None) == "main"
    with pytest.raises(ContainerNotFoundError, match="the pod has: setup, shipper, main"):
        pod.read_file("/etc/hostname", container="nope")


def test_wait_ready_waits_for_the_sidecars_readiness(pods_namespace: Namespace) -> None:
    pods_namespace.apply(
        with_sidecar(
            "slowside",
            "sleep 4; touch /tmp/ok; sleep 600",
            readinessProbe={"exec": {"command": ["cat", "/tmp/ok"]}, "periodSeconds": 1},
        )
    )
    pod = pods_namespace.pod("slowside").wait_ready(timeout=120)
    shipper = next(c for c in pod.container_statuses if c.name == "shipper")
    assert shipper.sidecar and shipper.ready


def test_a_crashing_sidecar_fails_the_wait_fast_by_name(pods_namespace: Namespace) -> None:
    pods_namespace.apply(with_sidecar("badside", "echo shipper-dies; exit 5"))
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("badside").wait_ready(timeout=120)
    assert time.monotonic() - began < 30
    err = info.value
    assert err.reason in ("Error", "CrashLoopBackOff"), err
    assert "'shipper'" in err.detail
    assert "sidecar shipper" in str(err)
    assert "shipper-dies" in str(err)
