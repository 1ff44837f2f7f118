"""session.py without a cluster: the run's state files, the once-per-run choice, SIGTERM handling."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from pytest_pods.errors import ProviderError
from pytest_pods.providers import builtin_registry
from pytest_pods.session import Run, choose_provider, sigterm_as_interrupt, stop_if_started
from pytest_pods.settings import Settings


def test_the_state_dir_is_injectable_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run("r1", state_dir=tmp_path / "a")
    assert (run.state_dir.stat().st_mode & 0o777) == 0o700
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(tmp_path / "b"))
    assert Run().state_dir == tmp_path / "b"


def test_auto_is_decided_once_per_run(tmp_path: Path) -> None:
    calls: list[str] = []

    def decide() -> tuple[str, str]:
        calls.append("probe")
        return "local", "auto: local can work here"

    gw0, gw1 = Run("r1", "gw0", tmp_path), Run("r1", "gw1", tmp_path)
    assert gw0.choose(decide) == ("local", "auto: local can work here")
    assert gw1.choose(decide) == ("local", "auto: local can work here")
    assert calls == ["probe"]
    assert Run("r2", "gw0", tmp_path).choose(decide)[0] == "local"
    assert calls == ["probe", "probe"], "another run decides for itself"


def test_the_end_of_a_run_removes_its_files_and_stops_only_what_it_started(tmp_path: Path) -> None:
    run = Run("r1", state_dir=tmp_path)
    run.mark_started("existing")
    run.images_file.touch()
    run.choose(lambda: ("existing", "x"))
    assert run.started_provider() == "existing"
    stop_if_started(run, builtin_registry(), Settings(keep_cluster=False))  # existing's stop() does nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_provider_asked_for_that_cannot_work_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(
        ProviderError, match=r"--pods-provider=existing cannot work here: .*--pods-kubeconfig"
    ):
        choose_provider(Settings(provider="existing"), builtin_registry(), Run(state_dir=tmp_path))


def test_sigterm_interrupts_inside_and_is_restored_after() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
