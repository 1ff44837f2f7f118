"""pytest-pods: test Kubernetes pod manifests against a real cluster from pytest."""

import pytest

pytest.register_assert_rewrite("pytest_pods.asserts")

from pytest_pods.asserts import assert_file_contains, assert_hosts_entry, assert_log_contains  # noqa: E402
from pytest_pods.etchosts import HostsEntry  # noqa: E402
from pytest_pods.fixtures import validate_pods_manifest  # noqa: E402
from pytest_pods.pods import ExecResult, Pod  # noqa: E402
from pytest_pods.session import Cluster, Namespace, Run, cluster_session  # noqa: E402
from pytest_pods.settings import Settings  # noqa: E402

__all__ = [
    "Cluster",
    "ExecResult",
    "HostsEntry",
    "Namespace",
    "Pod",
    "Run",
    "Settings",
    "assert_file_contains",
    "assert_hosts_entry",
    "assert_log_contains",
    "cluster_session",
    "validate_pods_manifest",
]
