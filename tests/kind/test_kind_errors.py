"""Each way kind can fail is an error within 10 s that names the cause and the fix. Real Docker, real
kind: nothing here is faked except the PATH or DOCKER_HOST that a test takes away."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from pytest_pods.kindcluster import KindError
from pytest_pods.kindcluster.cluster import KindCluster, KindSpec
from pytest_pods.kindcluster.tools import run, tail

pytestmark = pytest.mark.timeout(120)

TEST = """
def test_x(pods_namespace):
    pass
"""


def _inner(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, float]:
    pytester.makepyfile(TEST)
    began = time.monotonic()
    result = pytester.runpytest("-p", "no:cacheprovider", "--pods-provider=kind", *args)
    return result, time.monotonic() - began


def _up_fails_fast(cluster: KindCluster) -> str:
    """The text of the error ``cluster.up`` raises, which must come within 10 s."""
    began = time.monotonic()
    with pytest.raises(KindError) as info:
        cluster.up(lambda message: None)
    assert time.monotonic() - began < 10
    return str(info.value)


def _with_config(scratch: KindCluster, config: Path) -> KindCluster:
    """The scratch cluster's name and image with another kind config."""
    return KindCluster(KindSpec(name=scratch.spec.name, image=scratch.spec.image, config=config))


def test_docker_not_installed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(pytester.path / "empty-bin"))
    result, seconds = _inner(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Docker is not installed*install Docker*--pods-provider=local*"])
    assert seconds < 10


def test_docker_installed_but_not_running(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, docker: str
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-dockerd.sock")
    result, seconds = _inner(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Docker is installed but its engine at unix://*does not answer*start it*"])
    assert seconds < 10


def test_kind_missing(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, docker: str) -> None:
    only_docker = pytester.path / "bin"
    only_docker.mkdir()
    real = run(["sh", "-c", "command -v docker"]).stdout.strip()
    (only_docker / "docker").symlink_to(real)
    monkeypatch.setenv("PATH", str(only_docker))
    monkeypatch.setenv("PYTEST_PODS_CACHE", str(pytester.path / "empty-cache"))
    result, seconds = _inner(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*kind is not installed*pytest-pods kind install*--pods-kind-binary*"])
    assert seconds < 10
    assert not (pytester.path / "empty-cache" / "bin").exists(), "nothing may be built or downloaded"


def test_own_node_image_missing_names_the_build_command(pytester: pytest.Pytester, docker: str) -> None:
    result, seconds = _inner(pytester, "--pods-kind-image=pytest-pods/kind-node:v1.99.0")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*offline node image pytest-pods/kind-node:v1.99.0 is not in Docker*"
            "pytest-pods kind build-node-image --kubernetes-version v1.99.0*"
        ]
    )
    assert seconds < 10


def test_node_image_that_cannot_be_pulled_offline(docker: str) -> None:
    # a registry on loopback that nothing serves: the pull fails at once and never leaves the machine
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = KindCluster(KindSpec(name="pp-never-made", image=f"127.0.0.1:{port}/kind/node:v1.37.2"))
    text = _up_fails_fast(cluster)
    assert "is not in Docker, and pulling it failed" in text
    assert "pytest-pods kind build-node-image" in text
    assert not cluster.exists()


def test_port_conflict(scratch_cluster: KindCluster, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = tmp_path / "kind.yaml"
        assert scratch_cluster.spec.config is not None  # the scratch cluster has CI's config
        config.write_text(
            scratch_cluster.spec.config.read_text()
            + f"networking:\n  apiServerAddress: 127.0.0.1\n  apiServerPort: {port}\n"
        )
        text = _up_fails_fast(_with_config(scratch_cluster, config))
    assert "a host port the kind config asks for is already in use" in text
    assert "apiServerPort / extraPortMappings" in text
    assert "--- last lines of kind's output ---" in text


def test_cluster_name_conflict(scratch_cluster: KindCluster) -> None:
    created = run(
        [
            "docker",
            "create",
            "--name",
            scratch_cluster.node,
            "--entrypoint",
            "true",
            str(scratch_cluster.spec.image),
        ],
        timeout=60,
    )
    assert created.returncode == 0, tail(created)
    text = _up_fails_fast(scratch_cluster)
    assert f"Docker already has a container named {scratch_cluster.node}" in text
    assert f"docker rm -f {scratch_cluster.node}" in text


def test_kind_create_failure_shows_the_tail_of_its_output(
    scratch_cluster: KindCluster, tmp_path: Path
) -> None:
    config = tmp_path / "kind.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: bogus\n")
    text = _up_fails_fast(_with_config(scratch_cluster, config))
    assert "kind create cluster failed (exit 1" in text
    tail = text.split("--- last lines of kind's output ---", 1)[1]
    assert "bogus" in tail
