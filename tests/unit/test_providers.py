"""providers/: the registry, ``auto``, the Protocol, and the existing provider's context rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods.core.progress import Progress
from pytest_pods.errors import ConfigError, ProviderError
from pytest_pods.providers import AUTO, BUILTIN, Registry, builtin_registry
from pytest_pods.providers.base import ClusterInfo, Provider
from pytest_pods.providers.existing import choose_context
from pytest_pods.settings import Settings


def _kubeconfig(path: Path, contexts: list[str], current: str | None) -> Path:
    import yaml

    data = {"apiVersion": "v1", "kind": "Config", "contexts": [{"name": c, "context": {}} for c in contexts]}
    if current:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return path


def test_context_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "default-config"))
    one = _kubeconfig(tmp_path / "one", ["only"], "only")
    several = _kubeconfig(tmp_path / "several", ["a", "b"], "b")
    default = _kubeconfig(tmp_path / "default-config", ["prod"], "prod")
    assert choose_context(one, None) == "only"
    assert choose_context(several, "a") == "a"
    assert choose_context(several, "current") == "b"
    with pytest.raises(ConfigError, match=r"has 2 contexts.*valid: a, b"):
        choose_context(several, None)
    with pytest.raises(ConfigError, match=r"'c' is not a context.*valid: a, b, or 'current'"):
        choose_context(several, "c")
    with pytest.raises(ConfigError, match=r"your default kubeconfig.*--pods-context=current"):
        choose_context(default, None)
    assert choose_context(default, "current") == "prod"


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_provider_satisfies_the_protocol(name: str) -> None:
    provider = BUILTIN[name](Settings())
    assert isinstance(provider, Provider)
    assert provider.name == name


def test_existing_provider_requires_a_kubeconfig() -> None:
    problem = BUILTIN["existing"](Settings()).unavailable()
    assert problem is not None
    assert "--pods-kubeconfig" in problem


class _Scripted:
    """A provider whose availability a test sets."""

    def __init__(self, name: str, problem: str | None, made: list[str]) -> None:
        self.name = name
        self.problem = problem
        made.append(name)

    def unavailable(self) -> str | None:
        return self.problem

    def describe(self) -> str:
        return self.name

    def start(self, progress: Progress) -> ClusterInfo:
        raise AssertionError("not started in these tests")

    def stop(self, progress: Progress) -> None:
        pass

    def load_images(self, archives: object, progress: Progress) -> None:
        pass


def _registry(problems: dict[str, str | None], made: list[str]) -> Registry:
    def factory(name: str) -> object:
        return lambda settings: _Scripted(name, problems[name], made)

    return Registry({n: factory(n) for n in problems}, auto_order=("kind", "local"))  # type: ignore[misc]


def test_names_are_the_registry_plus_auto() -> None:
    assert builtin_registry().names() == ["auto", "existing", "kind", "local"]
    added = builtin_registry([{"k3d": BUILTIN["existing"]}])
    assert added.names() == ["auto", "existing", "k3d", "kind", "local"]
    with pytest.raises(ValueError, match="not a provider name"):
        Registry({AUTO: BUILTIN["existing"]})


def test_make_names_the_valid_providers() -> None:
    with pytest.raises(
        ProviderError, match=r"no plugin makes provider 'k3d'; valid: auto, existing, kind, local"
    ):
        builtin_registry().make("k3d", Settings())


def test_auto_takes_the_first_that_can_work_and_stops_probing() -> None:
    made: list[str] = []
    registry = _registry({"kind": None, "local": None, "existing": None}, made)
    assert registry.choose_auto(Settings()) == ("kind", "auto: kind can work here")
    assert made == ["kind"]


def test_auto_falls_back_and_says_why() -> None:
    made: list[str] = []
    registry = _registry({"kind": "no docker command on PATH\nmore", "local": None, "existing": None}, made)
    name, why = registry.choose_auto(Settings())
    assert name == "local"
    assert why == "auto: kind cannot (no docker command on PATH); local can work here"


def test_auto_says_what_each_one_lacks_when_none_can_work() -> None:
    registry = _registry(
        {"kind": "kind needs Docker", "local": "the local provider needs root", "existing": None}, []
    )
    with pytest.raises(ProviderError) as info:
        registry.choose_auto(Settings())
    text = str(info.value)
    assert "--pods-provider=auto: no cluster provider can work on this machine" in text
    assert "kind cannot (kind needs Docker)" in text
    assert "local cannot (the local provider needs root)" in text
    assert "--pods-provider=existing --pods-kubeconfig PATH" in text


def test_builtin_describe_does_not_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("describe() ran a subprocess")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    for name in ("kind", "local"):
        assert "Kubernetes" in BUILTIN[name](Settings(kubernetes_version="v1.34.4")).describe()
    assert "(no --pods-kubeconfig given)" in BUILTIN["existing"](Settings()).describe()


def test_one_cluster_info_for_every_provider_and_the_local_cluster() -> None:
    from pytest_pods.core.info import ClusterInfo as LocalInfo
    from pytest_pods.localcluster import ClusterConfig, LocalCluster

    assert ClusterInfo is LocalInfo
    info = LocalCluster(ClusterConfig(name="x")).info(reused=True)
    assert isinstance(info, ClusterInfo)
    assert (info.provider, info.context, info.reused, info.name) == ("local", None, True, "x")
    assert info.description == f"local cluster 'x' (Docker-free) at {info.server}, reused"
    assert info.server.startswith("https://127.0.0.1:")


def test_a_stopwatch_is_not_wrapped_twice() -> None:
    from pytest_pods.core.progress import Stopwatch

    lines: list[str] = []
    watch = Stopwatch(lines.append, clock=lambda: 5.0)
    assert Stopwatch.of(watch) is watch
    Stopwatch.of(watch)("step")
    Stopwatch.of(lines.append)("plain")
    assert lines[0] == "[    0.0s] step"  # one time prefix, not two
    assert lines[1].endswith("s] plain") and lines[1].count("s] ") == 1
