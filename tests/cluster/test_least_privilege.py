"""Least privilege, on the real cluster: deploy/pytest-pods-role.yaml is enough for the plugin. A
ServiceAccount bound to exactly that role (ClusterRole pytest-pods, Role pytest-pods-leases), with a
kubeconfig built from a token request, runs the examples and the scope, orphan and port-forward tests
through --pods-provider=existing: namespaces, apply, exec, attach (the Ready witness), logs,
port-forward, events, Leases and discovery. Without the Role it falls back, saying so once; without
one rule of the ClusterRole the run stops with one error that names it."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_pods import Cluster
from pytest_pods.errors import ApiError
from pytest_pods.kube import Kube
from tests.cluster.conftest import ROOT, service_account_kubeconfig

pytestmark = pytest.mark.cluster

ROLE_FILE = ROOT / "deploy" / "pytest-pods-role.yaml"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def object_path(doc: dict[str, Any]) -> str:
    name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace")
    if doc["kind"] == "Namespace":
        return f"/api/v1/namespaces/{name}"
    if doc["kind"] == "ServiceAccount":
        return f"/api/v1/namespaces/{ns}/serviceaccounts/{name}"
    plural = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}.get(doc["kind"])
    if plural:
        return f"{RBAC}/{plural}/{name}"
    plural = {"Role": "roles", "RoleBinding": "rolebindings"}[doc["kind"]]
    return f"{RBAC}/namespaces/{ns}/{plural}/{name}"


def apply(kube: Kube, doc: dict[str, Any]) -> None:
    kube.request(
        "PATCH",
        object_path(doc),
        body=doc,
        query={"fieldManager": "pytest-pods-tests", "force": True},
        content_type="application/apply-patch+yaml",
    )


def delete(kube: Kube, doc: dict[str, Any]) -> None:
    try:
        kube.request("DELETE", object_path(doc))
    except ApiError as exc:
        if exc.status != 404:
            raise


def role_docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(ROLE_FILE.read_text()) if d]


INGRESS_TEST = """
import pytest
from pytest_pods import ManifestError

INGRESS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "minimal-ingress"},
    "spec": {"defaultBackend": {"service": {"name": "test", "port": {"number": 80}}}},
}

def test_a_kind_the_role_does_not_cover_is_refused_naming_the_role(pods_namespace):
    with pytest.raises(ManifestError, match="add a rule for them to the ClusterRole in deploy/"):
        pods_namespace.apply(INGRESS)
"""


class Identity:
    """A ServiceAccount of its own namespace, bound to the roles given, and a kubeconfig for it."""

    def __init__(self, cluster: Cluster, where: Path, cluster_role: str, leases_role: str | None) -> None:
        self.kube = cluster.kube
        tag = secrets.token_hex(3)
        self.name = f"pp-rbac-{tag}"
        sa = {
            "kind": "ServiceAccount",
            "apiVersion": "v1",
            "metadata": {"name": "runner", "namespace": self.name},
        }
        subject = [{"kind": "ServiceAccount", "name": "runner", "namespace": self.name}]
        self.made: list[dict[str, Any]] = [
            {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": self.name}},
            sa,
            {
                "kind": "ClusterRoleBinding",
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "metadata": {"name": self.name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": cluster_role,
                },
                "subjects": subject,
            },
        ]
        if leases_role:
            self.made.append(
                {
                    "kind": "RoleBinding",
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "metadata": {"name": self.name, "namespace": "pytest-pods"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": leases_role},
                    "subjects": subject,
                }
            )
        for doc in self.made:
            apply(self.kube, doc)
        self.kubeconfig = service_account_kubeconfig(
            self.kube, self.name, "runner", where / f"{self.name}.kubeconfig", seconds=3600
        )

    def pytest(self, where: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(where / "state")}
        return subprocess.run(
            [
                sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "not disruptive",
                "--pods-provider=existing", f"--pods-kubeconfig={self.kubeconfig}", *args,
            ],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def close(self) -> None:
        for doc in reversed(self.made):
            delete(self.kube, doc)


@pytest.fixture
def role(pods_cluster: Cluster) -> list[dict[str, Any]]:
    """deploy/pytest-pods-role.yaml, applied (as an admin would, once)."""
    docs = role_docs()
    for doc in docs:
        apply(pods_cluster.kube, doc)
    return docs


@pytest.fixture
def identities(pods_cluster: Cluster, tmp_path: Path) -> Iterator[list[Identity]]:
    made: list[Identity] = []
    yield made
    for identity in made:
        identity.close()


def test_the_role_is_enough_for_the_examples_and_the_scope_orphan_and_port_forward_tests(
    pods_cluster: Cluster, role: list[dict[str, Any]], identities: list[Identity], tmp_path: Path
) -> None:
    who = Identity(pods_cluster, tmp_path, "pytest-pods", "pytest-pods-leases")
    identities.append(who)
    done = who.pytest(
        tmp_path,
        "examples",
        "tests/cluster/test_scope.py",
        "tests/cluster/test_orphans.py",
        "tests/cluster/test_port_forward.py",
        "tests/cluster/test_leases.py::test_a_kept_namespace_expires_and_gc_deletes_it",
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    summary = out.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 20, summary
    assert not re.search(r"failed|error|skipped", summary), summary
    assert "lease:" not in out and "falling back" not in out, "the run held its Lease"


def test_without_the_leases_role_a_run_says_so_once_and_falls_back(
    pods_cluster: Cluster, role: list[dict[str, Any]], identities: list[Identity], tmp_path: Path
) -> None:
    who = Identity(pods_cluster, tmp_path, "pytest-pods", None)
    identities.append(who)
    ingress = tmp_path / "test_ingress.py"
    ingress.write_text(INGRESS_TEST)
    done = who.pytest(
        tmp_path, str(ROOT / "examples" / "pods101" / "test_pods01_webserver.py"), str(ingress), "-n", "2"
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    said = (
        "cannot create leases in namespace pytest-pods: forbidden; the role in deploy/pytest-pods-role.yaml "
        "grants it"
    )
    assert said in out, out
    assert out.count("cannot create leases") == 1, "said once, by the xdist controller"


def test_a_missing_permission_is_one_error_that_names_it(
    pods_cluster: Cluster, role: list[dict[str, Any]], identities: list[Identity], tmp_path: Path
) -> None:
    full = next(d for d in role if d["kind"] == "ClusterRole")
    partial = {
        **full,
        "metadata": {"name": f"pp-rbac-partial-{secrets.token_hex(3)}"},
        "rules": [r for r in full["rules"] if r.get("resources") != ["pods/exec"]],
    }
    apply(pods_cluster.kube, partial)
    try:
        who = Identity(pods_cluster, tmp_path, partial["metadata"]["name"], "pytest-pods-leases")
        identities.append(who)
        done = who.pytest(tmp_path, str(ROOT / "examples" / "pods101" / "test_pods01_webserver.py"), "-q")
    finally:
        delete(pods_cluster.kube, partial)
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    said = (
        "the kubeconfig's identity cannot create pods/exec in every namespace: forbidden; the role in "
        "deploy/pytest-pods-role.yaml grants it"
    )
    assert said in out, out
    assert "Traceback" not in out, out
    summary = out.strip().splitlines()[-1]
    assert "1 error" in summary and "passed" not in summary, summary  # one error, not one per test
