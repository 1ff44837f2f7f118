"""Orphans: a run killed with -9 leaves its namespace; the next session (or `pytest-pods gc`) deletes it,
while a live session's namespace stays. SIGTERM makes a run delete its own namespaces before it exits.

Each run here is a real pytest process against this same cluster (the existing provider)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pytest_pods
from pytest_pods import Cluster
from tests.cluster.conftest import namespace_phase

ROOT = Path(pytest_pods.__file__).resolve().parent.parent
POD = ROOT / "examples" / "pods01.yaml"

pytestmark = pytest.mark.cluster

HOLDER = """
import time
from pathlib import Path

def test_hold(pods_namespace):
    pods_namespace.apply({pod!r}, wait=True)
    Path({ready!r}).write_text(pods_namespace.name)
    while Path({hold!r}).exists():
        time.sleep(0.2)
"""


@dataclass
class Holder:
    """A pytest run that holds a namespace with a running nginx pod until ``hold`` is removed."""

    proc: subprocess.Popen[str]
    ready: Path
    hold: Path

    def namespace(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.proc.poll() is not None:
                out, _ = self.proc.communicate()
                raise AssertionError(f"the holding run ended early ({self.proc.returncode}):\n{out}")
            if time.monotonic() > deadline:
                raise AssertionError("the holding run did not get its pod Ready in time")
            time.sleep(0.2)
        return self.ready.read_text()


Start = Callable[..., Holder]  # (name, manifest=POD): a run holding ``manifest`` applied


@pytest.fixture
def start_holder(tmp_path: Path, existing_args: list[str]) -> Iterator[Start]:
    """Starts holding runs; any still running at the end is killed (its namespace is reaped below)."""
    made: list[Holder] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(tmp_path / "state")}

    def start(name: str, manifest: Path = POD) -> Holder:
        d = tmp_path / name
        d.mkdir()
        ready, hold = d / "ready", d / "hold"
        hold.touch()
        (d / "test_hold.py").write_text(HOLDER.format(pod=str(manifest), ready=str(ready), hold=str(hold)))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", *existing_args, "test_hold.py"],
            cwd=d,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        made.append(Holder(proc, ready, hold))
        return made[-1]

    yield start
    for holder in made:
        holder.hold.unlink(missing_ok=True)
        try:
            holder.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            holder.proc.kill()
            holder.proc.communicate()


def run(existing_args: list[str], where: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(where / "state")}
    return subprocess.run(
        [sys.executable, *extra], cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def wait_gone(cluster: Cluster, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while (state := namespace_phase(cluster, name)) != "Gone" and time.monotonic() < deadline:
        time.sleep(0.5)
    return state


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
    assert name in done.stdout.split()
    assert wait_gone(pods_cluster, name) == "Gone"


def test_sigterm_deletes_the_runs_namespace_before_exit(pods_cluster: Cluster, start_holder: Start) -> None:
    holder = start_holder("terminated")
    name = holder.namespace()
    holder.proc.send_signal(signal.SIGTERM)
    out, _ = holder.proc.communicate(timeout=120)
    assert holder.proc.returncode != 0, out
    assert namespace_phase(pods_cluster, name) in ("Terminating", "Gone"), out
    assert wait_gone(pods_cluster, name) == "Gone"
