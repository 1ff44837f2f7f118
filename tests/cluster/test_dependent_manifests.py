"""Objects that depend on each other in one manifest (issue 20, part 2), as ``kubectl apply -f`` takes
them: a Namespace before its objects, a ServiceAccount (and its RBAC) before the Pod that uses it, a
CRD before its custom resources; a mistake the server finds still applies nothing, and every refusal
is a ManifestError naming the file:line and the object."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_pods import Cluster, Namespace
from pytest_pods.errors import ManifestError
from tests.cluster.conftest import delete_paths, namespace_phase

pytestmark = pytest.mark.cluster

#: The pod's own view of the API: an HTTPS GET with its ServiceAccount's token, printing the status.
API_GET = (
    "curl -s -o /dev/null -w '%{{http_code}}' --cacert /var/run/secrets/kubernetes.io/serviceaccount/ca.crt "
    '-H "Authorization: Bearer $(cat /var/run/secrets/kubernetes.io/serviceaccount/token)" '
    '"https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT{path}"'
)

CLIENT_POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  serviceAccountName: reader
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: afakharany/watcher:latest
    command: ["sleep", "infinity"]
"""


@pytest.fixture
def unique() -> str:
    return f"pp-dep-{secrets.token_hex(4)}"


@pytest.fixture
def cleanup(pods_namespace: Namespace) -> Iterator[list[str]]:
    """Paths to delete after the test (the objects it made outside its namespace)."""
    paths: list[str] = []
    yield paths
    for path in paths:
        delete_paths(pods_namespace.kube, path)


def test_a_manifest_starting_with_its_own_namespace(
    pods_namespace: Namespace, unique: str, cleanup: list[str], tmp_path: Path
) -> None:
    cleanup.append(f"/api/v1/namespaces/{unique}")
    path = tmp_path / "team.yaml"
    path.write_text(
        f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {unique}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {unique}
data:
  colour: blue
"""
    )
    objs = pods_namespace.apply(path)
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("Namespace", unique),
        ("ConfigMap", "settings"),
    ]
    stored = pods_namespace.kube.request("GET", f"/api/v1/namespaces/{unique}/configmaps/settings")
    assert stored["data"] == {"colour": "blue"}
    # applied again, as it is: nothing to wait for, nothing refused
    pods_namespace.apply(path)


def test_a_mistake_the_server_finds_applies_nothing_even_before_a_namespace_is_made(
    pods_cluster: Cluster, pods_namespace: Namespace, unique: str, cleanup: list[str], tmp_path: Path
) -> None:
    cleanup.append(f"/api/v1/namespaces/{unique}")
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {unique}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {unique}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
  - port: 99999
"""
    )
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(path)
    err = info.value
    assert (err.source, err.line, err.obj) == (str(path), 18, "Service/web"), err
    assert "65535" in str(err)
    assert namespace_phase(pods_cluster, unique) == "Gone"  # nothing was applied


def test_a_mistake_in_an_object_of_a_new_namespace_is_named_with_its_line(
    pods_cluster: Cluster, pods_namespace: Namespace, unique: str, cleanup: list[str], tmp_path: Path
) -> None:
    """The Secret cannot be checked before its namespace exists: it is checked (and refused, as a
    ManifestError naming its line, not a raw 404) once the namespace is there."""
    cleanup.append(f"/api/v1/namespaces/{unique}")
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {unique}
---
apiVersion: v1
kind: Secret
metadata:
  name: Not_A_Name
  namespace: {unique}
"""
    )
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(path)
    err = info.value
    assert (err.source, err.line, err.obj, err.field) == (str(path), 9, "Secret/Not_A_Name", "metadata.name")
    # the API server looks for the namespace before it validates the name: the Secret could only be
    # checked once its namespace was applied
    assert namespace_phase(pods_cluster, unique) == "Active"


def test_a_service_account_role_binding_and_the_pod_using_them_in_one_file(
    pods_namespace: Namespace, tmp_path: Path
) -> None:
    path = tmp_path / "reader.yaml"
    path.write_text(
        CLIENT_POD
        + """\
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: reader
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list"]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
"""
    )
    pods_namespace.apply(path, wait=True)
    pod = pods_namespace.pod("client")
    ns = pods_namespace.name
    assert pod.exec(["sh", "-c", API_GET.format(path=f"/api/v1/namespaces/{ns}/configmaps")]).stdout == "200"
    # the Role gives nothing more
    assert pod.exec(["sh", "-c", API_GET.format(path=f"/api/v1/namespaces/{ns}/secrets")]).stdout == "403"


def test_a_cluster_role_and_its_binding_to_the_tests_account_used_from_a_pod(
    pods_namespace: Namespace, unique: str, cleanup: list[str]
) -> None:
    ns = pods_namespace.name
    cleanup += [
        f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{unique}",
        f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{unique}",
    ]
    pods_namespace.apply(
        CLIENT_POD
        + f"""\
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {unique}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {unique}
subjects:
- kind: ServiceAccount
  name: reader
  namespace: {ns}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {unique}
rules:
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
""",
        wait=True,
    )
    pod = pods_namespace.pod("client")
    assert pod.exec(["sh", "-c", API_GET.format(path=f"/api/v1/namespaces/{ns}")]).stdout == "200"
    assert pod.exec(["sh", "-c", API_GET.format(path="/api/v1/namespaces")]).stdout == "403"  # get, not list


def test_a_crd_and_a_custom_resource_of_it_in_one_file(
    pods_namespace: Namespace, unique: str, cleanup: list[str], tmp_path: Path
) -> None:
    group = f"{unique}.example.com"
    cleanup.append(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.{group}")
    path = tmp_path / "gadgets.yaml"
    path.write_text(
        f"""\
apiVersion: {group}/v1
kind: Gadget
metadata:
  name: first
spec:
  size: 3
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{kind: Gadget, plural: gadgets, singular: gadget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {{type: integer}}
"""
    )
    objs = pods_namespace.apply(path)
    assert [o["kind"] for o in objs] == ["Gadget", "CustomResourceDefinition"]  # the manifest's order
    stored = pods_namespace.kube.request(
        "GET", f"/apis/{group}/v1/namespaces/{pods_namespace.name}/gadgets/first"
    )
    assert stored["spec"] == {"size": 3}
