"""pytest-pods: test Kubernetes pod manifests against a real cluster from pytest."""

import sys

if "pytest" in sys.modules:  # under pytest: rewrite the assertion helpers' asserts
    import pytest

    pytest.register_assert_rewrite("pytest_pods.asserts")

from pytest_pods.asserts import assert_file_contains, assert_hosts_entry, assert_log_contains
from pytest_pods.errors import (
    ApiError,
    BuildError,
    ChartError,
    ChartTestError,
    ClusterError,
    CommandNotFoundError,
    ComponentError,
    ConfigError,
    ContainerNotFoundError,
    ExecError,
    KubeconfigError,
    LogTimeoutError,
    ManifestError,
    PermissionsError,
    PodError,
    PodNotDeletedError,
    PodNotReadyError,
    PodsApiWarning,
    PodsError,
    PortForwardError,
    PreflightError,
    ProviderError,
    UnknownKindError,
    WorkloadNotReadyError,
)
from pytest_pods.etchosts import HostsEntry
from pytest_pods.markers import validate_pods_chart, validate_pods_manifest
from pytest_pods.pods import ExecResult, HttpResponse, Pod
from pytest_pods.render.helm import Chart, ChartTest
from pytest_pods.session import Cluster, Namespace, Run, Session, cluster_session
from pytest_pods.settings import Settings
from pytest_pods.workloads import Workload

#: The error classes are here too (the tree is drawn in :mod:`pytest_pods.errors`), so that a test
#: can ``except pytest_pods.PodNotReadyError`` with one import.
__all__ = [
    "ApiError",
    "BuildError",
    "Chart",
    "ChartError",
    "ChartTest",
    "ChartTestError",
    "Cluster",
    "ClusterError",
    "CommandNotFoundError",
    "ComponentError",
    "ConfigError",
    "ContainerNotFoundError",
    "ExecError",
    "ExecResult",
    "HostsEntry",
    "HttpResponse",
    "KubeconfigError",
    "LogTimeoutError",
    "ManifestError",
    "Namespace",
    "PermissionsError",
    "Pod",
    "PodError",
    "PodNotDeletedError",
    "PodNotReadyError",
    "PodsApiWarning",
    "PodsError",
    "PortForwardError",
    "PreflightError",
    "ProviderError",
    "Run",
    "Session",
    "Settings",
    "UnknownKindError",
    "Workload",
    "WorkloadNotReadyError",
    "assert_file_contains",
    "assert_hosts_entry",
    "assert_log_contains",
    "cluster_session",
    "validate_pods_chart",
    "validate_pods_manifest",
]
