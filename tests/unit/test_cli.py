"""The ``pytest-pods`` command drives providers through the registry: its ``--provider`` choices are
the registry's names (a plugin's included), and ``cluster status`` / ``cluster down`` call a
provider's ``status`` / ``stop``. Fake providers here: this is the command's own logic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_pods import cli
from pytest_pods.core.progress import Progress
from pytest_pods.errors import ProviderError
from pytest_pods.providers import Registry, installed_registry
from pytest_pods.providers.base import ClusterInfo, ProviderStatus
from pytest_pods.providers.existing import ExistingProvider
from pytest_pods.providers.kind import KindProvider
from pytest_pods.settings import Settings

CALLS: list[str] = []


class Fake:
    name = "fake"
    healthy = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def unavailable(self) -> str | None:
        return None

    def describe(self) -> str:
        return "a fake"

    def start(self, progress: Progress) -> ClusterInfo:
        raise AssertionError("the command never starts a provider's cluster")

    def stop(self, progress: Progress) -> None:
        CALLS.append(f"{self.name} stop {self.settings.kubernetes_version}")
        progress(f"{self.name} is down")

    def status(self) -> ProviderStatus:
        return ProviderStatus(
            f"{self.name}: {'fine' if self.healthy else 'broken'}", self.healthy, ["one", "two"]
        )

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        pass


class Plugged(Fake):
    name = "k3d"
    healthy = False


class Broken(Fake):
    name = "kind"

    def stop(self, progress: Progress) -> None:
        CALLS.append("kind stop")
        raise ProviderError("kind cluster 'pytest-pods' was not deleted: Docker does not answer")


class Local(Fake):
    name = "local"


@pytest.fixture
def registry() -> Registry:
    CALLS.clear()
    return Registry({"k3d": Plugged, "kind": Broken, "local": Local})


def test_down_takes_its_choices_from_the_registry(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "down", "--provider", "k3d", "--kubernetes-version", "1.35.4"], registry) == 0
    assert CALLS == ["k3d stop v1.35.4"]
    assert "k3d is down" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["cluster", "down", "--provider", "existing"], registry)  # not in this registry
    assert info.value.code == 2
    assert "invalid choice: 'existing' (choose from 'k3d', 'kind', 'local', 'all')" in capsys.readouterr().err


def test_down_all_stops_every_provider_and_goes_on_past_one_that_fails(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "down", "--provider", "all"], registry) == 1
    assert [c.split()[0] for c in CALLS] == ["k3d", "kind", "local"]
    err = capsys.readouterr().err
    assert "pytest-pods: error: kind cluster 'pytest-pods' was not deleted" in err
    assert "local is down" in err


def test_down_of_one_provider_that_fails_is_an_error(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "down", "--provider", "kind"], registry) == 1
    assert "pytest-pods: error: kind cluster 'pytest-pods' was not deleted" in capsys.readouterr().err


@pytest.mark.parametrize(("provider", "code"), [("local", 0), ("k3d", 1)])
def test_status_prints_the_providers_status_and_exits_by_its_health(
    registry: Registry, capsys: pytest.CaptureFixture[str], provider: str, code: int
) -> None:
    assert cli.main(["cluster", "status", "--provider", provider], registry) == code
    headline = "local: fine" if provider == "local" else "k3d: broken"
    assert capsys.readouterr().out == f"{headline}\n  one\n  two\n"


def test_status_and_down_act_on_each_providers_own_cluster_name(
    registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["cluster", "down", "--name", "other"], registry) == 1
    assert "--name other" in capsys.readouterr().err
    assert CALLS == []


def test_the_installed_registry_has_the_builtin_providers() -> None:
    assert {"existing", "kind", "local"} <= set(installed_registry().providers())


def test_the_existing_provider_stops_nothing_and_says_so() -> None:
    said: list[str] = []
    ExistingProvider(Settings()).stop(said.append)
    assert said == ["the existing provider stops nothing: the cluster is not pytest-pods'"]
    status = ExistingProvider(Settings()).status()
    assert not status.healthy and "needs --pods-kubeconfig" in status.details[0]


def test_the_kind_providers_stop_raises_the_plugins_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kind lifecycle raises its own KindError; the user still sees ProviderError, same words."""
    from pytest_pods.kindcluster import KindError
    from pytest_pods.kindcluster import cluster as kind_cluster

    monkeypatch.setenv("PYTEST_PODS_CACHE", str(tmp_path))
    monkeypatch.setattr(kind_cluster, "docker_unavailable", lambda: "the Docker engine does not answer")
    provider = KindProvider(Settings())
    provider.cluster.state_dir.mkdir(parents=True)
    provider.cluster.key_file.write_text('{"key": "k"}')
    with pytest.raises(ProviderError, match="was not deleted: kind needs a Docker engine") as info:
        provider.stop(lambda message: None)
    assert isinstance(info.value.__cause__, KindError)
    status = provider.status()
    assert not status.healthy and "kind needs a Docker engine" in status.details[0]


def test_gc_in_cluster_outside_a_pod_says_so_and_takes_no_kubeconfig_with_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert cli.main(["gc", "--in-cluster"], registry=installed_registry()) == 1
    assert "not in a pod? Service host/port is not set" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["gc", "--in-cluster", "--kubeconfig", "k"], registry=installed_registry())
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
