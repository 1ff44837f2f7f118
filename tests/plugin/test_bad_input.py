"""Bad input to the plugin: one test per cluster row of the README's bad-input table (the test's name
is in the row). No cluster here: each mistake is caught before one is needed, or against an address
where nothing listens. Each error names the cause and the option to set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pytest_pods
from tests.plugin.test_plugin import KUBECONFIG

pytest_plugins = ["pytester"]

USES_A_CLUSTER = """
import pytest
@pytest.mark.parametrize("i", range(3))
def test_x(pods_namespace, i):
    pass
"""


@pytest.fixture(autouse=True)
def this_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Subprocess runs import this checkout's pytest_pods; the runs' state directory is a temporary one."""
    root = str(Path(pytest_pods.__file__).parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(tmp_path / "state"))


def _said(result: pytest.RunResult) -> str:
    text = "\n".join(result.outlines + result.errlines)
    lines = [line for line in text.splitlines() if "pytest-pods" in line or "Error" in line]
    print("\n[bad input]", lines[-1] if lines else text[-300:])  # shown with -s: the README table's text
    return text


def test_unknown_provider(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest("--pods-provider=kube")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = _said(result)
    assert "--pods-provider" in text and "kube" in text
    assert "auto" in text and "local" in text and "existing" in text  # the valid names


def test_provider_that_cannot_work(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(pytester.path))  # no docker, no kind
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest("--pods-provider=kind")
    result.assert_outcomes(errors=1)  # one error, not one per test
    text = _said(result)
    assert "--pods-provider=kind cannot work here" in text
    assert "Docker" in text


def test_missing_kubeconfig_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest("--pods-provider=existing")
    result.assert_outcomes(errors=1)
    assert "the existing provider needs --pods-kubeconfig PATH" in _said(result)


def test_kubeconfig_file_missing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest("--pods-provider=existing", "--pods-kubeconfig=no/such/config")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = _said(result)
    assert "--pods-kubeconfig" in text and "no/such/config" in text


def test_wrong_context(pytester: pytest.Pytester) -> None:
    (pytester.path / "kubeconfig").write_text(KUBECONFIG)
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest(
        "--pods-provider=existing", "--pods-kubeconfig=kubeconfig", "--pods-context=prod"
    )
    assert result.ret != 0
    assert result.parseoutcomes().get("passed", 0) == 0
    text = _said(result)
    assert "'prod' is not a context" in text and "only" in text  # names the valid ones


def test_cluster_unreachable(pytester: pytest.Pytester) -> None:
    (pytester.path / "kubeconfig").write_text(KUBECONFIG)  # https://127.0.0.1:9: nothing listens
    pytester.makepyfile(USES_A_CLUSTER)
    result = pytester.runpytest(
        "--pods-provider=existing", "--pods-kubeconfig=kubeconfig", "-p", "no:randomly"
    )
    assert result.parseoutcomes().get("passed", 0) == 0
    text = _said(result)
    assert "cannot reach the cluster of context 'only' at https://127.0.0.1:9" in text
    assert "is it running? Check --pods-kubeconfig" in text
