"""Manifests: load (path, YAML text, dict, multi-document), check, apply server-side, list images.

Every document remembers where it came from (file and line, and the YAML node of each field), so
that an error, ours or the API server's, names the file, the object, the field and the line.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import yaml

from pytest_pods.errors import ApiError, ManifestError, PodsApiWarning
from pytest_pods.kube import JSON, Kube

#: What :func:`load` accepts: a path, YAML text, one object, or a list of objects.
ManifestSource: TypeAlias = "str | os.PathLike[str] | Mapping[str, Any] | Sequence[Mapping[str, Any]]"

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


def load(manifest: ManifestSource, *, base_dir: Path | None = None) -> list[Document]:
    """The objects of a manifest, in order. A ``str`` is a file path if it is one line that ends in
    .yaml/.yml/.json (or has no ``:``), else YAML text; a relative path is taken from ``base_dir``."""
    if isinstance(manifest, Mapping):
        return [Document(copy.deepcopy(dict(manifest)), "<dict>", 0)]
    if isinstance(manifest, os.PathLike) or (isinstance(manifest, str) and _looks_like_path(manifest)):
        path = Path(os.fspath(manifest)).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
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


@dataclass
class ResourceMap:
    """Kind -> (resource name, namespaced), from the API server's discovery, cached per API group."""

    kube: Kube
    _cache: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)

    def lookup(self, doc: Document) -> tuple[str, bool]:
        api_version = str(doc.obj["apiVersion"])
        if api_version not in self._cache:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                listing = self.kube.request("GET", path)
            except ApiError as exc:
                if exc.status == 404:
                    raise doc.error(
                        f"the cluster does not serve apiVersion {api_version!r}", ["apiVersion"]
                    ) from None
                raise
            self._cache[api_version] = {
                r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in listing.get("resources") or []
                if "/" not in r["name"]
            }
        kinds = self._cache[api_version]
        if doc.kind not in kinds:
            raise doc.error(f"the cluster has no kind {doc.kind!r} in {api_version!r}", ["kind"])
        return kinds[doc.kind]

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
        return doc.error(f"the API server refused it: {exc.status} {exc.reason}: {message}")
    return ManifestError.all_of(problems)


def apply(
    kube: Kube,
    docs: Sequence[Document],
    namespace: str | None,
    *,
    resources: ResourceMap | None = None,
    dry_run: bool = False,
    warned: list[PodsApiWarning] | None = None,
) -> list[JSON]:
    """Server-side apply each object (namespaced ones into ``namespace`` unless they name one), with
    ``fieldValidation=Strict`` so that the server refuses unknown fields instead of dropping them;
    return the objects as the server stored them. With several objects, or a kind the offline
    schema does not know (a custom resource), a server dry-run of all of them comes first: a bad
    one applies nothing, and every object's problems are named in one :class:`ManifestError`.
    The API server's warnings about each object are added to ``warned`` (those of the checking dry
    run are not: the apply that follows gets the same)."""
    resources = resources or ResourceMap(kube)
    if not dry_run and (len(docs) > 1 or not all(known_offline(d) for d in docs)):
        apply(kube, docs, namespace, resources=resources, dry_run=True)
    out = []
    problems: list[ManifestError] = []
    for doc in docs:
        path, ns = resources.path(doc, namespace)
        body = copy.deepcopy(doc.obj)
        if ns:
            body.setdefault("metadata", {})["namespace"] = ns
        query: dict[str, str | int | bool] = {
            "fieldManager": FIELD_MANAGER,
            "force": True,
            "fieldValidation": "Strict",
        }
        if dry_run:
            query["dryRun"] = "All"
        texts: list[str] = []
        try:
            out.append(
                kube.request(
                    "PATCH",
                    path,
                    query=query,
                    body=body,
                    content_type="application/apply-patch+yaml",
                    warnings=texts,
                )
            )
        except ApiError as exc:
            refused = exc.status in (400, 409, 422) or (exc.status == 404 and "namespaces" not in exc.message)
            # a custom resource's unknown field comes back as a 500 from the typed patch
            if refused or "field not declared in schema" in exc.message:
                if not dry_run:
                    raise server_error(doc, exc) from None
                problems += server_error(doc, exc).problems  # a dry run names every object's problems
                continue
            raise
        except ManifestError as exc:
            if not dry_run:
                raise
            problems += exc.problems
        if warned is not None:
            warned += [api_warning(doc, text) for text in texts]
    if problems:
        raise ManifestError.all_of(problems)
    return out


def api_warning(doc: Document, text: str) -> PodsApiWarning:
    """The API server's warning ``text`` about ``doc``, as a :class:`PodsApiWarning`."""
    return PodsApiWarning(doc.label, text, doc.source if doc.line is None else f"{doc.source}:{doc.line}")
