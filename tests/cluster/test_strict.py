"""Strict manifests against the real API server: every offline mistake in one error, and custom
resources checked by a server-side dry run with strict field validation."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_pods import Namespace
from pytest_pods.errors import ApiError, ManifestError

pytestmark = pytest.mark.cluster

TWO_MISTAKES = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - name: web
    image: nginx
    imagePullPolcy: Always
    ports:
    - containerPort: "eighty"
"""


def test_both_mistakes_of_the_issue_are_named_and_nothing_is_applied(
    pods_namespace: Namespace, tmp_path: Path
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(TWO_MISTAKES)
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(path)
    text = str(info.value)
    assert f"{path}:9: Pod/web: field spec.containers[0].imagePullPolcy: unknown field" in text
    assert f"{path}:11: Pod/web: field spec.containers[0].ports[0].containerPort:" in text
    assert pods_namespace.pods() == []


@pytest.fixture
def widget_crd(pods_namespace: Namespace) -> Iterator[str]:
    """A namespaced CRD with a structural schema, under a unique group; deleted afterwards."""
    group = f"t{secrets.token_hex(4)}.pytest-pods.example"
    kube = pods_namespace.kube
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                            },
                        }
                    },
                }
            ],
        },
    }
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    kube.request("POST", path, body=crd)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                kube.request("GET", f"/apis/{group}/v1")
                break
            except ApiError:
                time.sleep(0.3)
        yield group
    finally:
        kube.request("DELETE", f"{path}/widgets.{group}")


def test_a_custom_resource_is_checked_by_a_strict_server_dry_run(
    pods_namespace: Namespace, widget_crd: str
) -> None:
    bad = {
        "apiVersion": f"{widget_crd}/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 3, "colour": "red"},
    }
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(bad)
    err = info.value
    assert (err.obj, err.field) == ("Widget/w", "spec.colour"), err
    listing = pods_namespace.kube.request(
        "GET", f"/apis/{widget_crd}/v1/namespaces/{pods_namespace.name}/widgets"
    )
    assert listing["items"] == []
    good = {**bad, "spec": {"size": 3}}
    (stored,) = pods_namespace.apply(good)
    assert stored["spec"] == {"size": 3}
