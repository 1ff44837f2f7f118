"""The kind resolver against discovery recorded from a v1.37 cluster (tests/unit/data), plus a
custom resource group of our own. Pure: a stand-in answers the GETs from the recording."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_pods.discovery import POD, Resolver, Resource, choose, groups_of, resources_of
from pytest_pods.errors import ApiError, UnknownKindError
from pytest_pods.kube import Kube

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "discovery-v1.37.json").read_text(encoding="utf-8")
)

WIDGETS = {
    "kind": "APIResourceList",
    "groupVersion": "toys.pytest-pods.test/v1",
    "resources": [
        {
            "name": "widgets",
            "singularName": "widget",
            "namespaced": True,
            "kind": "Widget",
            "shortNames": ["wg"],
        },
        {"name": "widgets/status", "singularName": "", "namespaced": True, "kind": "Widget"},
        {"name": "gadgets", "singularName": "gadget", "namespaced": False, "kind": "Gadget"},
    ],
}


class Served:
    """Answers GET with the recorded discovery (and what a test adds), counting what was asked;
    a path in ``failing`` answers with that status."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = copy.deepcopy(documents)
        self.asked: list[str] = []
        self.failing: dict[str, int] = {}

    def request(self, method: str, path: str, **_: object) -> Any:
        assert method == "GET"
        self.asked.append(path)
        if path in self.failing:
            raise ApiError(method, path, self.failing[path], {"reason": "Forbidden", "message": "no"})
        if path not in self.documents:
            raise ApiError(
                method, path, 404, {"reason": "NotFound", "message": "the server could not find it"}
            )
        return self.documents[path]

    def add_group(self, group: str, version: str, listing: dict[str, Any]) -> None:
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        self.documents["/apis"]["groups"].append({"name": group, "versions": [gv], "preferredVersion": gv})
        self.documents[f"/apis/{group}/{version}"] = listing


def resolver(documents: dict[str, Any] = RECORDED) -> tuple[Served, Resolver]:
    served = Served(documents)
    return served, Resolver(cast(Kube, served))


@pytest.mark.parametrize(
    ("name", "group", "kind", "plural"),
    [
        ("Deployment", "apps", "Deployment", "deployments"),
        ("deployment", "apps", "Deployment", "deployments"),
        ("deployments", "apps", "Deployment", "deployments"),
        ("deploy", "apps", "Deployment", "deployments"),
        ("deployments.apps", "apps", "Deployment", "deployments"),
        ("deployment.v1.apps", "apps", "Deployment", "deployments"),
        ("po", "", "Pod", "pods"),
        ("rc", "", "ReplicationController", "replicationcontrollers"),
        ("ing", "networking.k8s.io", "Ingress", "ingresses"),
        ("clusterroles", "rbac.authorization.k8s.io", "ClusterRole", "clusterroles"),
        ("crd", "apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions"),
        ("hpa", "autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    ],
)
def test_a_name_resolves_as_kubectl_resolves_it(name: str, group: str, kind: str, plural: str) -> None:
    _, r = resolver()
    found = r.resolve(name)
    assert (found.group, found.kind, found.plural) == (group, kind, plural)


def test_the_core_group_wins_a_name_two_groups_serve_and_a_group_picks_the_other() -> None:
    _, r = resolver()
    assert r.resolve("Event").group == ""  # core events before events.k8s.io, as kubectl picks
    assert r.resolve("events.events.k8s.io").group == "events.k8s.io"
    assert [x.group for x in choose("events", r.served())] == ["", "events.k8s.io"]


def test_the_preferred_version_is_chosen() -> None:
    docs = copy.deepcopy(RECORDED)
    older = copy.deepcopy(docs["/apis/autoscaling/v2"])
    older["groupVersion"] = "autoscaling/v2beta9"
    for g in docs["/apis"]["groups"]:
        if g["name"] == "autoscaling":  # an older version listed first, the preferred one named
            g["versions"].insert(0, {"groupVersion": "autoscaling/v2beta9", "version": "v2beta9"})
    docs["/apis/autoscaling/v2beta9"] = older
    _, r = resolver(docs)
    preferred = next(g for g in RECORDED["/apis"]["groups"] if g["name"] == "autoscaling")["preferredVersion"]
    assert r.resolve("hpa").version == preferred["version"]
    assert r.resolve("horizontalpodautoscalers.v2beta9.autoscaling").version == "v2beta9"


def test_paths_of_namespaced_and_cluster_scoped_resources() -> None:
    _, r = resolver()
    assert r.path(r.resolve("deploy"), "ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    assert r.path(r.resolve("svc"), "ns") == "/api/v1/namespaces/ns/services"
    role = r.resolve("ClusterRole")
    assert not role.namespaced
    assert r.path(role, "ns", "reader") == "/apis/rbac.authorization.k8s.io/v1/clusterroles/reader"
    assert r.resolve("pods") == POD
    assert r.resolve("deploy").api_version == "apps/v1" and POD.api_version == "v1"


def test_custom_resources_by_every_name_and_subresources_left_out() -> None:
    served, r = resolver()
    served.add_group("toys.pytest-pods.test", "v1", WIDGETS)
    for name in ("Widget", "widget", "widgets", "wg", "widgets.toys.pytest-pods.test", "WIDGET"):
        found = r.resolve(name)
        assert (found.kind, found.plural, found.api_version) == (
            "Widget",
            "widgets",
            "toys.pytest-pods.test/v1",
        )
    gadget = r.resolve("gadget")
    assert not gadget.namespaced and gadget.path("ns", "g") == "/apis/toys.pytest-pods.test/v1/gadgets/g"
    assert all("/" not in x.plural for x in r.served())


def test_discovery_is_read_once_then_kept() -> None:
    served, r = resolver()
    r.resolve("deploy")
    asked = len(served.asked)
    assert asked == 2 + sum(len(g.versions) for g in groups_of(RECORDED["/api"], RECORDED["/apis"]))
    r.resolve("sts")
    r.kind("apps/v1", "Deployment")
    assert len(served.asked) == asked


def test_a_miss_reads_discovery_again_and_finds_a_kind_made_since() -> None:
    served, r = resolver()
    r.resolve("deploy")
    served.add_group("toys.pytest-pods.test", "v1", WIDGETS)  # a CRD applied outside the plugin
    assert r.resolve("wg").kind == "Widget"


def test_forget_reads_discovery_again() -> None:
    served, r = resolver()
    r.resolve("deploy")
    r.forget()
    before = len(served.asked)
    r.resolve("deploy")
    assert served.asked[before : before + 2] == ["/api", "/apis"]


def test_a_kind_the_cluster_does_not_serve_names_near_matches() -> None:
    _, r = resolver()
    with pytest.raises(UnknownKindError, match="'Deploymnet'; did you mean Deployment") as info:
        r.resolve("Deploymnet")
    assert isinstance(info.value, ValueError) and info.value.kind == "Deploymnet"
    with pytest.raises(UnknownKindError) as none:
        r.resolve("zzzzqqq")
    assert none.value.near == [] and "did you mean" not in str(none.value)
    with pytest.raises(UnknownKindError, match="did you mean"):
        r.resolve("deployments.app")  # a group it does not serve


def test_an_objects_kind_by_its_api_version() -> None:
    served, r = resolver()
    deployment = r.of({"apiVersion": "apps/v1", "kind": "Deployment"})
    assert deployment is not None and deployment.plural == "deployments"
    assert served.asked == ["/apis/apps/v1"]  # that group version alone
    assert r.kind("apps/v1", "Gadget") is None
    assert r.kind("toys.pytest-pods.test/v1", "Widget") is None and not r.serves("toys.pytest-pods.test/v1")
    served.add_group("toys.pytest-pods.test", "v1", WIDGETS)  # a CRD was applied: a miss reads again
    widget = r.kind("toys.pytest-pods.test/v1", "Widget")
    assert widget is not None and widget.short_names == ("wg",)


def test_a_group_version_that_is_down_serves_nothing() -> None:
    served, r = resolver()
    served.add_group("metrics.pytest-pods.test", "v1", {})
    served.documents.pop("/apis/metrics.pytest-pods.test/v1")  # 404, like an aggregated API that is gone
    assert r.resolve("deploy").kind == "Deployment"


def test_pure_readers_of_discovery_documents() -> None:
    core, apis = RECORDED["/api"], RECORDED["/apis"]
    groups = groups_of(core, apis)
    assert groups[0].name == "" and groups[0].versions == ("v1",)
    assert [g.name for g in groups[1:]] == [g["name"] for g in apis["groups"]]
    assert all(
        g.versions[0] == x["preferredVersion"]["version"]
        for g, x in zip(groups[1:], apis["groups"], strict=True)
    )
    found = resources_of("toys.pytest-pods.test", "v1", WIDGETS)
    assert found == [
        Resource("toys.pytest-pods.test", "v1", "Widget", "widgets", True, "widget", ("wg",)),
        Resource("toys.pytest-pods.test", "v1", "Gadget", "gadgets", False, "gadget"),
    ]


def test_forgetting_one_group_version_reads_it_again_and_keeps_the_others() -> None:
    served, r = resolver()
    r.kind("apps/v1", "Deployment")
    r.kind("batch/v1", "Job")
    r.forget("apps/v1")
    before = len(served.asked)
    r.kind("apps/v1", "Deployment")
    r.kind("batch/v1", "Job")
    assert served.asked[before:] == ["/apis/apps/v1"]


def test_a_group_version_that_fails_leaves_the_others_resolvable() -> None:
    served, r = resolver()
    served.failing["/apis/batch/v1"] = 403
    assert r.resolve("deploy").kind == "Deployment"
    with pytest.raises(UnknownKindError):
        r.resolve("cronjobs")
    served.failing["/apis/apps/v1"] = 0  # the server did not answer at all: said, not hidden
    r.forget()
    with pytest.raises(ApiError):
        r.resolve("deploy")


def test_a_name_two_groups_serve_means_the_preferred_group_s() -> None:
    """Two CRDs of the same Kind in two groups (another run's, left being deleted, and the test's):
    the test's group wins when it is preferred, kubectl's order otherwise."""
    served, r = resolver()
    served.add_group("a-old.pytest-pods.test", "v1", WIDGETS)
    served.add_group("b-new.pytest-pods.test", "v1", WIDGETS)
    assert r.resolve("widget").group == "a-old.pytest-pods.test"  # discovery's order, as kubectl
    assert r.resolve("widget", prefer=["apps", "b-new.pytest-pods.test"]).group == "b-new.pytest-pods.test"
    assert r.resolve("wg", prefer=["c.pytest-pods.test"]).group == "a-old.pytest-pods.test"
    assert r.resolve("deploy", prefer=["b-new.pytest-pods.test"]).group == "apps"
