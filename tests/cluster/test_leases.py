"""Leases and gc across hosts, on the real cluster: a run's namespaces name its Lease; a run killed on
another host is reaped by gc once its Lease has expired, never before; a live run's Lease is renewed
by its own thread while the tests' thread stands still; a kept namespace expires (--pods-keep-for).

The runs claim other hosts with ``$PYTEST_PODS_HOST`` (so that the host-local rule cannot reap them:
only the Lease can). Waiting out a real 120 s Lease is replaced by moving its ``renewTime`` back, as
the passing of that time would."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_pods import Cluster, gc, namespaces
from pytest_pods.errors import ApiError
from pytest_pods.session import Run
from pytest_pods.session.lease import RENEW_SECONDS, RunLease, micro_time
from tests.cluster.conftest import POD, ROOT, Start, namespace_phase, run, wait_gone

pytestmark = pytest.mark.cluster

LEASES = gc.LEASES_PATH
CLUSTER_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
"""


def gc_args(cluster: Cluster, *extra: str) -> list[str]:
    args = ["-m", "pytest_pods", "gc", *extra, f"--kubeconfig={cluster.info.kubeconfig}"]
    if cluster.info.context:
        args.append(f"--context={cluster.info.context}")
    return args


def lease_of(cluster: Cluster, ns: str) -> str:
    meta = cluster.kube.request("GET", f"/api/v1/namespaces/{ns}")["metadata"]
    return str(meta["annotations"][namespaces.LEASE_ANNOTATION])


def get_lease(cluster: Cluster, ref: str) -> dict[str, object] | None:
    try:
        return cluster.kube.request("GET", f"{LEASES}/{ref.split('/', 1)[1]}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def test_a_run_killed_on_another_host_is_reaped_once_its_lease_expires_and_not_before(
    pods_cluster: Cluster, start_holder: Start, existing_args: list[str], tmp_path: Path
) -> None:
    manifest = tmp_path / "role.yaml"
    role = f"pp-lease-test-{int(time.time())}"
    manifest.write_text(POD.read_text() + "---\n" + CLUSTER_ROLE.format(name=role))
    victim = start_holder("victim", manifest, host="ci-runner-a")
    name = victim.namespace()
    ref = lease_of(pods_cluster, name)
    lease = get_lease(pods_cluster, ref)
    assert lease is not None and str(lease["spec"]["holderIdentity"]).startswith("ci-runner-a/")  # type: ignore[index]
    role_path = f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}"
    made = pods_cluster.kube.request("GET", role_path)["metadata"]
    assert made["annotations"][namespaces.LEASE_ANNOTATION] == ref, "what it made outside names the Lease too"

    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.communicate(timeout=30)
    # from this host (another identity), with the Lease still live: nothing of the run is touched
    listed = run(existing_args, tmp_path, *gc_args(pods_cluster, "--list"))
    assert listed.returncode == 0, listed.stderr
    assert name not in listed.stdout, listed.stdout
    assert namespace_phase(pods_cluster, name) == "Active"

    # as if 10 minutes had passed since its last renewal
    late = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    pods_cluster.kube.request(
        "PATCH",
        f"{LEASES}/{ref.split('/', 1)[1]}",
        body={"spec": {"renewTime": micro_time(late)}},
        content_type="application/merge-patch+json",
    )
    listed = run(existing_args, tmp_path, *gc_args(pods_cluster, "--list"))
    assert f"namespace {name} (with ClusterRole/{role}): its run's lease {ref} expired 8m" in listed.stdout
    assert "ago (holder ci-runner-a/" in listed.stdout, listed.stdout  # 10 minutes less its 120 s
    assert namespace_phase(pods_cluster, name) == "Active", "--list deletes nothing"

    done = run(existing_args, tmp_path, *gc_args(pods_cluster))
    assert done.returncode == 0, done.stderr
    assert f"namespace {name}" in done.stdout
    assert f"lease {ref}: expired 8m" in done.stdout, done.stdout
    assert wait_gone(pods_cluster, name) == "Gone"
    assert get_lease(pods_cluster, ref) is None
    with pytest.raises(ApiError) as gone:
        for _ in range(100):
            pods_cluster.kube.request("GET", role_path)
            time.sleep(0.2)
    assert gone.value.status == 404, "the ClusterRole it made went with it"


def test_a_live_runs_lease_is_renewed_while_its_tests_thread_stands_still(
    pods_cluster: Cluster, tmp_path: Path
) -> None:
    """Short figures (a 3 s Lease renewed every 0.5 s) stand for the real ones: the main thread sleeps
    through four Lease lifetimes, as a debugger would hold it, and the Lease never expires."""
    held = RunLease(pods_cluster.kube, Run(state_dir=tmp_path), seconds=3, renew_every=0.5)
    assert held.acquire() == ""
    try:
        for _ in range(6):
            time.sleep(2)
            lease = get_lease(pods_cluster, held.ref)
            assert lease is not None
            assert gc.lease_verdict(held.ref, lease, dt.datetime.now(dt.UTC)) is None, lease
            assert held.ref not in [d.name for d in gc.plan(pods_cluster.kube).doomed]
        assert held.failures == 0, held.last_problem
    finally:
        held.release()
    assert get_lease(pods_cluster, held.ref) is None, "the run's last process deletes its Lease"
    # and a Lease no one renews is expired after its duration, for gc
    stale = RunLease(pods_cluster.kube, Run(state_dir=tmp_path / "stale"), seconds=1, renew_every=3600)
    assert stale.acquire() == ""
    try:
        time.sleep(2.5)
        doomed = {d.name: d.why for d in gc.plan(pods_cluster.kube).doomed}
        assert "expired" in doomed[stale.ref], doomed
    finally:
        stale.release()


def test_a_kept_namespace_expires_and_gc_deletes_it(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str], tmp_path: Path
) -> None:
    pytester.makepyfile("def test_fails(pods_namespace):\n    assert False\n")
    result = pytester.runpytest(*existing_args, "--pods-keep-namespace=on-failure", "--pods-keep-for=3s")
    result.assert_outcomes(failed=1)
    line = next(x for x in result.outlines if x.startswith("kept namespace "))
    name = line.split()[2]
    assert " until 20" in line and "(--pods-keep-for; then `pytest-pods gc` deletes it)" in line, line
    assert f"-n {name} get all,events" in line, line
    meta = pods_cluster.kube.request("GET", f"/api/v1/namespaces/{name}")["metadata"]
    assert meta["labels"][namespaces.KEPT_LABEL] == "true"
    until = gc.parse_time(meta["annotations"][namespaces.EXPIRES_ANNOTATION])
    assert until is not None
    assert 0 < (until - dt.datetime.now(dt.UTC)).total_seconds() < 5
    assert name not in run([], tmp_path, *gc_args(pods_cluster, "--list")).stdout, "not yet expired"
    time.sleep(max((until - dt.datetime.now(dt.UTC)).total_seconds(), 0) + 1.5)
    listed = run([], tmp_path, *gc_args(pods_cluster, "--list")).stdout
    assert f"namespace {name}: kept until " in listed and "(--pods-keep-for), expired" in listed, listed
    done = run([], tmp_path, *gc_args(pods_cluster))
    assert done.returncode == 0, done.stderr
    assert wait_gone(pods_cluster, name) == "Gone"


def test_the_workers_of_a_run_share_one_lease_and_the_last_deletes_it(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str]
) -> None:
    out = pytester.path / "seen.txt"
    pytester.makepyfile(
        f"""
        import os, time
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_record(pods_namespace, i):
            kube = pods_namespace.kube
            meta = kube.request("GET", f"/api/v1/namespaces/{{pods_namespace.name}}")["metadata"]
            lease = meta["annotations"]["{namespaces.LEASE_ANNOTATION}"]
            kube.request("GET", "{LEASES}/" + lease.split("/", 1)[1])  # held while the run lives
            with open({str(out)!r}, "a") as f:
                f.write(os.environ.get("PYTEST_XDIST_WORKER", "main") + " " + lease + "\\n")
            time.sleep(1)
        """
    )
    result = pytester.runpytest(*existing_args, "-n", "2")
    result.assert_outcomes(passed=4)
    seen = [line.split() for line in out.read_text().splitlines()]
    assert {w for w, _ in seen} == {"gw0", "gw1"}, seen
    (ref,) = {lease for _, lease in seen}
    assert get_lease(pods_cluster, ref) is None, "the run's last worker deleted its Lease"


DEBUGGED = """
from pathlib import Path

def test_stopped_in_the_debugger(pods_namespace):
    Path({ready!r}).write_text(pods_namespace.name)
    breakpoint()
"""


def test_a_run_stopped_at_a_breakpoint_keeps_renewing_its_lease(
    pods_cluster: Cluster, existing_args: list[str], tmp_path: Path
) -> None:
    """The real figures: a run sits at a pdb prompt (its main thread blocked on stdin) past a renewal
    period; its Lease is renewed all the same, and gc leaves its namespace alone."""
    ready = tmp_path / "ready"
    (tmp_path / "test_debugged.py").write_text(DEBUGGED.format(ready=str(ready)))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(tmp_path / "state"),
           "PYTEST_PODS_HOST": "ci-runner-debugged"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", *existing_args, "test_debugged.py"],
        cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the run never reached its breakpoint"
            time.sleep(0.2)
        name = ready.read_text()
        ref = lease_of(pods_cluster, name)
        first = get_lease(pods_cluster, ref)
        assert first is not None
        renewed = first["spec"]["renewTime"]  # type: ignore[index]
        deadline = time.monotonic() + RENEW_SECONDS + 15
        while (lease := get_lease(pods_cluster, ref)) and lease["spec"]["renewTime"] == renewed:  # type: ignore[index]
            assert time.monotonic() < deadline, "not renewed while the main thread sat at the prompt"
            time.sleep(1)
        assert proc.poll() is None, "still at the prompt"
        assert namespace_phase(pods_cluster, name) == "Active"
        assert name not in gc.plan(pods_cluster.kube).namespaces
    finally:
        out, _ = proc.communicate("c\n", timeout=120)
    assert proc.returncode == 0, out
    assert "(Pdb)" in out, out  # it really sat at the debugger's prompt
