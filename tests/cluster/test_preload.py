"""Offline images, for real: an image archive that no registry serves is preloaded with
``--pods-preload-image`` and a pod runs it with the default pull policy (Always)."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from pytest_pods import Cluster
from tests.cluster.conftest import stand_in_registry

pytestmark = pytest.mark.cluster


@pytest.fixture
def archive(pods_cluster: Cluster, tmp_path: Path) -> tuple[Path, str]:
    """A `docker save`-style archive of the debian stand-in under a name of its own."""
    ref = f"pytest-pods.example/preload/tool-{uuid.uuid4().hex[:6]}:latest"  # pull policy Always
    path = tmp_path / "tool.tar"
    registry = stand_in_registry(pods_cluster)
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--src-tls-verify=false",
            f"docker://{registry}/library/debian:latest",
            f"docker-archive:{path}:{ref}",
        ],
        check=True,
        capture_output=True,
    )
    return path, ref


def test_a_preloaded_archive_runs_under_its_own_name(
    pytester: pytest.Pytester, archive: tuple[Path, str], same_provider_args: list[str]
) -> None:
    path, ref = archive
    pytester.makepyfile(
        f"""
        def test_it(pods_namespace):
            pods_namespace.apply({{
                "apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "tool"}},
                "spec": {{"terminationGracePeriodSeconds": 0,
                          "containers": [{{"name": "tool", "image": "{ref}", "command": ["sleep", "600"]}}]}},
            }}, wait=True, timeout=60)
            pod = pods_namespace.pod("tool")
            assert pod.get()["spec"]["containers"][0]["imagePullPolicy"] == "Always"
            assert "ID=debian" in pod.exec(["cat", "/etc/os-release"]).stdout
        """
    )
    result = pytester.runpytest(*same_provider_args, f"--pods-preload-image={path}")
    result.assert_outcomes(passed=1)


def test_without_the_archive_the_same_image_fails_fast(
    pytester: pytest.Pytester, archive: tuple[Path, str], same_provider_args: list[str]
) -> None:
    _, ref = archive
    missing = ref.replace(":latest", ":never-loaded")
    pytester.makepyfile(
        f"""
        def test_it(pods_namespace):
            pods_namespace.apply({{
                "apiVersion": "v1", "kind": "Pod", "metadata": {{"name": "tool"}},
                "spec": {{"containers": [{{"name": "tool", "image": "{missing}"}}]}},
            }}, wait=True, timeout=90)
        """
    )
    result = pytester.runpytest(*same_provider_args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*PodNotReadyError*ErrImagePull*", "*not found*"])
