"""Each reason that will not heal makes wait_ready fail at once, triggered for real."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_pods import Namespace, podstate
from pytest_pods.errors import PodNotReadyError, WorkloadNotReadyError
from tests.cluster.conftest import MANIFESTS

pytestmark = pytest.mark.cluster

TIMEOUT = 240.0  # the waits below must end long before this


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
    the pod to stay Ready, so the crash that follows fails the wait (well before its timeout): by
    its exit (``Error``) when seen while Ready was held, else by the back-off that follows."""
    manifest = pod("flicker", {"image": "debian", "command": ["sh", "-c", "echo started; exit 3"]})
    pods_namespace.apply(manifest)
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("flicker").wait_ready(timeout=TIMEOUT, stable=3)
    assert info.value.reason in ("Error", "CrashLoopBackOff"), info.value
    assert time.monotonic() - began < 60
    assert "exit code 3" in str(info.value) or "exited 3" in str(info.value)


def test_a_pod_that_stays_ready_passes_the_stability_window(pods_namespace: Namespace) -> None:
    pods_namespace.apply(pod("steady", {"image": "debian", "command": ["sleep", "600"]}))
    began = time.monotonic()
    pods_namespace.pod("steady").wait_ready(timeout=TIMEOUT, stable=2)
    assert time.monotonic() - began >= 2


# --- issue 7: Ready that holds, and every reason that never heals, each within its time ----------

DEBIAN = {"image": "debian"}


def sh(command: str, **container: Any) -> dict[str, Any]:
    return {**DEBIAN, "command": ["sh", "-c", command], **container}


NEVER_READY = {"readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}}

#: case -> (manifest, reason, text the report must hold, seconds from apply to the failure)
HOLD_CASES: dict[str, tuple[dict[str, Any], set[str], list[str], float]] = {
    # Ready for an instant (no probe), then gone: the default Ready rule must catch each.
    "crash-loop": (
        pod("crash", sh("echo about-to-fail; exit 3")),
        {"Error", "CrashLoopBackOff"},
        ["exit", "3", "about-to-fail"],
        15,
    ),
    "oom": (
        pod("oom", sh("echo filling; tail /dev/zero", resources={"limits": {"memory": "64Mi"}})),
        {"OOMKilled"},
        ["OOMKilled", "filling"],
        15,
    ),
    "one-shot": (
        pod("once", sh("echo done-once; exit 0"), restartPolicy="Never"),
        {"Completed"},
        ["Completed", "done-once"],
        15,
    ),
}

FAIL_CASES: dict[str, tuple[dict[str, Any], set[str], list[str], float]] = {
    "Init:Error": (
        pod("init", sh("sleep 600"), initContainers=[{"name": "setup", **sh("echo init-broke; exit 2")}]),
        {"Init:Error"},
        ["init setup", "exited 2", "init-broke"],
        15,
    ),
    "Error-under-Never": (
        pod("never", sh("echo bye; exit 4", **NEVER_READY), restartPolicy="Never"),
        {"Error"},
        ["exited 4", "no retry", "bye"],
        15,
    ),
    "DeadlineExceeded": (
        pod("deadline", sh("sleep 600", **NEVER_READY), activeDeadlineSeconds=3),
        {"DeadlineExceeded"},
        ["DeadlineExceeded"],
        30,
    ),
    "ErrImageNeverPull": (
        pod("neverpull", {"image": "pytest-pods.invalid/never:1", "imagePullPolicy": "Never"}),
        {"ErrImageNeverPull"},
        ["ErrImageNeverPull", "imagePullPolicy is Never"],
        15,
    ),
    "StartError": (
        pod("nocmd", {**DEBIAN, "command": ["/no/such/binary"]}),
        {"StartError", "RunContainerError"},
        ["/no/such/binary"],
        15,
    ),
    "CreateContainerError": (
        pod(
            "seccomp",
            sh(
                "sleep 600",
                securityContext={
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "pytest-pods/none.json"}
                },
            ),
        ),
        {"CreateContainerError"},
        ["CreateContainerError", "seccomp"],
        15,
    ),
    "Evicted": (
        pod(
            "evicted",
            sh(
                "dd if=/dev/zero of=/scratch/fill bs=1M count=8; sleep 600",
                **NEVER_READY,
                volumeMounts=[{"name": "scratch", "mountPath": "/scratch"}],
            ),
            volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}],
        ),
        {"Evicted"},
        ["Evicted", "emptyDir"],
        150,  # the kubelet notices: its eviction manager looks every 10s, on disk usage measured
        # in the background (27-65s measured here); the wait fails on the first status saying so
    ),
}


def _fails_within(
    ns: Namespace, manifest: dict[str, Any], reasons: set[str], texts: list[str], limit: float
) -> float:
    name = manifest["metadata"]["name"]
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        ns.apply(manifest, wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason in reasons, err
    assert (err.namespace, err.pod) == (ns.name, name)
    text = str(err)
    for expected in texts:
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert "hint:" in text
    assert elapsed < limit, f"{err.reason} took {elapsed:.1f}s from apply (limit {limit:g}s)"
    return elapsed


@pytest.mark.parametrize("case", sorted(HOLD_CASES))
def test_ready_that_does_not_hold_fails_with_its_reason_and_log(pods_namespace: Namespace, case: str) -> None:
    """Default settings (Ready must hold ``--pods-ready-stable``, 1s): a pod that is Ready for an
    instant fails the wait with its exit, OOMKilled or Completed, and its last log lines."""
    _fails_within(pods_namespace, *HOLD_CASES[case])


@pytest.mark.parametrize("case", sorted(FAIL_CASES))
def test_reasons_that_never_heal_fail_fast(pods_namespace: Namespace, case: str) -> None:
    _fails_within(pods_namespace, *FAIL_CASES[case])


def test_a_healthy_pod_passes_the_default_ready_rule(pods_namespace: Namespace) -> None:
    began = time.monotonic()
    pods_namespace.apply(pod("healthy", sh("echo up; sleep 600")), wait=True, timeout=TIMEOUT)
    assert time.monotonic() - began < 30
    assert pods_namespace.pod("healthy").restart_counts == {"main": 0}


# --- issue 7: the triggers that need a real cluster to be seen at all ------------------------------


def test_init_crash_loop_back_off_fails_at_once(pods_namespace: Namespace) -> None:
    """Init:Error comes first and would end the wait itself; so apply without waiting, watch the API
    until the init container waits in CrashLoopBackOff, and only then wait: it fails at once."""
    pods_namespace.apply(MANIFESTS / "init-crashloop.yaml")
    path = f"/api/v1/namespaces/{pods_namespace.name}/pods"
    began = time.monotonic()
    backing_off = False
    query = {"fieldSelector": "metadata.name=init-loop"}
    for event in pods_namespace.kube.watch(path, query=query, timeout=90):
        for p in event.items if event.type == "LISTED" else [event.object]:
            setup = podstate.container_states(p)[0]
            backing_off = setup.state == "waiting" and setup.reason == "CrashLoopBackOff"
        if backing_off:
            break
    assert backing_off, f"no CrashLoopBackOff of the init container in {time.monotonic() - began:.0f}s"
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("init-loop").wait_ready(timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason == "Init:CrashLoopBackOff", err
    assert elapsed < 5, f"took {elapsed:.1f}s: not at once"
    text = str(err)
    assert "pod " + pods_namespace.name + "/init-loop: Init:CrashLoopBackOff: container 'setup'" in text
    assert "last exit code 2" in text
    assert "container init setup: waiting (CrashLoopBackOff" in text
    assert "last log lines of setup before its restart:" in text and "init-broke" in text
    assert "hint: an init container keeps failing" in text


def test_a_bare_onfailure_pod_that_exits_non_zero_fails_fast_with_its_exit_code(
    pods_namespace: Namespace,
) -> None:
    """OnFailure: the kubelet restarts the container in place. It is Ready for an instant at most,
    so the wait fails on the exit seen while Ready was held, or on the back-off that follows."""
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.apply(MANIFESTS / "onfailure-pod.yaml", wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert err.reason in ("Error", "CrashLoopBackOff"), err
    assert elapsed < 15, f"{err.reason} took {elapsed:.1f}s from apply"
    text = str(err)
    assert "exited 5" in text or "last exit code 5" in text
    assert "about-to-fail" in text and "hint:" in text


def test_a_job_with_onfailure_and_no_retry_fails_fast_with_the_pods_exit(pods_namespace: Namespace) -> None:
    """backoffLimit 0 under OnFailure: the container's first restart fails the Job, whose controller
    then deletes the pod; the error names the Job's reason and the pod's exit as last seen."""
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.apply(MANIFESTS / "onfailure-job.yaml", wait=True, timeout=TIMEOUT)
    elapsed = time.monotonic() - began
    err = info.value
    assert (err.kind, err.name, err.reason) == ("Job", "no-retry", "BackoffLimitExceeded"), err
    assert elapsed < 30, f"took {elapsed:.1f}s from apply"
    text = str(err)
    assert "=True (BackoffLimitExceeded: Job has reached the specified backoff limit)" in text
    assert err.pod.startswith("no-retry-"), f"no pod named:\n{text}"
    assert err.pod_reason == "Error"
    assert "exited 6" in err.detail and "last terminated: Error exit code 6" in text
    assert "hint:" in text
