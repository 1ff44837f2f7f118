"""CRDs and their custom resources in the waits: a CRD is up once Established, a custom resource by
kstatus' generic rules (Ready; Ready=False with a reason fails at once naming it; no status at all is
up once it exists), found by every name kubectl takes once its CRD is applied. Against the real
cluster: the test itself plays the controller, patching the resources' ``status`` subresource."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_pods import Cluster, Namespace
from pytest_pods.errors import ApiError, ManifestError, WorkloadNotReadyError
from pytest_pods.kube import Kube

pytestmark = pytest.mark.cluster

TIMEOUT = 120.0


@dataclass(frozen=True)
class Gadgets:
    """A CRD of our own (kind Gadget, namespaced, with a status subresource) in a group of its own."""

    group: str

    @property
    def crd_name(self) -> str:
        return f"gadgets.{self.group}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/v1"

    def crd(self) -> dict[str, Any]:
        open_object = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": self.crd_name},
            "spec": {
                "group": self.group,
                "scope": "Namespaced",
                "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "shortNames": ["gdg"]},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "properties": {
                                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
                                    "status": open_object,
                                },
                            }
                        },
                    }
                ],
            },
        }

    def gadget(self, name: str, size: int = 1) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": "Gadget",
            "metadata": {"name": name},
            "spec": {"size": size},
        }


@pytest.fixture
def gadgets(pods_namespace: Namespace) -> Iterator[Gadgets]:
    """A CRD of a unique group, for the test to apply; deleted afterwards here at once (the
    namespace's cleanup takes it along too, but in the background)."""
    kind = Gadgets(f"g{uuid.uuid4().hex[:10]}.pytest-pods.test")
    try:
        yield kind
    finally:
        try:
            pods_namespace.kube.request(
                "DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{kind.crd_name}"
            )
        except ApiError as exc:
            if exc.status != 404:
                raise


def set_status(kube: Kube, kind: Gadgets, namespace: str, name: str, status: dict[str, Any]) -> None:
    """Play the controller: write the object's status subresource."""
    kube.request(
        "PATCH",
        f"/apis/{kind.api_version}/namespaces/{namespace}/gadgets/{name}/status",
        body={"status": status},
        content_type="application/merge-patch+json",
    )


def ready(status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {"type": "Ready", "status": status, "reason": reason, "message": message}


def later(seconds: float, action: Any) -> threading.Thread:
    """Run ``action`` in a thread after ``seconds`` (while the test waits)."""

    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_crd_is_waited_for_until_established_and_its_kind_resolves(
    pods_namespace: Namespace, gadgets: Gadgets
) -> None:
    (crd,) = pods_namespace.apply(gadgets.crd(), wait=True)
    got = pods_namespace.workload("crd", gadgets.crd_name).get()  # up: Established and names accepted
    conditions = {c["type"]: c["status"] for c in got["status"]["conditions"]}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    assert crd["metadata"]["name"] == gadgets.crd_name
    pods_namespace.wait_for(
        "customresourcedefinitions.apiextensions.k8s.io",
        gadgets.crd_name,
        condition="Established",
        timeout=30,
    )  # a cluster-scoped wait_for
    pods_namespace.apply(gadgets.gadget("plain"), wait=True)  # no status at all: up once it exists
    for name in ("Gadget", "gadget", "gadgets", "gdg", f"gadgets.{gadgets.group}"):
        assert pods_namespace.wait_for(name, "plain", timeout=30)["spec"]["size"] == 1
    assert pods_namespace.workload("gdg", "plain").verdict().reason == "Exists"


def test_a_custom_resource_is_up_when_ready(pods_namespace: Namespace, gadgets: Gadgets) -> None:
    pods_namespace.apply(gadgets.crd(), wait=True)
    pods_namespace.apply(gadgets.gadget("widget"))
    kube, ns = pods_namespace.kube, pods_namespace.name
    set_status(kube, gadgets, ns, "widget", {"conditions": [ready("Unknown", "Starting")]})
    handle = pods_namespace.workload("gadget", "widget")
    assert not handle.verdict().done  # Ready=Unknown: not yet
    controller = Kube.from_kubeconfig(pods_namespace.info.kubeconfig, pods_namespace.info.context)
    try:
        began = time.monotonic()
        patcher = later(
            2, lambda: set_status(controller, gadgets, ns, "widget", {"conditions": [ready("True")]})
        )
        handle.wait(timeout=TIMEOUT)
        assert time.monotonic() - began >= 1.5  # it waited for Ready
        patcher.join()
    finally:
        controller.close()
    assert handle.verdict().reason == "Ready"
    obj = pods_namespace.wait_for("gadget", "widget", condition="Ready", timeout=30)
    assert obj["status"]["conditions"][0]["status"] == "True"


def test_ready_false_with_a_reason_fails_at_once_naming_it(
    pods_namespace: Namespace, gadgets: Gadgets
) -> None:
    pods_namespace.apply(gadgets.crd(), wait=True)
    pods_namespace.apply(gadgets.gadget("broken"))
    set_status(
        pods_namespace.kube,
        gadgets,
        pods_namespace.name,
        "broken",
        {"conditions": [ready("False", "NoBattery", "the gadget has no battery")]},
    )
    began = time.monotonic()
    with pytest.raises(WorkloadNotReadyError) as info:
        pods_namespace.workload("gadget", "broken").wait(timeout=TIMEOUT)
    assert time.monotonic() - began < 30  # at once, not at the timeout
    assert (info.value.kind, info.value.name, info.value.reason) == ("Gadget", "broken", "NoBattery")
    assert "the gadget has no battery" in str(info.value)


def test_apply_with_wait_waits_for_a_custom_resource_and_a_stalled_one_fails(
    pods_namespace: Namespace, gadgets: Gadgets
) -> None:
    pods_namespace.apply(gadgets.crd(), wait=True)
    first = gadgets.gadget("stuck")
    pods_namespace.apply(first)
    stalled = {"type": "Stalled", "status": "True", "reason": "OutOfParts", "message": "no parts left"}
    set_status(pods_namespace.kube, gadgets, pods_namespace.name, "stuck", {"conditions": [stalled]})
    with pytest.raises(WorkloadNotReadyError, match="OutOfParts: no parts left"):
        pods_namespace.apply(first, wait=True, timeout=TIMEOUT)  # apply(wait=True) waits for it


def test_a_crd_and_its_resource_in_one_manifest_are_waited_for(
    pods_namespace: Namespace, gadgets: Gadgets
) -> None:
    crd, gadget = pods_namespace.apply([gadgets.crd(), gadgets.gadget("together", size=3)], wait=True)
    assert (crd["kind"], gadget["kind"]) == ("CustomResourceDefinition", "Gadget")
    handle = pods_namespace.workload(f"gadget.{gadgets.group}", "together")
    assert handle.verdict().reason == "Exists" and handle.get()["spec"]["size"] == 3


def test_a_custom_resource_invalid_against_its_crds_schema_applies_no_custom_resource(
    pods_namespace: Namespace, gadgets: Gadgets, tmp_path: Path
) -> None:
    """A CRD and two resources of it in one file, the second with a field of the wrong type: the
    resources are checked against the CRD's schema once it is established, before any is applied;
    the error names the invalid one, its field and its line."""
    good, bad = gadgets.gadget("good", size=1), gadgets.gadget("bad")
    bad["spec"]["size"] = "big"  # the schema says integer
    manifest = tmp_path / "gadgets.yaml"
    manifest.write_text(yaml.safe_dump_all([gadgets.crd(), good, bad], sort_keys=False))
    lines = manifest.read_text().splitlines()
    size_line = max(i for i, text in enumerate(lines, 1) if "size: big" in text)
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(manifest, wait=True)
    text = str(info.value)
    assert [(p.obj, p.field, p.line) for p in info.value.problems] == [("Gadget/bad", "spec.size", size_line)]
    assert f"{manifest}:{size_line}: Gadget/bad: field spec.size: expected numeric" in text, text
    listed = pods_namespace.kube.request(
        "GET", f"/apis/{gadgets.api_version}/namespaces/{pods_namespace.name}/gadgets"
    )
    assert listed.get("items") == [], "a custom resource was applied"


def test_a_crd_made_again_after_an_earlier_tests_went_is_checked_against_anew(
    pods_cluster: Cluster, gadgets: Gadgets, tmp_path: Path
) -> None:
    """One test applies a CRD and a resource of it; the CRD goes with its namespace. The next applies
    the same manifest with a bad resource: what discovery said before is stale (the CRD is gone),
    and the bad resource is still named by its field, not by a ``404 page not found``."""
    manifest = tmp_path / "gadgets.yaml"
    manifest.write_text(yaml.safe_dump_all([gadgets.crd(), gadgets.gadget("first")], sort_keys=False))
    with pods_cluster.namespace("tests/cluster/first") as first:
        first.apply(manifest, wait=True)
    bad = gadgets.gadget("second")
    bad["spec"]["size"] = "big"
    manifest.write_text(yaml.safe_dump_all([gadgets.crd(), bad], sort_keys=False))
    with pods_cluster.namespace("tests/cluster/second") as second, pytest.raises(ManifestError) as info:
        second.apply(manifest, wait=True)
    assert [(p.obj, p.field) for p in info.value.problems] == [("Gadget/second", "spec.size")], info.value


def test_a_kind_two_crds_serve_means_the_one_the_test_applied(pods_namespace: Namespace) -> None:
    """Another run's Gadget CRD is still served (say, being deleted) in a group discovery lists
    first: ``gadget`` in this test still means the Gadget of the CRD it applied."""
    tag = uuid.uuid4().hex[:10]
    other, ours = Gadgets(f"a{tag}.pytest-pods.test"), Gadgets(f"z{tag}.pytest-pods.test")
    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    kube = pods_namespace.kube
    kube.request("POST", crds, body=other.crd())  # not the test's: made outside it
    try:
        pods_namespace.apply(ours.crd(), wait=True)
        pods_namespace.apply(ours.gadget("mine"))
        handle = pods_namespace.workload("gadget", "mine")
        assert handle.resource.group == ours.group
        assert handle.get()["metadata"]["name"] == "mine"
        obj = pods_namespace.wait_for("gdg", "mine", timeout=30)  # exists: --for=create
        assert obj["apiVersion"] == ours.api_version
        assert pods_namespace.resolver.resolve("gadget").group == other.group  # kubectl's pick, unasked
    finally:
        for kind in (other, ours):
            try:
                kube.request("DELETE", f"{crds}/{kind.crd_name}")
            except ApiError as exc:
                if exc.status != 404:
                    raise
