"""Orphans: a run killed with -9 leaves its namespace; the next session (or `pytest-pods gc`) deletes it,
while a live session's namespace stays. SIGTERM makes a run delete its own namespaces before it exits.

Each run here is a real pytest process against this same cluster (the existing provider)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from pytest_pods import Cluster
from tests.cluster.conftest import Start, namespace_phase, run, wait_gone

pytestmark = pytest.mark.cluster


def test_the_next_session_reaps_a_killed_runs_namespace_and_keeps_a_live_ones(
    pods_cluster: Cluster, start_holder: Start, existing_args: list[str], tmp_path: Path
) -> None:
    victim, live = start_holder("victim"), start_holder("live")
    victim_ns, live_ns = victim.namespace(), live.namespace()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.communicate(timeout=30)
    phase = namespace_phase(pods_cluster, victim_ns)
    assert phase == "Active", "kill -9 left nothing behind: the test shows nothing"
    pods = pods_cluster.kube.request("GET", f"/api/v1/namespaces/{victim_ns}/pods")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running"]

    nxt = tmp_path / "next"
    nxt.mkdir()
    (nxt / "test_next.py").write_text("def test_next(pods_cluster):\n    pass\n")
    done = run(existing_args, nxt, "-m", "pytest", "-q", *existing_args, "test_next.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"namespace(s) of runs that are gone: {victim_ns}" in done.stdout, done.stdout
    assert wait_gone(pods_cluster, victim_ns) == "Gone"
    assert namespace_phase(pods_cluster, live_ns) == "Active", "a live run's namespace was reaped"

    live.hold.unlink()
    out, _ = live.proc.communicate(timeout=120)
    assert live.proc.returncode == 0, out


def test_gc_reaps_by_hand(
    pods_cluster: Cluster, start_holder: Start, existing_args: list[str], tmp_path: Path
) -> None:
    victim = start_holder("victim")
    name = victim.namespace()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.communicate(timeout=30)
    args = ["-m", "pytest_pods", "gc", f"--kubeconfig={pods_cluster.info.kubeconfig}"]
    if pods_cluster.info.context:
        args.append(f"--context={pods_cluster.info.context}")
    done = run(existing_args, tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert f"namespace {name}: its maker, process " in done.stdout, done.stdout
    assert wait_gone(pods_cluster, name) == "Gone"


def test_sigterm_deletes_the_runs_namespace_before_exit(pods_cluster: Cluster, start_holder: Start) -> None:
    holder = start_holder("terminated")
    name = holder.namespace()
    holder.proc.send_signal(signal.SIGTERM)
    out, _ = holder.proc.communicate(timeout=120)
    assert holder.proc.returncode != 0, out
    assert namespace_phase(pods_cluster, name) in ("Terminating", "Gone"), out
    assert wait_gone(pods_cluster, name) == "Gone"
