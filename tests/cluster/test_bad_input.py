"""Bad input, against the real cluster: one test per row of the README's bad-input table (the
test's name is in the row). Each checks that the error names the cause and what to do."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import (
    CommandNotFoundError,
    ContainerNotFoundError,
    LogTimeoutError,
    ManifestError,
    PodError,
    PodNotReadyError,
    PortForwardError,
)
from tests.cluster.conftest import MANIFESTS

pytestmark = pytest.mark.cluster


def _pod(name: str, container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", **container}], "terminationGracePeriodSeconds": 0, **spec},
    }


SLEEPER = _pod("sleeper", {"image": "debian", "command": ["sleep", "600"]})


def _first_line(error: BaseException) -> str:
    line = str(error).splitlines()[0]
    print(f"\n[bad input] {type(error).__name__}: {line}")  # shown with -s: the README table's text
    return line


# --- manifests: refused before anything is applied ------------------------------------------------
def test_manifest_file_missing(pods_namespace: Namespace, tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(tmp_path / "nope.yaml")
    assert "nope.yaml" in _first_line(info.value)
    assert str(info.value).endswith("nope.yaml: no such file")


def test_manifest_not_yaml(pods_namespace: Namespace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(bad)
    assert info.value.line is not None
    assert _first_line(info.value).startswith(f"{bad}:{info.value.line}")


def test_manifest_unknown_kind(pods_namespace: Namespace) -> None:
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply({"apiVersion": "v1", "kind": "Podd", "metadata": {"name": "x"}})
    assert "Podd" in _first_line(info.value)
    assert not pods_namespace.pods()


def test_manifest_schema_error_names_the_line_and_field(pods_namespace: Namespace) -> None:
    text = (MANIFESTS / "pods01.yaml").read_text().replace("image:", "imagee:")
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(text)
    line = _first_line(info.value)
    assert info.value.line == 8  # the line of "imagee:"
    assert "spec.containers[0].imagee" in line or "imagee" in str(info.value)
    assert not pods_namespace.pods()  # nothing was applied


# --- pods and containers ----------------------------------------------------------------------------
def test_wrong_container(pods_namespace: Namespace) -> None:
    pods_namespace.apply(MANIFESTS / "pods01.yaml", wait=True)
    with pytest.raises(ContainerNotFoundError) as info:
        pods_namespace.pod("webserver").exec(["true"], container="nginx")
    assert "no container named 'nginx'; the pod has: webserver" in _first_line(info.value)


def test_missing_command(pods_namespace: Namespace) -> None:
    pods_namespace.apply(SLEEPER, wait=True)
    with pytest.raises(CommandNotFoundError) as info:
        pods_namespace.pod("sleeper").exec(["curl", "http://example.invalid"])
    assert "command 'curl' not found in container 'main'" in _first_line(info.value)


def test_missing_image(pods_namespace: Namespace) -> None:
    pods_namespace.apply(_pod("noimage", {"image": "nginx:0.0-not-in-the-registry"}))
    began = time.monotonic()
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("noimage").wait_ready(timeout=120)
    assert time.monotonic() - began < 60  # fails fast, not at the timeout
    assert info.value.reason in ("ErrImagePull", "ImagePullBackOff")
    assert "nginx:0.0-not-in-the-registry" in str(info.value)
    _first_line(info.value)


# --- timeouts ------------------------------------------------------------------------------------------
def test_wait_timeout(pods_namespace: Namespace) -> None:
    never = {"exec": {"command": ["false"]}, "periodSeconds": 1}
    pods_namespace.apply(
        _pod("unready", {"image": "debian", "command": ["sleep", "600"], "readinessProbe": never})
    )
    with pytest.raises(PodNotReadyError) as info:
        pods_namespace.pod("unready").wait_ready(timeout=5)
    assert info.value.reason == "Timeout"
    _first_line(info.value)
    assert "main" in str(info.value)  # each container's state is named


def test_exec_timeout(pods_namespace: Namespace) -> None:
    pods_namespace.apply(SLEEPER, wait=True)
    began = time.monotonic()
    with pytest.raises(PodError) as info:
        pods_namespace.pod("sleeper").exec(["sleep", "60"], timeout=2)
    assert time.monotonic() - began < 20
    assert "command ['sleep', '60'] in container 'main' still running after 2s" in _first_line(info.value)


def test_wait_for_log_timeout(pods_namespace: Namespace) -> None:
    pods_namespace.apply(
        _pod("talker", {"image": "debian", "command": ["sh", "-c", "echo hello; sleep 600"]})
    )
    with pytest.raises(LogTimeoutError) as info:
        pods_namespace.pod("talker").wait_for_log("never-printed", timeout=3)
    expected = "no line matching 'never-printed' in the log of container 'main' after 3s"
    assert expected in _first_line(info.value)
    assert "hello" in info.value.tail


def test_port_forward_to_a_closed_port(pods_namespace: Namespace) -> None:
    pods_namespace.apply(MANIFESTS / "pods01.yaml", wait=True)
    with (
        pytest.raises(PortForwardError) as info,
        pods_namespace.pod("webserver").port_forward(8080, timeout=2),
    ):
        pass
    assert "nothing accepted connections on port 8080 within" in _first_line(info.value)
    assert "--- last log lines of container 'webserver' ---" in str(info.value)
