"""errors.py and localcluster/errors.py: one documented tree, and the boundary around the local cluster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pytest_pods.localcluster
from pytest_pods import errors
from pytest_pods.localcluster import errors as local

LOCALCLUSTER = Path(pytest_pods.localcluster.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(LOCALCLUSTER.rglob("*.py")), ids=lambda p: p.name)
def test_the_local_cluster_imports_nothing_of_the_plugin(path: Path) -> None:
    outside = {
        m
        for m in _imports(path)
        if m.split(".")[0] == "pytest_pods" and not m.startswith("pytest_pods.localcluster")
    }
    assert not outside, f"{path.name} imports {sorted(outside)}"
    assert not {m for m in _imports(path) if m.split(".")[0] in ("pytest", "_pytest")}


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (local.PreflightError("no root", "run as root"), errors.PreflightError),
        (local.BuildError("etcd", "go build failed", "tail"), errors.BuildError),
        (local.ComponentError("etcd", "exited 1", "/var/log/etcd.log", "panic"), errors.ComponentError),
        (local.ClusterError("cannot stop"), errors.ClusterError),
    ],
)
def test_local_errors_map_onto_the_one_tree_keeping_fields_and_message(
    raised: local.LocalClusterError, expected: type[errors.ClusterError]
) -> None:
    with pytest.raises(expected) as info, errors.mapped_local_errors():
        raise raised
    mapped = info.value
    assert type(mapped) is expected
    assert isinstance(mapped, errors.PodsError) and isinstance(mapped, type(raised))
    assert str(mapped) == str(raised)
    assert vars(mapped) == vars(raised)
    assert mapped.__cause__ is raised


def test_plugin_errors_pass_through_unmapped() -> None:
    original = errors.BuildError("kind", "no go")
    with pytest.raises(errors.BuildError) as info, errors.mapped_local_errors():
        raise original
    assert info.value is original
