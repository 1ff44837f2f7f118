"""kind tests: real Docker, real kind. The error tests need only a Docker engine (and the offline node
image for the ones that get as far as `kind create`); the cluster tests run in the kind pass of
.ci/run (``--pods-provider=kind``). None of them holds the local cluster's lock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_pods import Cluster
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.kindcluster.cluster import KindCluster, KindSpec
from pytest_pods.kindcluster.tools import docker_unavailable, run
from tests.cluster.conftest import _real_cache as _real_cache
from tests.cluster.conftest import same_provider_args as same_provider_args

NODE_IMAGE = f"pytest-pods/kind-node:{DEFAULT_KUBERNETES_VERSION}"
CI_CONFIG = Path(__file__).parents[2] / ".ci" / "kind-config.yaml"


@pytest.fixture(scope="session")
def docker() -> str:
    """Docker answers here, or the test is skipped saying why."""
    problem = docker_unavailable()
    if problem:
        pytest.skip(f"needs a Docker engine: {problem}")
    return "docker"


@pytest.fixture(scope="session")
def node_image(docker: str) -> str:
    """The offline node image that .ci/install builds; missing is a failure that says how to build it."""
    if run(["docker", "image", "inspect", NODE_IMAGE], timeout=30).returncode != 0:
        pytest.fail(f"{NODE_IMAGE} is missing: pytest-pods kind build-node-image")
    return NODE_IMAGE


@pytest.fixture
def scratch_cluster(request: pytest.FixtureRequest, node_image: str) -> Iterator[KindCluster]:
    """A kind cluster of its own name (never the session's ``pytest-pods``), deleted afterwards."""
    name = "pp-" + request.node.name.removeprefix("test_").replace("_", "-")[:20].rstrip("-")
    cluster = KindCluster(KindSpec(name=name, image=node_image, config=CI_CONFIG))
    yield cluster
    cluster.delete(lambda message: None)
    run(["docker", "rm", "-f", cluster.node], timeout=60)


@pytest.fixture
def kind_session(pods_cluster: Cluster) -> Cluster:
    if pods_cluster.info.provider != "kind":
        pytest.skip("runs in the kind pass of .ci/run (--pods-provider=kind)")
    return pods_cluster
