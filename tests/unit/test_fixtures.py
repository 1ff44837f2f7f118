"""The marker's signature, the scope of a test's namespace, the keep-namespace rule, and the
sharing of a namespace within a scope (pure: a stand-in cluster that makes no API call)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_pods.markers import ManifestMarker, narrowest_scope, validate_pods_manifest
from pytest_pods.session import Namespace, SharedNamespaces, should_keep


def test_marker_signature() -> None:
    assert validate_pods_manifest("a.yaml", wait=False, timeout=3) == (("a.yaml",), False, 3, "function")
    assert validate_pods_manifest("a.yaml", scope="module").scope == "module"
    with pytest.raises(TypeError, match="at least one manifest"):
        validate_pods_manifest()
    with pytest.raises(TypeError, match="unexpected keyword argument 'wiat'"):
        validate_pods_manifest("a.yaml", wiat=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="timeout"):
        validate_pods_manifest("a.yaml", timeout="soon")  # type: ignore[arg-type]
    with pytest.raises(
        TypeError, match=r"scope=\.\.\.\) must be one of function, class, module, package, session"
    ):
        validate_pods_manifest("a.yaml", scope="modul")


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        ([], "function"),
        (["module"], "module"),
        (["session", "module"], "module"),
        (["module", "class"], "class"),
        (["module", "function"], "function"),
        (["package", "session"], "package"),
    ],
)
def test_the_narrowest_scope_wins(scopes: list[str], expected: str) -> None:
    assert narrowest_scope([ManifestMarker(("a.yaml",), scope=s) for s in scopes]) == expected


@pytest.mark.parametrize(
    ("when", "failed", "kept"),
    [
        ("never", True, False),
        ("on-failure", True, True),
        ("on-failure", False, False),
        ("always", False, True),
    ],
)
def test_keep_namespace_rule(when: str, failed: bool, kept: bool) -> None:
    assert should_keep(when, failed) is kept


class StandInCluster:
    """Records what a Cluster would do; namespace() makes a Namespace without any API call."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.closed: list[str] = []
        self.applied: list[Any] = []

    @contextlib.contextmanager
    def namespace(
        self, nodeid: str, *, base_dir: Path | None = None, markers: object = ()
    ) -> Iterator[Namespace]:
        ns = Namespace.__new__(Namespace)
        ns.name = f"ns{len(self.made)}"
        ns.failures, ns._set_up, ns._setup_error, ns._ahead, ns._waiting = [], False, None, {}, {}
        ns._ahead_warnings, ns._held = {}, None
        ns.apply = lambda source, **kw: self.applied.append((ns.name, source, kw))  # type: ignore[method-assign,assignment]
        self.made.append(nodeid)
        try:
            yield ns
        finally:
            self.closed.append(ns.name)


def test_a_scope_makes_one_namespace_per_set_of_manifests_and_closes_them_at_its_end() -> None:
    cluster = StandInCluster()
    web = [ManifestMarker(("pods01.yaml",), scope="module")]
    side = [ManifestMarker(("pods02.yaml",), scope="module")]
    owner = "examples/test_x.py"
    with SharedNamespaces(cluster) as shared:  # type: ignore[arg-type]
        first, made = shared.get(owner, web, Path("/e"))
        assert made and cluster.made == [owner]
        again, made_again = shared.get(owner, list(web), Path("/e"))
        assert again is first and not made_again
        other, _ = shared.get(owner, side, Path("/e"))
        assert other is not first
        assert shared.get(owner, web, Path("/elsewhere"))[0] is not first  # relative paths differ
        assert shared.get("examples/test_y.py", web, Path("/e"))[0] is not first  # another owner
        assert cluster.made == [owner] * 3 + ["examples/test_y.py"]
        assert cluster.closed == []
    assert cluster.closed == ["ns3", "ns2", "ns1", "ns0"]


def test_setup_applies_once_and_a_failure_is_raised_again_for_every_later_test() -> None:
    cluster = StandInCluster()
    with cluster.namespace("t") as ns:
        markers = [ManifestMarker(("a.yaml", "b.yaml"), wait=True, timeout=5), ManifestMarker(("a.yaml",))]
        ns.setup(markers)
        ns.setup(markers)
        assert cluster.applied == [
            ("ns0", "a.yaml", {"wait": True, "timeout": 5}),
            ("ns0", "b.yaml", {"wait": True, "timeout": 5}),
        ]
    calls = []

    def fail(source: object, **kw: object) -> None:
        calls.append(source)
        raise RuntimeError("pod not Ready")

    with cluster.namespace("u") as broken:
        broken.apply = fail  # type: ignore[assignment]
        for _ in range(3):
            with pytest.raises(RuntimeError, match="pod not Ready"):
                broken.setup([ManifestMarker(("c.yaml",))])
    assert calls == ["c.yaml"]


def test_helm_for_the_runs_charts_is_built_before_the_tests_and_a_failure_is_left_to_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_pods import fixtures
    from pytest_pods.errors import BuildError
    from pytest_pods.render import tools

    calls: list[object] = []
    said: list[str] = []

    def found(progress: object) -> Path:
        calls.append(progress)
        return Path("/bin/helm")

    monkeypatch.setattr(tools, "helm", found)
    fixtures._helm_for_charts(said.append)
    assert calls == [said.append] and said == []  # built (or found) with the session's progress

    def fails(progress: object) -> Path:
        raise BuildError("building helm v4.3.2 failed: go: proxy unreachable\nmore", what="helm", detail="x")

    monkeypatch.setattr(tools, "helm", fails)
    fixtures._helm_for_charts(said.append)  # does not raise: the chart tests report it
    assert said == [
        "Helm could not be built (building helm v4.3.2 failed: go: proxy unreachable): "
        "the tests with pods_chart report it"
    ]
