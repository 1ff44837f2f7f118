"""``wait_for`` and ``workload`` take any kind the cluster serves, named as kubectl names it (from
the API server's discovery): a ReplicationController, an Ingress, a cluster-scoped ClusterRole, an
object that does not exist yet (``--for=create``), and a typo'd kind named with its near matches.
Against the real cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pytest_pods import Cluster, Namespace
from pytest_pods.errors import ApiError, UnknownKindError, WorkloadNotReadyError
from tests.cluster.conftest import shell_pod

pytestmark = pytest.mark.cluster

TIMEOUT = 180.0


def replication_controller(name: str) -> dict[str, object]:
    pod = shell_pod(name, "sleep 600")
    template = {"metadata": {"labels": {"rc": name}}, "spec": pod["spec"]}
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"rc": name}, "template": template},
    }


INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "front"},
    "spec": {
        "rules": [
            {
                "host": "front.pytest-pods.test",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "front", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    },
}


def test_wait_for_a_replication_controller_by_jsonpath_and_its_handle(pods_namespace: Namespace) -> None:
    pods_namespace.apply(replication_controller("legacy"))
    rc = pods_namespace.wait_for("rc", "legacy", jsonpath="{.status.readyReplicas}=1", timeout=TIMEOUT)
    assert rc["status"]["readyReplicas"] == 1
    handle = pods_namespace.workload("replicationcontrollers", "legacy")
    assert handle.kind == "ReplicationController" and handle.selector == "rc=legacy"
    (pod,) = handle.pods()
    assert pod.conditions["Ready"] == "True"


def test_wait_for_an_ingress_to_exist_and_by_a_jsonpath_on_its_spec(pods_namespace: Namespace) -> None:
    with pytest.raises(WorkloadNotReadyError) as missing:
        pods_namespace.wait_for("Ingress", "front", timeout=2)  # --for=create, before it is applied
    assert missing.value.reason == "Timeout" and "--for=create" in str(missing.value)
    assert "Ingress front does not exist" in str(missing.value)
    pods_namespace.apply(INGRESS)
    made = pods_namespace.wait_for("ingresses.networking.k8s.io", "front", timeout=TIMEOUT)
    assert made["metadata"]["name"] == "front"
    pods_namespace.wait_for(
        "ing", "front", jsonpath="{.spec.rules[0].host}=front.pytest-pods.test", timeout=30
    )


def test_wait_for_a_secret_until_it_exists(pods_namespace: Namespace) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "stringData": {"k": "v"}}
    pods_namespace.apply(secret)
    assert pods_namespace.wait_for("Secret", "x", timeout=30)["metadata"]["name"] == "x"


@pytest.fixture
def cluster_role(pods_namespace: Namespace) -> Iterator[str]:
    """A ClusterRole of a unique name, deleted afterwards here at once (the namespace's cleanup takes
    it along too, but in the background)."""
    name = f"pytest-pods-reader-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        pods_namespace.kube.request("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}")
    except ApiError as exc:
        if exc.status != 404:
            raise


def test_wait_for_a_cluster_scoped_object(pods_namespace: Namespace, cluster_role: str) -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": cluster_role, "labels": {"tier": "reader"}},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    }
    pods_namespace.apply(role)
    got = pods_namespace.wait_for(
        "clusterrole", cluster_role, jsonpath="{.metadata.labels.tier}=reader", timeout=30
    )
    assert got["kind"] == "ClusterRole" and "namespace" not in got["metadata"]
    pods_namespace.kube.request("DELETE", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{cluster_role}")
    assert pods_namespace.wait_for("ClusterRole", cluster_role, delete=True, timeout=30) == {}


def test_a_typod_kind_names_its_near_matches(pods_namespace: Namespace) -> None:
    with pytest.raises(
        UnknownKindError, match=r"does not serve a kind 'Deploymnet'; did you mean .*Deployment"
    ):
        pods_namespace.wait_for("Deploymnet", "web", condition="Available", timeout=5)
    with pytest.raises(UnknownKindError, match=r"did you mean .*replicationcontrollers"):
        pods_namespace.workload("replicationcontroler", "legacy")


def test_one_resolver_per_cluster_shared_by_its_namespaces(
    pods_cluster: Cluster, pods_namespace: Namespace
) -> None:
    assert pods_namespace.resolver is pods_cluster.resolver
    with pods_cluster.namespace("tests/cluster/test_any_kind.py::another") as other:
        assert other.resolver is pods_cluster.resolver
        assert other.resolver.resolve("deploy").qualified == "deployments.apps"
