"""session/lease.py: the run's Lease, taken, renewed by a thread of its own, and released by the run's
last process (against a stand-in for the API: the real cluster's side is in tests/cluster/test_leases.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from pytest_pods.errors import ApiError
from pytest_pods.session import Run
from pytest_pods.session.lease import LEASE_SECONDS, RENEW_SECONDS, RunLease

LEASES = "/apis/coordination.k8s.io/v1/namespaces/pytest-pods/leases"


class StandIn:
    def __init__(self, *, refuse: int = 0, missing_namespace: bool = False) -> None:
        self.asked: list[tuple[str, str, Any]] = []
        self.refuse = refuse
        self.missing_namespace = missing_namespace
        self.lease: dict[str, Any] | None = None
        self.lock = threading.Lock()

    def request(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        with self.lock:
            self.asked.append((method, path, kw.get("body")))
        if self.refuse:
            raise ApiError(method, path, self.refuse, {"reason": "Forbidden", "message": "denied"})
        if method == "POST" and path == LEASES:
            if self.missing_namespace:
                raise ApiError(
                    method, path, 404, {"reason": "NotFound", "message": 'namespaces "pytest-pods" not found'}
                )
            if self.lease is not None:
                raise ApiError(method, path, 409, {"reason": "AlreadyExists", "message": "exists"})
            self.lease = kw["body"]
        if method == "POST" and path == "/api/v1/namespaces":
            self.missing_namespace = False
        return {}

    def methods(self) -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.asked]


def test_the_figures_let_a_cancelled_job_be_reaped_within_5_minutes_and_survive_failed_renewals() -> None:
    assert LEASE_SECONDS + 60 <= 300, "lease time plus a gc every minute stays within 5 minutes"
    assert LEASE_SECONDS / RENEW_SECONDS >= 4, "three renewals in a row may fail"


def test_two_processes_of_a_run_share_one_lease_and_the_last_deletes_it(tmp_path: Path) -> None:
    kube = StandIn()
    run = Run("abc123", "gw0", tmp_path)
    first = RunLease(kube, run, renew_every=3600)  # type: ignore[arg-type]
    second = RunLease(kube, Run("abc123", "gw1", tmp_path), renew_every=3600)  # type: ignore[arg-type]
    assert first.acquire() == ""
    assert second.acquire() == ""  # 409: the run's Lease exists; this process renews it too
    assert first.ref == "pytest-pods/pp-run-abc123"
    assert kube.lease is not None
    spec = kube.lease["spec"]
    assert spec["leaseDurationSeconds"] == LEASE_SECONDS
    assert spec["holderIdentity"].endswith("/abc123")
    assert kube.lease["metadata"]["labels"] == {"pytest-pods/run": "abc123"}
    assert kube.methods() == [f"POST {LEASES}", f"POST {LEASES}", f"PATCH {LEASES}/pp-run-abc123"]
    first.release()
    assert not [m for m in kube.methods() if m.startswith("DELETE")], "gw1 still holds it"
    second.release()
    assert kube.methods()[-1] == f"DELETE {LEASES}/pp-run-abc123"
    assert not list(tmp_path.glob("lease-*")), "the run's lease files are gone with it"


def test_the_renewer_keeps_renewing_while_the_main_thread_is_stopped(tmp_path: Path) -> None:
    """As in a debugger: the tests' thread sits still, the Lease is renewed all the same."""
    kube = StandIn()
    held = RunLease(kube, Run("r1", "main", tmp_path), renew_every=0.05)  # type: ignore[arg-type]
    assert held.acquire() == ""
    time.sleep(0.5)  # the main thread blocked, as at a pdb prompt
    renewals = [b for m, _, b in kube.asked if m == "PATCH"]
    held.release()
    assert len(renewals) >= 4
    assert all(set(b["spec"]) == {"renewTime", "leaseDurationSeconds"} for b in renewals)
    after = len(kube.asked)
    time.sleep(0.2)
    assert len(kube.asked) == after, "released: no more renewals"


def test_a_missing_lease_namespace_is_made(tmp_path: Path) -> None:
    kube = StandIn(missing_namespace=True)
    held = RunLease(kube, Run("r2", "main", tmp_path), renew_every=3600)  # type: ignore[arg-type]
    assert held.acquire() == ""
    held.release()
    assert kube.methods()[:3] == [f"POST {LEASES}", "POST /api/v1/namespaces", f"POST {LEASES}"]


def test_a_run_that_may_not_hold_a_lease_says_so_and_names_the_role(tmp_path: Path) -> None:
    kube = StandIn(refuse=403)
    held = RunLease(kube, Run("r3", "main", tmp_path), renew_every=3600)  # type: ignore[arg-type]
    assert held.acquire() == (
        "cannot create leases in namespace pytest-pods: forbidden; the role in deploy/pytest-pods-role.yaml "
        "grants it; falling back to host-local reaping (this run's namespaces are reaped only from this host)"
    )
    held.release()
    assert kube.methods() == [f"POST {LEASES}"], "nothing renewed, nothing deleted"
    # left for the run's xdist controller to say, and forgotten with the run
    assert held.run.lease_problem_file.read_text().startswith("cannot create leases in namespace")
    held.run.forget()
    assert not held.run.lease_problem_file.exists()
