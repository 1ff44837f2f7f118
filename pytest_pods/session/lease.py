"""The run's Lease (``coordination.k8s.io/v1``): held by a run (all its xdist workers together) for as
long as it lives, so that ``pytest-pods gc``, from any host, knows which runs are over.

The figures, and why:

- :data:`LEASE_SECONDS` = 120: a run killed (``kill -9``, a cancelled CI job, a runner that vanished)
  stops renewing, and 120 s later its Lease has expired: with a gc every minute (or the next
  session's start), its namespaces are being deleted within 3 minutes, well inside 5;
- :data:`RENEW_SECONDS` = 30: four renewals per lifetime, so that three in a row may fail (an API
  server restarting, a throttled request) before a live run's Lease expires;
- the renewer is a daemon thread (:class:`RunLease`), not the tests' thread: a run stopped in a
  debugger (``pdb``, ``--pdb``, a breakpoint for 10 minutes or a day) keeps renewing, since the
  debugger blocks only the main thread. Only a process that is frozen as a whole (``SIGSTOP``,
  Ctrl-Z, a laptop asleep) stops renewing; after 120 s of that its namespaces may be reaped.

Expiry is judged by the clock of whoever runs gc against the renewer's ``renewTime``: hosts sharing a
cluster need clocks in step (NTP) to well within 120 s.

Each of the run's processes renews the one Lease (``pp-run-<run id>`` in :data:`LEASE_NAMESPACE`);
the last to end deletes it (a count of holders in the run's state directory, under its file lock).
A run that cannot create its Lease (forbidden, or no ``coordination.k8s.io``) says so once and falls
back to the host-local rule (its namespaces name no Lease).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading

from pytest_pods import namespaces
from pytest_pods.access import ROLE_FILE
from pytest_pods.errors import ApiError
from pytest_pods.gc import LEASE_NAMESPACE, leases_path
from pytest_pods.kube import JSON, Kube
from pytest_pods.session.run import Run

LEASE_SECONDS = 120
RENEW_SECONDS = 30.0


def micro_time(when: dt.datetime | None = None) -> str:
    """A ``MicroTime``: ``2026-12-07T04:39:34.123456Z``."""
    return (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class RunLease:
    """The Lease of ``run``, renewed every ``renew_every`` seconds by a daemon thread between
    :meth:`acquire` and :meth:`release`."""

    def __init__(
        self,
        kube: Kube,
        run: Run,
        *,
        seconds: int = LEASE_SECONDS,
        renew_every: float = RENEW_SECONDS,
        namespace: str = LEASE_NAMESPACE,
    ) -> None:
        self.kube = kube
        self.run = run
        self.seconds = seconds
        self.renew_every = renew_every
        self.namespace = namespace
        self.held = False
        #: Renewals that failed in a row (the last failure in :attr:`last_problem`).
        self.failures = 0
        self.last_problem = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return f"pp-run-{namespaces.label_value(self.run.id).lower()}"

    @property
    def ref(self) -> str:
        """``<namespace>/<name>``: what its namespaces' ``pytest-pods/lease`` annotation says."""
        return f"{self.namespace}/{self.name}"

    @property
    def _path(self) -> str:
        return leases_path(self.namespace)

    def _body(self) -> JSON:
        now = micro_time()
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": self.name,
                "labels": {namespaces.RUN_LABEL: namespaces.label_value(self.run.id)},
                "annotations": {namespaces.HOST_ANNOTATION: namespaces.host_name()},
            },
            "spec": {
                "holderIdentity": f"{namespaces.host_name()}/{self.run.id}",
                "leaseDurationSeconds": self.seconds,
                "acquireTime": now,
                "renewTime": now,
            },
        }

    def _create(self) -> None:
        """Create the Lease (one that exists already is the run's: another worker made it), and its
        namespace if that is missing."""
        try:
            self.kube.request("POST", self._path, body=self._body())
        except ApiError as exc:
            if exc.status == 409:
                self.renew()
                return
            if exc.status != 404 or "namespaces" not in exc.message:
                raise
            with contextlib.suppress(ApiError):  # someone else may make it at the same time
                self.kube.request(
                    "POST",
                    "/api/v1/namespaces",
                    body={"metadata": {"name": self.namespace, "labels": {"pytest-pods/leases": "true"}}},
                )
            self.kube.request("POST", self._path, body=self._body())

    def acquire(self) -> str:
        """Take the Lease and start renewing it; return "" or, when it cannot be taken, what the
        run says once (it then falls back to the host-local rule)."""
        try:
            with self.run.lock(f"lease-{self.run.id}"):
                self._create()
                self._holders(+1)
        except ApiError as exc:
            verb = "create" if exc.method == "POST" else "update"
            why = exc.reason.lower() or f"HTTP {exc.status}"
            grant = f"; the role in {ROLE_FILE} grants it" if exc.status == 403 else ""
            problem = (
                f"cannot {verb} leases in namespace {self.namespace}: {why}{grant}; falling back to "
                "host-local reaping (this run's namespaces are reaped only from this host)"
            )
            with contextlib.suppress(OSError):
                self.run.lease_problem_file.write_text(problem)
            return problem
        self.held = True
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"pytest-pods lease {self.name}", daemon=True
        )
        self._thread.start()
        return ""

    def renew(self) -> None:
        """Move the Lease's ``renewTime`` to now (re-create it if it is gone)."""
        try:
            self.kube.request(
                "PATCH",
                f"{self._path}/{self.name}",
                body={"spec": {"renewTime": micro_time(), "leaseDurationSeconds": self.seconds}},
                content_type="application/merge-patch+json",
            )
        except ApiError as exc:
            if exc.status != 404:
                raise
            self.kube.request("POST", self._path, body=self._body())

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            try:
                self.renew()
                self.failures = 0
            except Exception as exc:  # a renewal that fails is tried again at the next period
                self.failures += 1
                self.last_problem = f"{type(exc).__name__}: {exc}"

    def _holders(self, step: int) -> int:
        """Add ``step`` to the count of this run's processes that hold the Lease; return it."""
        path = self.run.state_dir / f"lease-{self.run.id}.holders"
        try:
            count = int(path.read_text() or 0)
        except (OSError, ValueError):
            count = 0
        count = max(count + step, 0)
        if count:
            path.write_text(str(count))
        else:
            path.unlink(missing_ok=True)
        return count

    def release(self) -> None:
        """Stop renewing; the run's last process deletes the Lease (best effort: an expired Lease
        is deleted by gc anyway)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if not self.held:
            return
        self.held = False
        with self.run.lock(f"lease-{self.run.id}"):
            last = self._holders(-1) == 0
            if last:
                with contextlib.suppress(ApiError):
                    self.kube.request("DELETE", f"{self._path}/{self.name}")
        if last:
            with contextlib.suppress(OSError):
                (self.run.state_dir / f"lease-{self.run.id}.lock").unlink()
