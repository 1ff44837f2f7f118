"""Manifests: load (path, YAML text, dict, multi-document), check, apply server-side, list images.

Every document remembers where it came from (file and line, and the YAML node of each field), so
that an error, ours or the API server's, names the file, the object, the field and the line.

:func:`apply` takes objects that depend on each other as ``kubectl apply -f`` does (:func:`stages`,
:data:`KIND_ORDER`, a CRD waited for until Established), keeps what a test makes outside its
namespace the test's (:class:`~pytest_pods.namespaces.Owner`), and hands on the API server's
warnings (:class:`~pytest_pods.errors.PodsApiWarning`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from pytest_pods import waits
from pytest_pods.access import ROLE_FILE
from pytest_pods.discovery import Resolver
from pytest_pods.errors import ApiError, ManifestError, PodsApiWarning, WorkloadNotReadyError
from pytest_pods.kube import JSON, Kube
from pytest_pods.namespaces import Outside, Owner
from pytest_pods.render import kustomize
from pytest_pods.render.helm import Chart

#: What :func:`load` accepts: a path (a file, or a kustomization directory), YAML text, one object, or
#: a list of objects; and what a namespace applies: any of these, or a Helm :class:`Chart` (rendered
#: for the namespace, see :meth:`pytest_pods.Namespace.apply_chart`).
ManifestSource: TypeAlias = "str | os.PathLike[str] | Mapping[str, Any] | Sequence[Mapping[str, Any]] | Chart"

FIELD_MANAGER = "pytest-pods"
_YAML_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Document:
    """One Kubernetes object from a manifest, with where it came from."""

    obj: dict[str, Any]
    source: str
    index: int
    line: int | None = None
    node: yaml.Node | None = field(default=None, repr=False, compare=False)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", ""))

    @property
    def label(self) -> str:
        """``Pod/webserver``, or ``document 2`` where the object has no kind or name yet."""
        if self.kind and self.name:
            return f"{self.kind}/{self.name}"
        return f"document {self.index + 1}"

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The 1-based line of the deepest node along ``path`` (a field that is missing points at
        its parent)."""
        node = self.node
        if node is None:
            return self.line
        line = node.start_mark.line + 1
        for key in path:
            child = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == key:
                        child = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
                child = node.value[key]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line

    def error(self, detail: str, path: Sequence[str | int] = ()) -> ManifestError:
        """A :class:`ManifestError` about this object, pointing at ``path`` if given."""
        return ManifestError(
            self.source,
            detail,
            line=self.line_of(path) if path else self.line,
            obj=self.label,
            field=field_path(path) if path else None,
        )


def field_path(path: Sequence[str | int]) -> str:
    """``['spec', 'containers', 0, 'image']`` -> ``spec.containers[0].image``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def parse_field_path(text: str) -> list[str | int]:
    """The inverse of :func:`field_path`; a leading dot is allowed (``.spec.containers[0]``)."""
    out: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        out.append(int(index) if index else name)
    return out


def _looks_like_path(text: str) -> bool:
    return "\n" not in text and (text.endswith(_YAML_SUFFIXES) or (":" not in text and "{" not in text))


def _parse(text: str, source: str) -> list[Document]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ManifestError(
            source, f"not valid YAML: {problem}", line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(source, f"not valid YAML: {exc}") from None
    docs: list[Document] = []
    for node in nodes:
        if node is None or (isinstance(node, yaml.ScalarNode) and node.value == ""):
            continue  # an empty document, e.g. a trailing "---"
        loader = yaml.SafeLoader("")
        obj = loader.construct_document(node)
        line = node.start_mark.line + 1
        if not isinstance(obj, dict):
            raise ManifestError(source, f"a document must be a mapping, not {type(obj).__name__}", line=line)
        docs.append(Document(obj, source, len(docs), line, node))
    return docs


def _kustomized(directory: Path) -> list[Document]:
    """A kustomization directory, rendered by the real kustomize (:mod:`pytest_pods.render.kustomize`);
    its objects are named after the kustomization file (their lines are of no file: none is given)."""
    file = kustomize.kustomization_file(directory)
    if file is None:
        raise ManifestError(
            str(directory),
            "is a directory, not a manifest file (a kustomization directory has a kustomization.yaml)",
        )
    return rendered(kustomize.build(directory), str(file))


def rendered(text: str, source: str) -> list[Document]:
    """The objects of a tool's output (kustomize, helm), each named after ``source`` without a line:
    the output's lines are of no file a user has."""
    return [dataclasses.replace(d, line=None, node=None) for d in _parse(text, source)]


def load(manifest: ManifestSource, *, base_dir: Path | None = None) -> list[Document]:
    """The objects of a manifest, in order. A ``str`` is a file path if it is one line that ends in
    .yaml/.yml/.json (or has no ``:``), else YAML text; a relative path is taken from ``base_dir``.
    A directory with a kustomization file is rendered by kustomize (``kubectl kustomize``)."""
    if isinstance(manifest, Chart):
        raise TypeError("a Chart is rendered for a namespace: use Namespace.apply_chart or pods_chart")
    if isinstance(manifest, Mapping):
        return [Document(copy.deepcopy(dict(manifest)), "<dict>", 0)]
    if isinstance(manifest, os.PathLike) or (isinstance(manifest, str) and _looks_like_path(manifest)):
        path = Path(os.fspath(manifest)).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if path.is_dir():
            return _kustomized(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ManifestError(str(path), "no such file") from None
        except IsADirectoryError:
            raise ManifestError(str(path), "is a directory, not a manifest file") from None
        return _parse(text, str(path))
    if isinstance(manifest, str):
        return _parse(manifest, "<yaml>")
    if isinstance(manifest, Sequence):
        docs = []
        for i, obj in enumerate(manifest):
            if not isinstance(obj, Mapping):
                raise ManifestError("<list>", f"item {i} is a {type(obj).__name__}, not a mapping")
            docs.append(Document(copy.deepcopy(dict(obj)), "<list>", i))
        return docs
    raise TypeError(
        f"a manifest is a path, YAML text, a dict or a list of dicts, not {type(manifest).__name__}"
    )


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def _builtin_group(group: str) -> bool:
    return "." not in group or group.endswith(".k8s.io")


def _schema_version(kubernetes_version: str | None) -> str:
    import kubernetes_validate

    latest = tuple(int(x) for x in kubernetes_validate.latest_version().split(".")[:2])
    if not kubernetes_version:
        return "{}.{}".format(*latest)
    m = re.match(r"v?(\d+)\.(\d+)", kubernetes_version)
    if not m:
        return "{}.{}".format(*latest)
    wanted = (int(m[1]), int(m[2]))
    return "{}.{}".format(*min(wanted, latest))


def _validator(obj: Mapping[str, Any], version: str) -> Any:
    """A JSON-schema validator for the object's kind (the strict schemas of kubernetes-validate,
    which refuse unknown fields), or None if the offline schema does not know the kind."""
    import jsonschema
    from kubernetes_validate import utils as kv
    from referencing import Registry, Resource

    api_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", str(obj["apiVersion"]))
    full = [v for v in kv.all_versions() if kv.major_minor(v) <= version][-1]
    folder = f"kubernetes-json-schema/v{full}-local-strict"
    try:
        schema = kv.schema_contents(f"{folder}/{str(obj['kind']).lower()}-{api_version}.json", version)
    except FileNotFoundError:
        return None
    definitions = kv.schema_contents(f"{folder}/_definitions.json", version)
    registry: Any = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _schema_problems(doc: Document, validator: Any) -> list[ManifestError]:
    """Every schema error of one object: each unknown field and each wrong value, in line order."""
    out = []
    for exc in validator.iter_errors(doc.obj):
        path: list[str | int] = list(exc.absolute_path)
        message = str(exc.message)
        extras = re.search(r"\((.+) (?:was|were) unexpected\)", message)
        if exc.validator == "additionalProperties" and extras:
            for name in re.findall(r"'([^']+)'", extras[1]):
                out.append(doc.error(f"unknown field {name!r}", [*path, name]))
            continue
        out.append(doc.error(message, path))
    return sorted(out, key=lambda e: (e.line or 0, e.field or ""))


def known_offline(doc: Document, kubernetes_version: str | None = None) -> bool:
    """Whether the offline schema knows the object's kind (custom resources it does not)."""
    if not isinstance(doc.obj.get("apiVersion"), str) or not isinstance(doc.obj.get("kind"), str):
        return True
    return _validator(doc.obj, _schema_version(kubernetes_version)) is not None


def check(docs: Sequence[Document], *, kubernetes_version: str | None = None) -> None:
    """Offline checks before anything is sent: required fields, then the strict Kubernetes schema of
    the built-in kinds (unknown kind, every unknown field, every wrong type), like kubectl's strict
    field validation. Every problem of every object is named in one :class:`ManifestError` (its
    ``problems`` list them). Custom resources are left to the server's dry-run (see :func:`apply`)."""
    version = _schema_version(kubernetes_version)
    problems: list[ManifestError] = []
    for doc in docs:
        missing = False
        for key in ("apiVersion", "kind"):
            if not isinstance(doc.obj.get(key), str) or not doc.obj[key]:
                problems.append(doc.error(f"{key} is missing", [key]))
                missing = True
        meta = doc.obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            problems.append(
                doc.error("metadata.name is missing (server-side apply needs a name)", ["metadata", "name"])
            )
        if missing:
            continue
        validator = _validator(doc.obj, version)
        if validator is None:
            if _builtin_group(_group(doc.obj["apiVersion"])):
                problems.append(
                    doc.error(
                        f"unknown kind {doc.kind!r} in apiVersion {doc.obj['apiVersion']!r} "
                        f"(Kubernetes {version})",
                        ["kind"],
                    )
                )
            continue
        problems += _schema_problems(doc, validator)
    if problems:
        raise ManifestError.all_of(problems)


def images(docs: Sequence[Document]) -> list[str]:
    """Every container image the objects need (any pod template, init and ephemeral containers
    included), sorted and without duplicates."""
    found: set[str] = set()

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for key in ("containers", "initContainers", "ephemeralContainers"):
                items = value.get(key)
                for c in items if isinstance(items, list) else []:
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        yield c["image"]
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for doc in docs:
        found.update(walk(doc.obj))
    return sorted(found)


class ResourceMap:
    """Kind -> (resource name, namespaced), from the cluster's :class:`~pytest_pods.discovery.Resolver`
    (one per cluster: give it, or one of its own is made)."""

    def __init__(self, kube: Kube, resolver: Resolver | None = None) -> None:
        self.kube = kube
        self.resolver = resolver or Resolver(kube)

    def lookup(self, doc: Document) -> tuple[str, bool]:
        api_version = str(doc.obj["apiVersion"])
        found = self.resolver.kind(api_version, doc.kind)
        if found is None:
            if not self.resolver.serves(api_version):
                raise doc.error(f"the cluster does not serve apiVersion {api_version!r}", ["apiVersion"])
            raise doc.error(f"the cluster has no kind {doc.kind!r} in {api_version!r}", ["kind"])
        return found.plural, found.namespaced

    def forget(self, api_version: str) -> None:
        """Drop what discovery said of ``api_version`` (a CRD was applied: ask again)."""
        self.resolver.forget(api_version)

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether discovery lists ``kind`` in ``api_version`` (an unserved group is False)."""
        return self.resolver.kind(api_version, kind) is not None

    def path(self, doc: Document, namespace: str | None) -> tuple[str, str | None]:
        """The object's URL and the namespace it goes to."""
        plural, namespaced = self.lookup(doc)
        api_version = str(doc.obj["apiVersion"])
        prefix = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
        if not namespaced:
            return f"{prefix}/{plural}/{doc.name}", None
        ns = (doc.obj.get("metadata") or {}).get("namespace") or namespace
        if not ns:
            raise doc.error("a namespaced object needs a namespace", ["metadata", "namespace"])
        return f"{prefix}/namespaces/{ns}/{plural}/{doc.name}", str(ns)


#: How server-side apply names a value of the wrong type: ``.spec.size: expected numeric (int or
#: float), got string`` (the field, then what the schema wants and what it got).
WRONG_TYPE = re.compile(r"\.([\w.\[\]-]+): (expected [^,;\n]+, got [^\s;]+)")


def server_error(doc: Document, exc: ApiError) -> ManifestError:
    """Map an API server refusal back to the document, fields and lines: every unknown field the
    strict field validation names, else every cause, else the message."""
    details: Any = exc.body.get("details") or {}
    causes: list[Any] = details.get("causes") or [] if isinstance(details, dict) else []
    message = exc.message
    problems = []
    unknown = re.findall(r"\.([\w.\[\]-]+): field not declared in schema", message)
    unknown += re.findall(r'unknown field "\.?([\w.\[\]-]+)"', message)
    for name in dict.fromkeys(unknown):
        problems.append(doc.error(f"unknown field (server: {message})", parse_field_path(name)))
    # a value of the wrong type, as server-side apply's typed patch says it (a CRD's schema, too):
    # ".spec.size: expected numeric (int or float), got string"
    for name, wrong in dict.fromkeys(WRONG_TYPE.findall(message)):
        problems.append(doc.error(f"{wrong} (the schema of {doc.kind})", parse_field_path(name)))
    if not problems:
        for cause in causes:
            if cause.get("field"):
                problems.append(
                    doc.error(
                        f"{cause.get('message', message)} (server: {exc.reason})",
                        parse_field_path(cause["field"]),
                    )
                )
    if not problems:
        hint = ""
        if exc.status == 403:  # the kubeconfig's identity may not apply this kind
            hint = f"; to apply {doc.kind} objects, add a rule for them to the ClusterRole in {ROLE_FILE}"
        return doc.error(f"the API server refused it: {exc.status} {exc.reason}: {message}{hint}")
    return ManifestError.all_of(problems)


#: The order ``apply`` gives the kinds of one manifest (those that others need first), as Helm's
#: install order does, with CRDs second (their custom resources need them); a kind not listed (a
#: custom resource, say) comes after these, and the webhook configurations last of all.
KIND_ORDER = (
    "Namespace",
    "CustomResourceDefinition",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PriorityClass",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_LAST_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
CRD_API_VERSION = "apiextensions.k8s.io/v1"
#: How long an apply waits for the URL of a resource whose CRD was just made to be served.
ROUTE_TIMEOUT = 15.0
ESTABLISHED_TIMEOUT = 60.0
DELETED_TIMEOUT = 120.0


def kind_rank(doc: Document) -> int:
    """Where the object's kind goes in :data:`KIND_ORDER` (unknown kinds after, webhooks last)."""
    if doc.kind in _LAST_KINDS:
        return len(KIND_ORDER) + 1 + _LAST_KINDS.index(doc.kind)
    return KIND_ORDER.index(doc.kind) if doc.kind in KIND_ORDER else len(KIND_ORDER)


def _meta(doc: Document) -> dict[str, Any]:
    meta = doc.obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def dependencies(doc: Document, docs: Sequence[Document], namespace: str | None) -> list[Document]:
    """The objects of the same manifest that ``doc`` cannot be checked or applied without, as the API
    server sees it: the Namespace it names, the ServiceAccount of a bare Pod (the admission plugin
    refuses a pod whose account does not exist), and the CRD that defines its kind."""
    ns = _meta(doc).get("namespace") or namespace
    account = _spec(doc.obj).get("serviceAccountName") or _spec(doc.obj).get("serviceAccount")
    group, kind = _group(str(doc.obj.get("apiVersion", ""))), doc.kind
    crd_of_it = (group, kind)
    out = []
    for other in docs:
        names = _spec(other.obj).get("names") or {}
        its_namespace = other.kind == "Namespace" and doc.kind != "Namespace"
        its_account = doc.kind == "Pod" and other.kind == "ServiceAccount"
        its_crd = other.kind == "CustomResourceDefinition"
        if other is doc:
            continue
        if (
            (its_namespace and _meta(doc).get("namespace") == other.name)
            or (its_account and account == other.name and (_meta(other).get("namespace") or namespace) == ns)
            or (its_crd and (_spec(other.obj).get("group"), names.get("kind")) == crd_of_it)
        ):
            out.append(other)
    return out


def stages(docs: Sequence[Document], namespace: str | None) -> list[list[Document]]:
    """The manifest's objects in the order they are applied: in stages, each object after the objects
    it depends on (:func:`dependencies`), and within a stage in :func:`kind_rank` order (then the
    manifest's own order)."""
    depth: dict[int, int] = {}

    def level(doc: Document, seen: frozenset[int]) -> int:
        if id(doc) not in depth:
            needed = [d for d in dependencies(doc, docs, namespace) if id(d) not in seen]
            depth[id(doc)] = 1 + max((level(d, seen | {id(doc)}) for d in needed), default=-1)
        return depth[id(doc)]

    out: list[list[Document]] = []
    for doc in docs:
        n = level(doc, frozenset())
        out += [[] for _ in range(n + 1 - len(out))]
        out[n].append(doc)
    return [sorted(stage, key=kind_rank) for stage in out]


def order(docs: Sequence[Document], namespace: str | None = None) -> list[Document]:
    """The manifest's objects in the order :func:`apply` applies them (its :func:`stages`, flat)."""
    return [doc for stage in stages(docs, namespace) for doc in stage]


#: What the API server says when an object is refused only because something it depends on does
#: not exist yet: its namespace, its ServiceAccount, or (said by :class:`ResourceMap`) its kind.
_MISSING_DEPENDENCY = re.compile(
    r'namespaces "[^"]+" not found|serviceaccount "[^"]+" not found'
    r"|the cluster does not serve apiVersion|the cluster has no kind"
)


def missing_dependency(problem: ManifestError) -> bool:
    """Whether a refusal says only that something the object depends on does not exist (yet)."""
    return all(_MISSING_DEPENDENCY.search(p.detail) for p in problem.problems)


def wait_established(
    kube: Kube, doc: Document, resources: ResourceMap, *, timeout: float = ESTABLISHED_TIMEOUT
) -> None:
    """Wait until the CRD of ``doc`` is up (``Established``, its names accepted: the one watch loop,
    :func:`pytest_pods.waits.wait_up`, with the CRD's own verdict), then until discovery serves its
    kind in every served version (a moment later; discovery cannot be watched, so it is read again
    every 0.2 s), so that its custom resources can be applied; a :class:`ManifestError` naming the
    CRD and why otherwise."""
    began = time.monotonic()
    crd = resources.resolver.kind(CRD_API_VERSION, "CustomResourceDefinition")
    if crd is None:
        raise doc.error(f"the cluster does not serve {CRD_API_VERSION} CustomResourceDefinitions")
    try:
        waits.wait_up(kube, "", [(crd, doc.name)], timeout=timeout)
    except WorkloadNotReadyError as exc:
        raise doc.error(f"the CRD is not Established: {exc.reason}: {exc.detail}") from None
    spec = _spec(doc.obj)
    group, kind = str(spec.get("group", "")), str((spec.get("names") or {}).get("kind", ""))
    versions = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served")]
    while True:
        for version in versions:
            resources.forget(f"{group}/{version}")
        unlisted = [v for v in versions if not resources.serves(f"{group}/{v}", kind)]
        if not unlisted:
            return
        if time.monotonic() - began >= timeout:
            raise doc.error(
                f"the CRD is Established, but discovery does not list {kind} in {group}/{unlisted[0]} "
                f"after {timeout:g}s"
            )
        time.sleep(0.2)


def _apply_one(
    kube: Kube,
    doc: Document,
    namespace: str | None,
    resources: ResourceMap,
    *,
    dry_run: bool,
    texts: list[str],
    owner: Owner | None = None,
) -> JSON:
    """Server-side apply (or dry-run) one object; every refusal a :class:`ManifestError` about it.
    An object outside ``owner``'s namespace is labelled as its, recorded before it is applied, and
    not taken from another owner (:func:`_claim`)."""
    path, ns = resources.path(doc, namespace)
    body = copy.deepcopy(doc.obj)
    if ns:
        body.setdefault("metadata", {})["namespace"] = ns
    query: dict[str, str | int | bool] = {
        "fieldManager": FIELD_MANAGER,
        "force": True,
        "fieldValidation": "Strict",
    }
    outside = owner is not None and ns != owner.namespace
    if owner is not None and outside:
        meta = body.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), **owner.labels}
        meta["annotations"] = {**(meta.get("annotations") or {}), **owner.annotations}
        query["fieldManager"] = owner.field_manager
        query["force"] = _claim(kube, doc, path, owner, resources, ns)  # only over what is the test's
        if not dry_run:
            owner.record(Outside(doc.kind, str(doc.obj["apiVersion"]), path))
    if dry_run:
        query["dryRun"] = "All"
    try:
        # a check does not wait for an URL to be served: its kind's CRD is not there (yet)
        return _patch_when_served(kube, path, query, body, texts, patience=0.0 if dry_run else ROUTE_TIMEOUT)
    except ApiError as exc:
        if exc.status == 0:  # no answer at all: not a refusal of this object
            raise
        if _route_missing(exc):  # what discovery said is stale (its CRD went, with an earlier test)
            api_version = str(doc.obj["apiVersion"])
            resources.forget(api_version)
            raise doc.error(
                f"the cluster does not serve apiVersion {api_version!r} (kind {doc.kind}): its URL is not "
                "routed (404 page not found): is its CRD applied and Established?",
                ["apiVersion"],
            ) from None
        if owner is not None and outside and exc.status == 409:  # applied by another at the same time
            _claim(kube, doc, path, owner, resources, ns)
            raise doc.error(not_ours("another apply of it, at the same time", owner)) from None
        raise server_error(doc, exc) from None


def _route_missing(exc: ApiError) -> bool:
    """A 404 from the server's router ("404 page not found", no Status), not about the object: the
    resource's URL is not served, as for a moment after a CRD of the same name is made again."""
    return exc.status == 404 and not exc.reason


def _patch_when_served(
    kube: Kube,
    path: str,
    query: dict[str, str | int | bool],
    body: JSON,
    texts: list[str],
    *,
    patience: float,
) -> JSON:
    """Server-side apply at ``path``; while the URL is not served yet (:func:`_route_missing`: a CRD
    deleted with an earlier test and made again can be Established, and listed by discovery, before
    the API server routes its resources), try again, for at most ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return kube.request(
                "PATCH",
                path,
                query=query,
                body=body,
                content_type="application/apply-patch+yaml",
                warnings=texts,
            )
        except ApiError as exc:
            if not _route_missing(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.25)


def not_ours(who: str, owner: Owner) -> str:
    """The refusal of an object that exists and belongs to ``who``."""
    return (
        f"it exists already and belongs to {who}: not taken over (give it a name of its own, unique to "
        f"the test, e.g. with the test's namespace {owner.namespace!r} in it)"
    )


def _claim(
    kube: Kube, doc: Document, path: str, owner: Owner, resources: ResourceMap, namespace: str | None
) -> bool:
    """Whether the object at ``path`` exists (and may be taken: it is ``owner``'s, or its run is gone);
    a :class:`ManifestError` naming its owner if it belongs to someone else."""
    try:
        existing = kube.request("GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise server_error(doc, exc) from None
    who = owner.foreign(existing)
    if who is not None:
        raise doc.error(not_ours(who, owner))
    if (existing.get("metadata") or {}).get("deletionTimestamp"):  # an earlier test's, going with it
        wait_deleted(kube, doc, resources, namespace)
        return False
    return True


def wait_deleted(
    kube: Kube,
    doc: Document,
    resources: ResourceMap,
    namespace: str | None,
    *,
    timeout: float = DELETED_TIMEOUT,
) -> None:
    """Wait (the one watch loop, :func:`pytest_pods.waits.wait_for` with ``delete``) until the object of
    ``doc``, being deleted, is gone: a Namespace of a manifest that an earlier test applied too (say) is
    deleted with that test's namespace, which takes a few seconds; applied to meanwhile, it would
    refuse new objects."""
    resource = resources.resolver.kind(str(doc.obj["apiVersion"]), doc.kind)
    if resource is None:
        raise doc.error(f"the cluster has no kind {doc.kind!r} in {doc.obj['apiVersion']!r}", ["kind"])
    try:
        waits.wait_for(kube, namespace or "", resource, doc.name, delete=True, timeout=timeout)
    except WorkloadNotReadyError:
        raise doc.error(f"it is still being deleted after {timeout:g}s (it was an earlier test's)") from None


def _check(
    kube: Kube,
    docs: Sequence[Document],
    namespace: str | None,
    resources: ResourceMap,
    *,
    later: Sequence[Document] = (),
    owner: Owner | None = None,
) -> list[JSON | None]:
    """Dry-run ``docs``, naming every problem of every object in one :class:`ManifestError`; a
    refusal of an object in ``later`` that says only that something it depends on is missing (it is
    applied first) is not a problem: that object is checked again once it is there (None for it)."""
    problems: list[ManifestError] = []
    out: list[JSON | None] = []
    for doc in docs:
        try:
            out.append(_apply_one(kube, doc, namespace, resources, dry_run=True, texts=[], owner=owner))
        except ManifestError as exc:
            out.append(None)
            if not (any(doc is d for d in later) and missing_dependency(exc)):
                problems += exc.problems
    if problems:
        raise ManifestError.all_of(problems)
    return out


def apply(
    kube: Kube,
    docs: Sequence[Document],
    namespace: str | None,
    *,
    resources: ResourceMap | None = None,
    dry_run: bool = False,
    warned: list[PodsApiWarning] | None = None,
    owner: Owner | None = None,
) -> list[JSON]:
    """Server-side apply each object (namespaced ones into ``namespace`` unless they name one), with
    ``fieldValidation=Strict`` so that the server refuses unknown fields instead of dropping them;
    return the objects as the server stored them, in the manifest's order.

    Objects that depend on each other go in as ``kubectl apply -f`` takes them: in :func:`stages`
    (a Namespace before its objects, a ServiceAccount before the bare Pod that uses it, a CRD before
    its custom resources, waited for until ``Established``), each stage in :data:`KIND_ORDER`.
    With several objects, or a kind the offline schema does not know (a custom resource), a server
    dry-run of all of them comes first: a bad one applies nothing, and every object's problems are
    named in one :class:`ManifestError`. An object whose dependency is in the manifest can only be
    checked so far before that dependency exists (a missing namespace, ServiceAccount or kind is not
    its problem); it is dry-run again, with the rest of its stage, before its stage is applied.
    Every refusal is a :class:`ManifestError` naming the file:line and the object.

    With an ``owner`` (the test's namespace), an object outside its namespace (cluster-scoped, a
    Namespace, one in another namespace) is the owner's: labelled, recorded, and refused with its
    owner named if it exists and is someone else's (see :class:`~pytest_pods.namespaces.Owner`).

    ``dry_run`` applies nothing, and returns what the server would store of the objects it could
    check (those whose dependencies exist). The API server's warnings about each object are added
    to ``warned`` (those of the checking dry run are not: the apply that follows gets the same)."""
    resources = resources or ResourceMap(kube)
    steps = stages(docs, namespace)
    later = [doc for stage in steps[1:] for doc in stage]
    if dry_run:
        checked = _check(kube, order(docs, namespace), namespace, resources, later=later, owner=owner)
        return [obj for obj in checked if obj is not None]
    check = len(docs) > 1 or not all(known_offline(d) for d in docs)
    if check:
        _check(kube, order(docs, namespace), namespace, resources, later=later, owner=owner)
    stored: dict[int, JSON] = {}
    for n, stage in enumerate(steps):
        if n and check:
            _check(kube, stage, namespace, resources, owner=owner)
        for doc in stage:
            texts: list[str] = []
            try:
                stored[id(doc)] = _apply_one(
                    kube, doc, namespace, resources, dry_run=False, texts=texts, owner=owner
                )
            finally:
                if warned is not None:
                    warned += [api_warning(doc, text) for text in texts]
            if doc.kind == "CustomResourceDefinition" and n + 1 < len(steps):
                wait_established(kube, doc, resources)
    return [stored[id(doc)] for doc in docs]


def api_warning(doc: Document, text: str) -> PodsApiWarning:
    """The API server's warning ``text`` about ``doc``, as a :class:`PodsApiWarning`."""
    return PodsApiWarning(doc.label, text, doc.source if doc.line is None else f"{doc.source}:{doc.line}")
