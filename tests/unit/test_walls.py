"""The walls, read from the source (every ``import`` of every module of the package, ``TYPE_CHECKING``
and function-level ones included):

- ``pytest_pods.core`` imports nothing else of the plugin;
- the cluster packages (``localcluster``, ``kindcluster``) import nothing of the plugin but ``core``
  (and, for kind, the local cluster's face), and no pytest;
- outside each cluster package, nothing imports its inner modules: only its face, ``__init__.py``,
  whose ``__all__`` names every public name, each loading from the module that defines it;
- every arrow points down: a module imports only rooms below its own in :data:`LAYERS` (the README's
  Development map), so there is no cycle either.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

import pytest_pods

ROOT = Path(pytest_pods.__file__).parent
CLUSTER_PACKAGES = ("pytest_pods.localcluster", "pytest_pods.kindcluster")
#: What each walled package may import of pytest-pods besides itself.
ALLOWED = {
    "pytest_pods.core": (),
    "pytest_pods.localcluster": ("pytest_pods.core",),
    "pytest_pods.kindcluster": ("pytest_pods.core", "pytest_pods.localcluster"),
}


@dataclass(frozen=True)
class Import:
    target: str  # the module imported (a name imported from a package that is a module: that module)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> list[Import]:
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(sub if is_module(sub) else base, node.lineno))
    return found


MODULES = sorted(ROOT.rglob("*.py"))


def test_the_reader_sees_what_it_must() -> None:
    """The checks below see imports of every form: a wall with a blind reader holds nothing."""
    kind = {i.target for i in imports_of(ROOT / "kindcluster" / "node.py")}
    assert "pytest_pods.localcluster" in kind  # ``from pytest_pods import localcluster``
    assert "pytest_pods.core.paths" in kind
    face = {i.target for i in imports_of(ROOT / "localcluster" / "__init__.py")}
    assert "pytest_pods.localcluster.cluster" in face  # under TYPE_CHECKING
    assert "pytest_pods.localcluster.images" in face  # ``from ...images import pack as pack_rootfs``
    providers = {i.target for i in imports_of(ROOT / "providers" / "kind.py")}
    assert "pytest_pods.kindcluster" in providers
    assert len(MODULES) > 50


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_walled_packages_import_only_what_they_may(path: Path) -> None:
    here = module_name(path)
    walled = next((p for p in ALLOWED if _inside(here, p)), None)
    if walled is None:
        return
    for imp in imports_of(path):
        assert imp.target.split(".")[0] not in ("pytest", "_pytest"), f"{here}:{imp.line} imports pytest"
        if imp.target.split(".")[0] != "pytest_pods" or _inside(imp.target, walled):
            continue
        # another walled package only through its face, and only where allowed
        allowed = [
            a
            for a in ALLOWED[walled]
            if imp.target == a or (a == "pytest_pods.core" and _inside(imp.target, a))
        ]
        assert allowed, f"{here}:{imp.line} imports {imp.target}: {walled} may import only {ALLOWED[walled]}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_outside_a_cluster_package_imports_its_inner_modules(path: Path) -> None:
    here = module_name(path)
    for package in CLUSTER_PACKAGES:
        if _inside(here, package):
            continue
        inner = [i for i in imports_of(path) if i.target.startswith(package + ".")]
        assert not inner, f"{here} imports {[f'{i.target} (line {i.line})' for i in inner]}: use {package}"


def _face(package: str) -> ModuleType:
    return importlib.import_module(package)


@pytest.mark.parametrize("package", CLUSTER_PACKAGES)
def test_each_cluster_package_has_one_honest_face(package: str) -> None:
    face = _face(package)
    names = list(face.__all__)
    assert len(names) == len(set(names))
    # sorted as ruff's RUF022 sorts: CONSTANTS, then Classes, then functions
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    assert set(names) == set(face._EXPORTS), "__all__ and the lazy table name the same things"
    source = Path(face.__file__ or "").read_text()
    for name in names:
        module, original = face._EXPORTS[name]
        value = getattr(face, name)
        assert value is getattr(importlib.import_module(f"{package}.{module}"), original)
        assert re.search(rf"import {original} as {name}$", source, re.M), f"{name}: typed for mypy"
        if isinstance(value, type) or callable(value):
            assert getattr(value, "__module__", "").startswith(package + "."), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_like_this'"):
        _ = face.nothing_like_this


#: The package read top to bottom (README, Development): a module may import only what comes after
#: its own room here. A package is one room (its modules import each other freely).
LAYERS = (
    "pytest_pods.__main__",
    "pytest_pods.plugin",
    "pytest_pods.cli",
    "pytest_pods.labitems",
    "pytest_pods.fixtures",
    "pytest_pods.hookspecs",
    "pytest_pods.pluginstate",
    "pytest_pods.diagnostics",
    "pytest_pods.asserts",
    "pytest_pods.labs",
    "pytest_pods.session",
    "pytest_pods.workloads",
    "pytest_pods.pods",
    "pytest_pods.markers",
    "pytest_pods.manifests",
    "pytest_pods.render",
    "pytest_pods.gc",
    "pytest_pods.namespaces",
    "pytest_pods.access",
    "pytest_pods.providers",
    "pytest_pods.settings",
    "pytest_pods.waits",
    "pytest_pods.discovery",
    "pytest_pods.podstate",
    "pytest_pods.etchosts",
    "pytest_pods.kindcluster",
    "pytest_pods.localcluster",
    "pytest_pods.core",
    "pytest_pods.kube",
    "pytest_pods.portforward",
    "pytest_pods.errors",
)


def room(module: str) -> str:
    return next(r for r in LAYERS if module == r or module.startswith(r + "."))


def runtime_imports(path: Path) -> list[Import]:
    """:func:`imports_of` less those under ``if TYPE_CHECKING:`` (annotations only: no arrow at run time)."""
    tree = ast.parse(path.read_text(), str(path))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for inner in node.body:
                typing_only.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return [i for i in imports_of(path) if i.line not in typing_only]


def test_every_module_has_a_room() -> None:
    modules = {module_name(p) for p in MODULES} - {"pytest_pods"}
    assert modules, "no module read"
    for module in modules:
        room(module)  # StopIteration: a new module needs its place in LAYERS


@pytest.mark.parametrize("path", [p for p in MODULES if module_name(p) != "pytest_pods"], ids=str)
def test_arrows_point_down(path: Path) -> None:
    here = LAYERS.index(room(module_name(path)))
    upward = [
        f"line {i.line}: {i.target}"
        for i in runtime_imports(path)
        if i.target.startswith("pytest_pods.") and LAYERS.index(room(i.target)) < here
    ]
    assert not upward, f"{module_name(path)} imports a room above it: {upward}"
