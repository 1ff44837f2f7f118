"""One run of the session layer: its identity and state directory (:class:`Run`), the choice of its
provider, SIGTERM handled as an interrupt, and its end (:func:`stop_if_started`).

A :class:`Run` is one run's identity (its id, the xdist worker) and its state directory, shared by
the run's workers and by concurrent runs of the same user: the cluster lock, the "this run started
the cluster" marker, the preload-images marker and the provider chosen for ``auto``. The directory is
injectable (``Run(state_dir=...)``, or ``$PYTEST_PODS_STATE_DIR``); by default it is
``/tmp/pytest-pods-<uid>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from pytest_pods.core.progress import Progress, silent
from pytest_pods.errors import ProviderError
from pytest_pods.providers import AUTO, Registry
from pytest_pods.providers.base import Provider
from pytest_pods.settings import Settings

STATE_DIR_ENV = "PYTEST_PODS_STATE_DIR"


def default_state_dir() -> Path:
    """``$PYTEST_PODS_STATE_DIR``, else ``/tmp/pytest-pods-<uid>``."""
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / f"pytest-pods-{os.getuid()}"


def new_run_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class Run:
    """One run: its id (shared by its xdist workers), this process's worker name, and the state
    directory where the run's lock and marker files live."""

    id: str = field(default_factory=new_run_id)
    worker: str = "main"
    state_dir: Path = field(default_factory=default_state_dir)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def lock(self, what: str) -> FileLock:
        """A file lock shared by every process that uses this state directory."""
        return FileLock(str(self.state_dir / f"{what}.lock"))

    @property
    def started_file(self) -> Path:
        """Exists when this run started the cluster (so that ``keep_cluster=False`` may stop it)."""
        return self.state_dir / f"started-{self.id}.json"

    @property
    def images_file(self) -> Path:
        """Exists once this run has loaded its preload images."""
        return self.state_dir / f"images-{self.id}"

    @property
    def choice_file(self) -> Path:
        """The provider this run chose (``auto`` is decided once per run, not per worker)."""
        return self.state_dir / f"provider-{self.id}.json"

    @property
    def lease_problem_file(self) -> Path:
        """Why the run holds no Lease, written by the first of its processes that found out (so that
        an xdist controller, which talks to no cluster, can say it once)."""
        return self.state_dir / f"lease-{self.id}.problem"

    def mark_started(self, provider: str) -> None:
        if not self.started_file.exists():
            self.started_file.write_text(json.dumps({"provider": provider}))

    def started_provider(self) -> str | None:
        """The provider whose cluster this run started, if it started one."""
        try:
            return str(json.loads(self.started_file.read_text()).get("provider") or "") or None
        except (OSError, ValueError):
            return None

    def choose(self, decide: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """``decide()`` once per run (the first worker to ask decides, the others read its answer)."""
        with self.lock(f"choice-{self.id}"):
            with contextlib.suppress(OSError, ValueError):
                saved = json.loads(self.choice_file.read_text())
                return str(saved["name"]), str(saved["why"])
            name, why = decide()
            self.choice_file.write_text(json.dumps({"name": name, "why": why}))
            return name, why

    def forget(self) -> None:
        """Remove the run's marker files (the run is over)."""
        for path in (self.started_file, self.images_file, self.choice_file, self.lease_problem_file):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            (self.state_dir / f"choice-{self.id}.lock").unlink()


def choose_provider(settings: Settings, registry: Registry, run: Run) -> tuple[Provider, str]:
    """The provider of these settings and why it was chosen. ``auto`` is decided once per run (by
    the first worker that asks; the answer is known to work here); a provider asked for by name is
    checked. Raises :class:`ProviderError` naming the option to set when it cannot work here."""
    if settings.provider == AUTO:
        name, why = run.choose(lambda: registry.choose_auto(settings))
        return registry.make(name, settings), why
    provider = registry.make(settings.provider, settings)
    problem = provider.unavailable()
    if problem:
        raise ProviderError(f"--pods-provider={settings.provider} cannot work here: {problem}")
    return provider, "asked for"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread (as SIGINT does), so that the
    run unwinds and deletes its namespaces before it exits. Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_if_started(run: Run, registry: Registry, settings: Settings, progress: Progress = silent) -> None:
    """End the run: with ``keep_cluster=False``, stop a cluster that this run started (never one it
    found running); then remove the run's marker files. Call it once, after every worker is done."""
    try:
        name = run.started_provider()
        if name is not None and not settings.keep_cluster and name in registry.names():
            registry.make(name, settings).stop(progress)
    finally:
        run.forget()
