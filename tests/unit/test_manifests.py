from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods import manifests
from pytest_pods.errors import ApiError, ManifestError

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: webserver
spec:
  containers:
  - name: webserver
    image: nginx:latest
    ports:
    - containerPort: 80
"""


def test_load_path_yaml_text_dict_and_list(tmp_path: Path) -> None:
    f = tmp_path / "pod.yaml"
    f.write_text(POD)
    for source in (f, str(f), POD, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "webserver"}}):
        (doc,) = manifests.load(source)
        assert doc.label == "Pod/webserver"
    docs = manifests.load(
        [{"kind": "A", "metadata": {"name": "a"}}, {"kind": "B", "metadata": {"name": "b"}}]
    )
    assert [d.label for d in docs] == ["A/a", "B/b"]


def test_relative_path_from_base_dir(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(POD)
    assert manifests.load("pod.yaml", base_dir=tmp_path)[0].source == str(tmp_path / "pod.yaml")


def test_multi_document_keeps_lines_and_skips_empty_documents() -> None:
    text = "---\n" + POD + "---\n---\n" + POD.replace("webserver", "second") + "---\n"
    docs = manifests.load(text)
    assert [d.label for d in docs] == ["Pod/webserver", "Pod/second"]
    assert [d.line for d in docs] == [2, 14]
    assert docs[1].line_of(["spec", "containers", 0, "image"]) == 21


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file") as info:
        manifests.load(tmp_path / "absent.yaml")
    assert info.value.source == str(tmp_path / "absent.yaml")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  labels: [a, b\n")
    with pytest.raises(ManifestError) as info:
        manifests.load(f)
    assert info.value.line == 6
    assert str(info.value).startswith(f"{f}:6: not valid YAML")


def test_tab_indentation_is_a_yaml_error_with_line() -> None:
    with pytest.raises(ManifestError) as info:
        manifests.load("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n")
    assert info.value.line == 4


def test_scalar_document_is_refused() -> None:
    with pytest.raises(ManifestError, match="must be a mapping"):
        manifests.load("- a\n- b\n")


def test_unknown_field_names_object_field_and_line() -> None:
    docs = manifests.load(
        POD.replace("    image: nginx:latest\n", "    image: nginx:latest\n    imagePolicy: x\n")
    )
    with pytest.raises(ManifestError) as info:
        manifests.check(docs, kubernetes_version="v1.34.4")
    err = info.value
    assert (err.obj, err.field, err.line) == ("Pod/webserver", "spec.containers[0].imagePolicy", 9)
    assert "unknown field 'imagePolicy'" in str(err)


def test_wrong_type_names_the_field() -> None:
    docs = manifests.load(POD.replace("containerPort: 80", "containerPort: eighty"))
    with pytest.raises(ManifestError) as info:
        manifests.check(docs)
    assert info.value.field == "spec.containers[0].ports[0].containerPort"
    assert info.value.line == 10
    assert "'eighty' is not of type 'integer'" in str(info.value)


def test_unknown_builtin_kind() -> None:
    with pytest.raises(ManifestError, match="unknown kind 'Pood'") as info:
        manifests.check(manifests.load(POD.replace("kind: Pod", "kind: Pood")))
    assert info.value.line == 2


def test_custom_resources_are_left_to_the_server() -> None:
    manifests.check(
        manifests.load({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    )


def test_missing_name_and_kind() -> None:
    with pytest.raises(ManifestError, match=r"metadata.name is missing"):
        manifests.check(manifests.load({"apiVersion": "v1", "kind": "Pod", "metadata": {}}))
    with pytest.raises(ManifestError, match="kind is missing"):
        manifests.check(manifests.load({"apiVersion": "v1", "metadata": {"name": "x"}}))


def test_valid_pod_passes() -> None:
    manifests.check(manifests.load(POD), kubernetes_version="1.34")


def test_images_from_pods_templates_and_init_containers() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "i", "image": "debian"}],
                    "containers": [{"name": "c", "image": "nginx"}],
                }
            }
        },
    }
    docs = manifests.load(POD) + manifests.load(deployment)
    assert manifests.images(docs) == ["debian", "nginx", "nginx:latest"]


def test_field_paths_round_trip() -> None:
    path: list[str | int] = ["spec", "containers", 0, "ports", 1, "containerPort"]
    assert manifests.field_path(path) == "spec.containers[0].ports[1].containerPort"
    assert manifests.parse_field_path(".spec.containers[0].ports[1].containerPort") == path


def test_server_error_maps_unknown_field_to_line() -> None:
    (doc,) = manifests.load(POD)
    exc = ApiError(
        "PATCH",
        "/api/v1/x",
        400,
        {
            "reason": "BadRequest",
            "message": "failed to create typed patch object (ns/webserver; /v1, Kind=Pod): "
            ".spec.containers[0].ports[0].bogus: field not declared in schema",
        },
    )
    err = manifests.server_error(doc, exc)
    assert (err.field, err.line) == ("spec.containers[0].ports[0].bogus", 10)


@pytest.mark.parametrize(
    "wrong",
    ["expected string, got &value.valueUnstructured{Value:3}", "expected numeric (int or float), got string"],
)
def test_server_error_maps_a_value_of_the_wrong_type_to_its_line(wrong: str) -> None:
    """Server-side apply's typed patch refuses a value of the wrong type (a CRD's schema does too)
    with a 500 whose message names the field."""
    (doc,) = manifests.load(POD)
    message = "failed to create typed patch object (ns/webserver; /v1, Kind=Pod): "
    message += f".spec.containers[0].image: {wrong}"
    exc = ApiError("PATCH", "/api/v1/x", 500, {"reason": "InternalError", "message": message})
    err = manifests.server_error(doc, exc)
    assert (err.field, err.line, err.obj) == ("spec.containers[0].image", 8, "Pod/webserver")
    assert f"{wrong} (the schema of Pod)" in str(err)


def test_server_error_maps_causes() -> None:
    (doc,) = manifests.load(POD)
    exc = ApiError(
        "PATCH",
        "/x",
        422,
        {
            "reason": "Invalid",
            "message": "Pod is invalid",
            "details": {"causes": [{"field": "spec.containers[0].image", "message": "Required value"}]},
        },
    )
    err = manifests.server_error(doc, exc)
    assert (err.field, err.line, err.obj) == ("spec.containers[0].image", 8, "Pod/webserver")
    assert "Required value" in str(err)


def test_a_kind_the_identity_may_not_apply_points_at_the_role() -> None:
    (doc,) = manifests.load(POD)
    message = (
        'pods "webserver" is forbidden: User "system:serviceaccount:ci:runner" cannot patch resource "pods"'
    )
    exc = ApiError("PATCH", "/x", 403, {"reason": "Forbidden", "message": message})
    err = str(manifests.server_error(doc, exc))
    assert f"the API server refused it: 403 Forbidden: {message}" in err
    assert err.endswith(
        "; to apply Pod objects, add a rule for them to the ClusterRole in deploy/pytest-pods-role.yaml"
    )


def test_every_mistake_of_a_file_is_named_in_one_error(tmp_path: Path) -> None:
    """The issue's file: a wrong type and a misspelled field; both named with file:line, object and
    field path, as kubectl's strict field validation does."""
    text = POD.replace("containerPort: 80", 'containerPort: "eighty"').replace(
        "    image: nginx:latest\n", "    image: nginx:latest\n    imagePullPolcy: Always\n"
    )
    second = POD.replace("name: webserver", "name: other").replace("kind: Pod", "kind: Pod\nbogus: 1")
    path = tmp_path / "two.yaml"
    path.write_text(text + "---\n" + second)
    with pytest.raises(ManifestError) as info:
        manifests.check(manifests.load(path))
    err = info.value
    found = [(p.obj, p.field, p.line) for p in err.problems]
    assert ("Pod/webserver", "spec.containers[0].imagePullPolcy", 9) in found
    assert ("Pod/webserver", "spec.containers[0].ports[0].containerPort", 11) in found
    assert ("Pod/other", "bogus", 15) in found
    assert len(found) == 3
    text = str(err)
    assert text.startswith("3 problems in the manifest:")
    assert (
        f"{path}:9: Pod/webserver: field spec.containers[0].imagePullPolcy: unknown field 'imagePullPolcy'"
        in text
    )
    assert f"{path}:11: Pod/webserver: field spec.containers[0].ports[0].containerPort:" in text


def test_several_unknown_fields_in_one_mapping_are_each_named() -> None:
    docs = manifests.load(
        POD.replace("    image: nginx:latest\n", "    image: nginx:latest\n    aa: 1\n    bb: 2\n")
    )
    with pytest.raises(ManifestError) as info:
        manifests.check(docs)
    assert [p.field for p in info.value.problems] == ["spec.containers[0].aa", "spec.containers[0].bb"]


def test_custom_resources_are_not_known_offline() -> None:
    (cr,) = manifests.load({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    (pod_doc,) = manifests.load(POD)
    assert not manifests.known_offline(cr)
    assert manifests.known_offline(pod_doc)


def test_server_strict_decoding_error_names_every_unknown_field() -> None:
    (doc,) = manifests.load(POD)
    exc = ApiError(
        "PATCH",
        "/apis/example.com/v1/x",
        400,
        {
            "reason": "BadRequest",
            "message": 'strict decoding error: unknown field "spec.colour", unknown field "spec.sizee"',
        },
    )
    err = manifests.server_error(doc, exc)
    assert [p.field for p in err.problems] == ["spec.colour", "spec.sizee"]


DEPENDENT = """\
apiVersion: v1
kind: Pod
metadata:
  name: reader
  namespace: team
spec:
  serviceAccountName: reader
  containers:
  - name: main
    image: debian
---
apiVersion: heldout.example.com/v1
kind: Gadget
metadata:
  name: one
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: reader
  namespace: team
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: reader}]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reader
  namespace: team
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.heldout.example.com
spec:
  group: heldout.example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: plain
---
apiVersion: v1
kind: Namespace
metadata:
  name: team
"""


def test_objects_go_in_stages_after_what_they_depend_on_each_stage_in_kind_order() -> None:
    docs = manifests.load(DEPENDENT)
    stages = [[d.label for d in stage] for stage in manifests.stages(docs, "pp-test")]
    assert stages == [
        # what depends on nothing in the manifest, the kinds others need first
        ["Namespace/team", "CustomResourceDefinition/gadgets.heldout.example.com", "ConfigMap/plain"],
        # then what needs the namespace, or the CRD
        ["ServiceAccount/reader", "RoleBinding/reader", "Gadget/one"],
        # and the pod that needs the ServiceAccount in that namespace
        ["Pod/reader"],
    ]
    assert [d.label for d in manifests.order(docs, "pp-test")][:3] == [s for s in stages[0]]


def test_a_pods_account_is_a_dependency_only_in_the_same_namespace() -> None:
    docs = manifests.load(
        DEPENDENT.replace(
            "  name: reader\n  namespace: team\n---\napiVersion: apiext",
            "  name: reader\n---\napiVersion: apiext",
        )
    )
    pod = docs[0]
    assert [d.label for d in manifests.dependencies(pod, docs, "pp-test")] == ["Namespace/team"]
    # an account the pod does not name is none of its business, nor is a Deployment's (its pods
    # are made later, by the controller)
    other = manifests.load({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}})
    assert manifests.dependencies(other[0], [*docs, *other], "pp-test") == []


def test_kinds_others_need_come_first_custom_resources_after_and_webhooks_last() -> None:
    kinds = ["ValidatingWebhookConfiguration", "Gadget", "Deployment", "Service", "Secret", "Namespace"]
    docs = manifests.load([{"apiVersion": "v1", "kind": k, "metadata": {"name": "x"}} for k in kinds])
    assert [d.kind for d in manifests.order(docs)] == [
        "Namespace",
        "Secret",
        "Service",
        "Deployment",
        "Gadget",
        "ValidatingWebhookConfiguration",
    ]


def test_only_a_refusal_about_a_missing_dependency_waits_for_it() -> None:
    (doc,) = manifests.load(POD)

    def refusal(status: int, message: str) -> ManifestError:
        return manifests.server_error(
            doc, ApiError("PATCH", "/x", status, {"message": message, "reason": "R"})
        )

    assert manifests.missing_dependency(refusal(404, 'namespaces "team" not found'))
    assert manifests.missing_dependency(
        refusal(
            403,
            'pods "reader" is forbidden: error looking up service account team/reader: '
            'serviceaccount "reader" not found',
        )
    )
    assert manifests.missing_dependency(doc.error("the cluster does not serve apiVersion 'x.example.com/v1'"))
    assert not manifests.missing_dependency(refusal(422, "spec.containers[0].image: Required value"))
    both = ManifestError.all_of([doc.error('namespaces "team" not found'), doc.error("unknown field 'x'")])
    assert not manifests.missing_dependency(both)
