"""The attach witness behind Ready that holds, on the real cluster: it sees a running container
alive and its end at once, and a hold falls back to the pod's status where it cannot see."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import PodNotReadyError
from pytest_pods.kube import Kube
from pytest_pods.pods import Pod
from pytest_pods.waits.hold import AttachWitness, Sight
from tests.cluster.conftest import service_account_kubeconfig, shell_pod

pytestmark = pytest.mark.cluster

TIMEOUT = 120.0


def _until(check: Any, limit: float) -> float:
    began = time.monotonic()
    while not check():
        assert time.monotonic() - began < limit, f"not within {limit}s"
        time.sleep(0.02)
    return time.monotonic() - began


@pytest.fixture
def witness(pods_namespace: Namespace) -> Iterator[AttachWitness]:
    w = AttachWitness(pods_namespace.kube)
    yield w
    w.close()


def _sight(witness: AttachWitness, ns: Namespace, name: str, uid: str = "u", **kw: Any) -> Sight:
    return witness.sight((uid, "main", 0), ns.name, name, "main", **kw)


def test_the_witness_sees_a_running_container_alive_and_its_exit_at_once(
    pods_namespace: Namespace, witness: AttachWitness
) -> None:
    steady_pod = shell_pod("steady", "echo up; sleep 600", restartPolicy="Never")
    pods_namespace.apply(steady_pod, wait=True, timeout=TIMEOUT)
    steady = _sight(witness, pods_namespace, "steady", "steady")
    _until(lambda: steady.state == "open", 10)
    seen = steady.alive_through
    time.sleep(0.3)
    assert steady.state == "open" and steady.alive_through > seen + 0.2, steady

    # a container that exits 1.5 s after it is seen running: the stream ends with it
    pods_namespace.apply(shell_pod("brief", "echo up; sleep 1.5; exit 3", restartPolicy="Never"))
    pods_namespace.pod("brief").wait_running(timeout=TIMEOUT)
    brief = _sight(witness, pods_namespace, "brief", "brief")
    _until(lambda: brief.state != "pending", 10)
    assert brief.state == "open", brief  # it was running when the stream opened
    _until(lambda: brief.state == "lost", 10)
    assert "ended" in brief.why
    assert steady.state == "open"  # one stream's end is not another's


def test_attaching_to_a_container_that_is_not_running_is_lost_with_the_kubelets_reason(
    pods_namespace: Namespace, witness: AttachWitness
) -> None:
    pods_namespace.apply(shell_pod("done", "exit 0", restartPolicy="Never"))
    p = pods_namespace.pod("done")
    _until(lambda: p.phase == "Succeeded", 60)
    sight = _sight(witness, pods_namespace, "done")
    _until(lambda: sight.state != "pending", 10)
    assert sight.state == "lost" and sight.why.startswith("attach failed:"), sight


def test_a_tty_container_is_watched_too(pods_namespace: Namespace, witness: AttachWitness) -> None:
    tty_pod = shell_pod("tty", "sleep 600", {"tty": True, "stdin": True}, restartPolicy="Never")
    pods_namespace.apply(tty_pod, wait=True, timeout=TIMEOUT)
    sight = _sight(witness, pods_namespace, "tty", tty=True)
    _until(lambda: sight.state != "pending", 10)
    assert sight.state == "open", sight


def test_a_container_that_closes_its_output_still_passes_the_wait(
    pods_namespace: Namespace, witness: AttachWitness
) -> None:
    """Its stream ends although it runs on: the hold then goes by the pod's status alone, which
    costs the kubelet's report lag but never fails a healthy pod."""
    pods_namespace.apply(shell_pod("quiet", "exec >/dev/null 2>&1; exec sleep 600", restartPolicy="Never"))
    pods_namespace.pod("quiet").wait_ready(timeout=TIMEOUT)
    assert pods_namespace.pod("quiet").restart_counts == {"main": 0}
    sight = _sight(witness, pods_namespace, "quiet")
    # what the wait saw too: the stream ends although the container runs on (at once on local; on
    # kind it opens first and ends a moment later)
    _until(lambda: sight.state == "lost", 10)
    assert "ended" in sight.why, sight


def test_without_attach_permission_the_hold_goes_by_the_status(
    pods_namespace: Namespace, tmp_path: Path
) -> None:
    """A user who may watch pods but not attach: healthy pods still pass, a container that dies
    right after its Ready still fails with its exit, both judged on the pod's status."""
    ns = pods_namespace
    ns.apply(
        [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "watcher"}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "watch-pods"},
                "rules": [
                    {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                ],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "watcher"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "watch-pods"},
                "subjects": [{"kind": "ServiceAccount", "name": "watcher", "namespace": ns.name}],
            },
            shell_pod("healthy", "sleep 600"),
            shell_pod("flicker", "echo about-to-fail; exit 3"),
        ]
    )
    watcher = Kube.from_kubeconfig(
        service_account_kubeconfig(ns.kube, ns.name, "watcher", tmp_path / "watcher.kubeconfig")
    )
    try:
        refused = AttachWitness(watcher)
        sight = refused.sight(("u", "main", 0), ns.name, "healthy", "main")
        _until(lambda: sight.state != "pending", 30)
        refused.close()
        assert sight.state == "lost" and "forbidden" in sight.why.lower(), sight

        Pod(watcher, ns.name, "healthy", timeout=TIMEOUT).wait_ready()
        with pytest.raises(PodNotReadyError) as info:
            Pod(watcher, ns.name, "flicker", timeout=TIMEOUT).wait_ready()
        assert info.value.reason in ("Error", "CrashLoopBackOff"), info.value
        assert "exited 3" in str(info.value) or "exit code 3" in str(info.value)
    finally:
        watcher.close()
