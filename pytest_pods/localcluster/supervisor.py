"""The cluster's supervisor: one detached process that owns every component.

Run as ``python -m pytest_pods.localcluster.supervisor PLAN.json``. It

* becomes a child subreaper, so containerd's double-forked shims are reaped here (this machine's
  PID 1 does not reap orphans);
* waits for the plan file, which ``up`` writes once the host is prepared (it starts this process
  first, so that the interpreter starts meanwhile);
* moves itself into the cluster's cgroup, so every process it starts can be found and killed;
* starts the plan's stages in order, each only once the previous stage is healthy;
* records each component's pid and state in the status file (read by ``status`` and ``up``);
* on SIGTERM stops the components in reverse order, kills whatever is left in the cgroup, and exits.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from pytest_pods.localcluster import cgroups
from pytest_pods.localcluster.components import Component, Plan
from pytest_pods.localcluster.health import probe

_PR_SET_CHILD_SUBREAPER = 36
_STOP_GRACE_SECONDS = 5.0  # a throw-away cluster: nothing to flush that matters


class Supervisor:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = threading.Event()
        self.status: dict[str, Any] = {
            "supervisor_pid": os.getpid(),
            "phase": "starting",
            "started_at": time.time(),
            "components": {},
            "error": None,
        }

    # -- status file -------------------------------------------------------------------------
    def write_status(self) -> None:
        path = Path(self.plan.status_file)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status, indent=2))
        tmp.rename(path)

    def set_component(self, name: str, **fields: Any) -> None:
        self.status["components"].setdefault(name, {}).update(fields)
        self.write_status()

    # -- processes ---------------------------------------------------------------------------
    def start(self, c: Component) -> None:
        log = open(c.log, "ab", buffering=0)  # noqa: SIM115 - handed to the child
        log.write(
            f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {c.name}: {' '.join(c.argv)}\n".encode()
        )
        env = {**os.environ, **c.env}
        proc = subprocess.Popen(c.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        self.procs[c.name] = proc
        self.set_component(c.name, pid=proc.pid, state="starting", log=c.log, started_at=time.time())

    def reap(self) -> None:
        """Collect every exited child, ours or adopted; note components that died."""
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for name, proc in self.procs.items():
                if proc.pid == pid:
                    proc.returncode = os.waitstatus_to_exitcode(code)
                    if not self.stopping.is_set():
                        self.set_component(
                            name, state="exited", exit_code=proc.returncode, exited_at=time.time()
                        )

    def wait_healthy(self, stage: list[Component]) -> tuple[str, str] | None:
        """Wait for every component of a stage; returns (component, reason) on failure."""
        pending = {c.name: c for c in stage}
        deadlines = {c.name: time.monotonic() + c.start_timeout for c in stage}
        last_reason: dict[str, str] = {}
        while pending:
            self.reap()
            if self.stopping.is_set():
                return ("supervisor", "stopped while starting")
            for name, c in list(pending.items()):
                proc = self.procs[name]
                if proc.returncode is not None:
                    return (name, f"exited with code {proc.returncode} while starting")
                reason = probe(c.health, timeout=1.0)
                if reason is None:
                    self.set_component(name, state="running", ready_at=time.time())
                    del pending[name]
                elif time.monotonic() > deadlines[name]:
                    return (name, f"not healthy after {c.start_timeout:g}s ({reason})")
                else:
                    last_reason[name] = reason
            time.sleep(0.1)
        return None

    def stop_all(self) -> None:
        """Stop stage by stage, last stage first; a stage's components get SIGTERM together."""
        for stage in reversed(self.plan.stages):
            procs = [(c, self.procs[c.name]) for c in stage if c.name in self.procs]
            live = [(c, p) for c, p in procs if p.returncode is None]
            for _, proc in live:
                proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + _STOP_GRACE_SECONDS
            while any(p.returncode is None for _, p in live) and time.monotonic() < deadline:
                self.reap()
                time.sleep(0.05)
            for c, proc in live:
                if proc.returncode is None:
                    proc.kill()
                    self.set_component(c.name, state="killed")
                else:
                    self.set_component(c.name, state="stopped")
        # Shims, containers and anything else the components left: kill them all, and reap.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            left = cgroups.kill_all(self.plan.cgroup_root, exclude={os.getpid()}, timeout=2)
            self.reap()
            if not left:
                break
        self.reap()

    def run(self) -> int:
        for stage in self.plan.stages:
            for c in stage:
                self.start(c)
            failure = self.wait_healthy(stage)
            if failure:
                component, reason = failure
                self.status["phase"] = "failed"
                self.status["error"] = {"component": component, "reason": reason}
                self.write_status()
                self.stopping.set()
                self.stop_all()
                return 1
        self.status["phase"] = "running"
        self.write_status()
        while not self.stopping.wait(0.5):
            self.reap()
        self.status["phase"] = "stopping"
        self.write_status()
        self.stop_all()
        self.status["phase"] = "stopped"
        self.write_status()
        return 0


def _become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def main(argv: list[str]) -> int:
    # Keep no descriptor we were handed by accident (e.g. the fd of a `flock FILE ...` around the
    # command that started the cluster): this process lives on, and would hold such a lock forever.
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    plan_file = Path(argv[0])
    parent = os.getppid()
    while not plan_file.exists():  # `up` starts us early, and writes the plan once all is prepared
        if os.getppid() != parent:
            print(f"supervisor: `up` (pid {parent}) exited before it wrote {plan_file}", file=sys.stderr)
            return 1
        time.sleep(0.01)
    plan = Plan.from_json(plan_file.read_text())
    _become_subreaper()
    cgroups.join(plan.cgroup)
    sup = Supervisor(plan)
    signal.signal(signal.SIGTERM, lambda *_: sup.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: sup.stopping.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sup.write_status()
    return sup.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
