"""The session layer without a cluster: the run's state files, the once-per-run choice, SIGTERM handling,
the keep rule, the one namespace key, and which namespaces the look-ahead prepares."""

from __future__ import annotations

import ast
import os
import signal
from pathlib import Path

import pytest

import pytest_pods
from pytest_pods.errors import ProviderError
from pytest_pods.markers import ManifestMarker
from pytest_pods.providers import builtin_registry
from pytest_pods.providers.base import ClusterInfo
from pytest_pods.session import (
    PREPARE_AHEAD,
    Namespace,
    Run,
    Session,
    Upcoming,
    choose_provider,
    namespace_key,
    sigterm_as_interrupt,
    stop_if_started,
)
from pytest_pods.session.ahead import prepare_next
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


def test_a_session_that_cannot_choose_its_provider_still_ends_its_run(tmp_path: Path) -> None:
    run = Run("r1", state_dir=tmp_path)
    run.images_file.touch()  # as if an earlier step of the run had loaded the images
    session = Session(Settings(provider="existing"), run=run)
    with pytest.raises(ProviderError, match="--pods-provider=existing cannot work here"), session:
        pytest.fail("entered a session whose provider cannot work")
    assert list(tmp_path.iterdir()) == [], "the run's files are removed, as stop_if_started does"
    assert session.provider is None


def test_the_keep_rule_is_the_namespaces_own(tmp_path: Path) -> None:
    info = ClusterInfo("existing", tmp_path / "kc", "c", "v1.99.0", "a stand-in")
    ns = Namespace(None, "ns1", info, keep_namespace="on-failure")  # type: ignore[arg-type]
    assert not ns.kept()
    ns.failures.append("test_x")
    assert ns.kept()
    assert not Namespace(None, "ns2", info, resources=ns.resources).kept()  # type: ignore[arg-type]


def test_one_key_names_a_namespace_by_owner_directory_and_markers() -> None:
    web = [ManifestMarker(("pods01.yaml",), scope="module")]
    key = namespace_key("t.py", Path("/e"), web)
    assert namespace_key("t.py", Path("/e"), list(web)) == key
    others = [
        namespace_key("u.py", Path("/e"), web),
        namespace_key("t.py", Path("/f"), web),
        namespace_key("t.py", None, web),
        namespace_key("t.py", Path("/e"), [ManifestMarker(("pods01.yaml",), wait=False, scope="module")]),
        namespace_key("t.py", Path("/e"), []),
    ]
    assert len({key, *others}) == 1 + len(others)


def _need(owner: str) -> Upcoming:
    return Upcoming(owner, None, [ManifestMarker((f"{owner}.yaml",))])


def test_the_look_ahead_prepares_the_next_owners_up_to_its_limit() -> None:
    asked: list[str] = []

    def prepare(need: Upcoming) -> bool:
        asked.append(need.owner)
        return need.owner != "open"  # an open namespace is not prepared, nor counted

    upcoming = [_need("cur"), _need("a"), _need("a"), _need("open"), _need("b"), _need("c")]
    assert prepare_next(prepare, "cur", upcoming) == ["a", "b"]
    assert asked == ["a", "open", "b"], "the current owner and owners asked for already are skipped"
    assert PREPARE_AHEAD == 2


def test_the_look_ahead_stops_where_it_cannot_see_past_a_test() -> None:
    asked: list[str] = []

    def prepare(need: Upcoming) -> bool:
        asked.append(need.owner)
        return True

    assert prepare_next(prepare, None, [_need("a"), None, _need("b")], limit=5) == ["a"]
    assert asked == ["a"]


@pytest.mark.parametrize(
    "path", sorted((Path(pytest_pods.__file__).parent / "session").glob("*.py")), ids=lambda p: p.name
)
def test_the_session_layer_imports_no_pytest_and_nothing_above_it(path: Path) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    above = {"pytest", "_pytest", "pytest_pods.plugin", "pytest_pods.fixtures", "pytest_pods.pluginstate"}
    assert not {m for m in imported if m in above or m.split(".")[0] in ("pytest", "_pytest")}
    assert imported, "nothing read"


def test_a_namespace_prefers_the_groups_it_applied_and_defined_the_latest_first(tmp_path: Path) -> None:
    info = ClusterInfo("existing", tmp_path / "kc", "c", "v1.99.0", "a stand-in")
    ns = Namespace(None, "ns1", info)  # type: ignore[arg-type]
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}
    ns.applied += [
        {"apiVersion": "v1", "kind": "ConfigMap"},
        {**crd, "spec": {"group": "toys.test"}},
        {"apiVersion": "apps/v1", "kind": "Deployment"},
    ]
    assert ns.applied_groups() == ["apps", "toys.test", "apiextensions.k8s.io", ""]
