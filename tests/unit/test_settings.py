from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods.errors import ConfigError
from pytest_pods.providers import builtin_registry
from pytest_pods.settings import Settings, describe, resolve
from pytest_pods.waits import READY_STABLE

PROVIDERS = builtin_registry().names()


def _resolve(
    cli: dict[str, object] | None = None,
    ini: dict[str, object] | None = None,
    defaults: dict[str, object] | None = None,
    base: Path = Path("/"),
) -> Settings:
    return resolve(cli or {}, ini or {}, defaults, cli_base=base, ini_base=base, providers=PROVIDERS)


def test_builtin_defaults() -> None:
    assert _resolve() == Settings()
    assert Settings().provider == "auto"
    assert Settings().timeout == 120.0
    assert Settings().keep_namespace == "never"


def test_command_line_beats_ini_beats_fixture() -> None:
    s = _resolve(
        {"timeout": "5"},
        {"timeout": "6", "keep_namespace": "always"},
        {"timeout": 7, "keep_namespace": "never", "provider": "local"},
    )
    assert (s.timeout, s.keep_namespace, s.provider) == (5.0, "always", "local")


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [
        ("provider", "kubernetes", "valid: auto, existing, kind, local"),
        ("keep_namespace", "sometimes", "valid: always, never, on-failure"),
        ("keep_cluster", "maybe", "valid: no, yes"),
        ("timeout", "-1", "greater than 0"),
        ("timeout", "soon", "greater than 0"),
        ("kubernetes_version", "latest", "v1.34.4"),
        ("keep_for", "tomorrow", "e.g. 30m, 8h, 2d or 3600"),
        ("keep_for", "0s", "greater than 0"),
        ("keep_for", "1h soon", "greater than 0"),
    ],
)
def test_bad_values_list_the_valid_ones(field: str, value: str, valid: str) -> None:
    with pytest.raises(ConfigError, match=valid) as info:
        _resolve({field: value})
    assert f"--pods-{field.replace('_', '-')}" in str(info.value)


def test_bad_ini_value_names_the_ini_key() -> None:
    with pytest.raises(ConfigError, match="ini pods_keep_namespace"):
        _resolve(ini={"keep_namespace": "sometimes"})


def test_bad_fixture_key() -> None:
    with pytest.raises(ConfigError, match=r"unknown key.*timout.*valid:.*timeout"):
        _resolve(defaults={"timout": 3})


def test_extra_providers_from_plugins_are_valid() -> None:
    s = resolve(
        {"provider": "k3d"}, {}, cli_base=Path("/"), ini_base=Path("/"), providers=(*PROVIDERS, "k3d")
    )
    assert s.provider == "k3d"


def test_paths_relative_to_their_layer(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "kubeconfig").write_text("{}")
    (tmp_path / "a.tar").write_text("")
    s = resolve(
        {"preload_images": ["a.tar"]},
        {"kubeconfig": "cfg/kubeconfig"},
        cli_base=tmp_path,
        ini_base=tmp_path,
        providers=PROVIDERS,
    )
    assert s.kubeconfig == tmp_path / "cfg" / "kubeconfig"
    assert s.preload_images == (tmp_path / "a.tar",)


def test_missing_files_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _resolve({"kubeconfig": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match="is not a file"):
        _resolve({"preload_images": [str(tmp_path / "nope.tar")]})


def test_version_normalised_and_yes_no() -> None:
    s = _resolve({"kubernetes_version": "1.34.4", "keep_cluster": "NO"})
    assert (s.kubernetes_version, s.keep_cluster) == ("v1.34.4", False)
    assert _resolve(defaults={"keep_cluster": False}).keep_cluster is False


def test_describe_lists_non_defaults() -> None:
    assert describe(Settings(timeout=5.0, keep_cluster=False)) == ["keep_cluster=no", "timeout=5.0"]


def test_ready_stable_defaults_to_1_second_and_takes_seconds(pytester: pytest.Pytester) -> None:
    assert Settings().ready_stable == 1.0 == READY_STABLE
    pytester.makepyfile(
        """
        def test_it(pods_settings):
            assert pods_settings.ready_stable == 2.5
        """
    )
    pytester.runpytest("--pods-ready-stable=2.5", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    pytester.makepyfile(
        """
        def test_it(pods_settings):
            assert pods_settings.ready_stable == 0
        """
    )
    pytester.runpytest("--pods-ready-stable=0", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_negative_ready_stable_is_a_usage_error_naming_valid_values(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(pods_settings): pass")
    result = pytester.runpytest("--pods-ready-stable=-1", "-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(["*--pods-ready-stable*-1*valid: a number of seconds, 0 or more*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_keep_for_reads_durations_and_defaults_to_a_day() -> None:
    assert Settings().keep_for == 24 * 3600
    assert _resolve({"keep_for": "1h30m"}).keep_for == 5400
    assert _resolve({"keep_for": "2d"}).keep_for == 2 * 86400
    assert _resolve({"keep_for": "90"}).keep_for == 90
    assert _resolve(ini={"keep_for": "45s"}).keep_for == 45
    assert _resolve(defaults={"keep_for": 600}).keep_for == 600
