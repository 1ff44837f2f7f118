"""A namespace per test: a unique name, labels that say which test, run and worker made it, a
deletion that does not block (nor is waited for at the end: kube-controller-manager holds every
namespace deletion 5 s before it starts), a check for deletions that are stuck, and the
reaping of namespaces whose run is gone (killed before it could clean up).

Each namespace carries its owner in annotations: the host (``$PYTEST_PODS_HOST``, else the host name),
the process (pid and start time, so a reused pid does not count as alive) and, when its run could take
one, the run's Lease (:data:`LEASE_ANNOTATION`; :mod:`pytest_pods.gc` reaps by it, from any host). A
kept namespace carries the time it may be deleted (:data:`EXPIRES_ANNOTATION`).

What a test's manifests make outside its namespace (cluster-scoped objects, a Namespace of their own,
objects in another namespace) is the test's too (:class:`Owner`): labelled with the run and the test's
namespace, annotated with the same owner, listed on the test's namespace (:data:`OUTSIDE_ANNOTATION`,
before it is applied, so that a run killed at any moment leaves nothing unlisted), and deleted with it
(:func:`delete_outside`), by the run or by the reaping of a run that is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube

LABEL_PREFIX = "pytest-pods"
TEST_LABEL = f"{LABEL_PREFIX}/test"
RUN_LABEL = f"{LABEL_PREFIX}/run"
WORKER_LABEL = f"{LABEL_PREFIX}/worker"
NODEID_ANNOTATION = f"{LABEL_PREFIX}/nodeid"
HOST_ANNOTATION = f"{LABEL_PREFIX}/host"
OWNER_ANNOTATION = f"{LABEL_PREFIX}/owner"  # "<pid>:<start time>" of the process that made it
#: The run's Lease, ``<namespace>/<name>``: the namespace (or object) lives as long as that Lease does.
LEASE_ANNOTATION = f"{LABEL_PREFIX}/lease"
KEPT_LABEL = f"{LABEL_PREFIX}/kept"
#: On a kept namespace: when it may be deleted (RFC 3339, UTC; ``--pods-keep-for``).
EXPIRES_ANNOTATION = f"{LABEL_PREFIX}/expires"
#: Overrides the host identity recorded on namespaces (e.g. a CI runner's job id).
HOST_ENV = "PYTEST_PODS_HOST"
#: On an object a test made outside its namespace: that namespace (the test that owns the object).
NAMESPACE_LABEL = f"{LABEL_PREFIX}/namespace"
#: On a test's namespace: what its tests made outside it (a JSON list of ``[kind, apiVersion, path]``).
OUTSIDE_ANNOTATION = f"{LABEL_PREFIX}/outside"


def process_token(pid: int) -> str | None:
    """``"<pid>:<start time>"`` of a live process, else None (the start time tells a reused pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{pid}:{fields[19]}"  # field 22 of stat: the start time, in clock ticks since boot


def host_name() -> str:
    """This host's identity: ``$PYTEST_PODS_HOST``, else the host name."""
    return os.environ.get(HOST_ENV) or socket.gethostname()


def owner_annotations() -> dict[str, str]:
    """Who makes a namespace now: this host and this process."""
    return {
        HOST_ANNOTATION: host_name(),
        OWNER_ANNOTATION: process_token(os.getpid()) or str(os.getpid()),
    }


def owner_gone(annotations: Mapping[str, str], host: str | None = None) -> bool:
    """True when the namespace's maker ran on this host and that process is no longer there."""
    if annotations.get(HOST_ANNOTATION) != (host or host_name()):
        return False
    owner = annotations.get(OWNER_ANNOTATION, "")
    pid = owner.split(":", 1)[0]
    if not pid.isdigit():
        return False
    return process_token(int(pid)) != owner


@dataclass(frozen=True)
class Outside:
    """An object a test made outside its namespace: its kind, apiVersion and URL."""

    kind: str
    api_version: str
    path: str

    @property
    def label(self) -> str:
        """``ClusterRole/reader``, or ``ConfigMap/settings in namespace team``."""
        parts = self.path.split("/")
        where = f" in namespace {parts[parts.index('namespaces') + 1]}" if "namespaces" in parts[:-2] else ""
        return f"{self.kind}/{parts[-1]}{where}"

    @property
    def rank(self) -> int:
        """Its turn to be deleted: custom resources before their CRDs, Namespaces last."""
        group = self.api_version.rpartition("/")[0]
        if self.kind == "Namespace":
            return 3
        if self.kind == "CustomResourceDefinition":
            return 2
        return 0 if "." in group and not group.endswith(".k8s.io") else 1


def outside_of(annotations: Mapping[str, str]) -> list[Outside]:
    """What a test namespace's :data:`OUTSIDE_ANNOTATION` lists (nothing if it is not readable)."""
    try:
        items = json.loads(annotations.get(OUTSIDE_ANNOTATION) or "[]")
        return [Outside(str(k), str(v), str(p)) for k, v, p in items]
    except (ValueError, TypeError):
        return []


def delete_outside(kube: Kube, objects: Sequence[Outside]) -> None:
    """Ask for the deletion of each object in the background (custom resources first, then the
    others, CRDs, and Namespaces last); one that is gone already is no problem."""
    for obj in sorted(objects, key=lambda o: o.rank):
        try:
            kube.request("DELETE", obj.path, body={"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.status not in (404, 410):
                raise


def foreign_owner(meta: Mapping[str, Any], namespace: str, *, owner_live: bool) -> str | None:
    """Who, other than the test of ``namespace``, owns an existing object (its ``metadata``); None
    when it may be applied: it is that test's, or its test's run is gone (``owner_live`` False:
    its run's process is gone, or its test namespace is gone or being deleted)."""
    labels = meta.get("labels") or {}
    theirs = labels.get(NAMESPACE_LABEL)
    if theirs == namespace:
        return None
    if not theirs or RUN_LABEL not in labels:
        managers = sorted(
            {str(m.get("manager")) for m in meta.get("managedFields") or [] if isinstance(m, dict)}
        )
        by = f"; managed by {', '.join(managers)}" if managers else ""
        return f"someone else (it has no {NAMESPACE_LABEL} label{by})"
    if labels.get(KEPT_LABEL):
        return f"the kept test namespace {theirs} (run {labels[RUN_LABEL]}; --pods-keep-namespace)"
    if not owner_live:
        return None
    return f"test namespace {theirs} of run {labels[RUN_LABEL]}, which is still running"


@dataclass
class Owner:
    """A test namespace as the owner of what its manifests make outside it: the :attr:`labels` and
    :attr:`annotations` those objects get, what it made (:attr:`outside`, also listed on the
    namespace), and whether an object that exists already may be taken (:meth:`foreign`)."""

    kube: Kube
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=owner_annotations)
    outside: list[Outside] = field(default_factory=list)

    @property
    def field_manager(self) -> str:
        """The field manager of its objects outside: its own, so that another test's server-side
        apply of the same object conflicts instead of taking it over."""
        return f"{LABEL_PREFIX}/{self.namespace}"

    def record(self, obj: Outside) -> None:
        """Add ``obj`` to :attr:`outside` and to the namespace's :data:`OUTSIDE_ANNOTATION` (before
        the object is applied: a run killed right after still leaves it listed)."""
        if obj in self.outside:
            return
        self.outside.append(obj)
        listed = json.dumps([[o.kind, o.api_version, o.path] for o in self.outside])
        self.kube.request(
            "PATCH",
            f"/api/v1/namespaces/{self.namespace}",
            body={"metadata": {"annotations": {OUTSIDE_ANNOTATION: listed}}},
            content_type="application/merge-patch+json",
        )

    def foreign(self, existing: JSON) -> str | None:
        """Who else owns ``existing`` (see :func:`foreign_owner`), None if this test may apply it."""
        meta = existing.get("metadata") or {}
        labels = meta.get("labels") or {}
        theirs = labels.get(NAMESPACE_LABEL)
        gone = owner_gone(meta.get("annotations") or {})
        live = bool(theirs) and not gone and _active(self.kube, str(theirs))
        return foreign_owner(meta, self.namespace, owner_live=live)

    def keep(self) -> None:
        """Label what it made outside kept (:data:`KEPT_LABEL`), like its namespace (best effort)."""
        for obj in self.outside:
            with contextlib.suppress(ApiError):
                self.kube.request(
                    "PATCH",
                    obj.path,
                    body={"metadata": {"labels": {KEPT_LABEL: "true"}}},
                    content_type="application/merge-patch+json",
                )


def _active(kube: Kube, name: str) -> bool:
    """Whether the namespace ``name`` is there and not being deleted."""
    try:
        ns = kube.request("GET", f"/api/v1/namespaces/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return not (ns.get("metadata") or {}).get("deletionTimestamp")


def label_value(text: str) -> str:
    """A valid label value (at most 63 of ``[A-Za-z0-9_.-]``, starting and ending alphanumeric) that
    keeps the end of ``text``, where a test id is most specific."""
    value = re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[-63:]
    return value.strip("_.-") or "x"


def namespace_name(nodeid: str, suffix: str | None = None) -> str:
    """``pp-<test name>-<random>``: a DNS label of at most 63 characters, unique per call."""
    test = nodeid.rsplit("::", 1)[-1]
    base = re.sub(r"[^a-z0-9]+", "-", test.lower()).strip("-")[:44].strip("-") or "test"
    return f"pp-{base}-{suffix or secrets.token_hex(4)}"


def namespace_labels(nodeid: str, run_id: str, worker: str) -> dict[str, str]:
    return {
        TEST_LABEL: label_value(nodeid),
        RUN_LABEL: label_value(run_id),
        WORKER_LABEL: label_value(worker),
    }


def create(
    kube: Kube, name: str, labels: Mapping[str, str], annotations: Mapping[str, str] | None = None
) -> JSON:
    """Create the namespace and its ``default`` ServiceAccount (instead of waiting for the controller
    to make it: a pod created before it exists is refused)."""
    ns = kube.request(
        "POST",
        "/api/v1/namespaces",
        body={
            "metadata": {
                "name": name,
                "labels": dict(labels),
                "annotations": {**owner_annotations(), **dict(annotations or {})},
            }
        },
    )
    try:
        kube.request(
            "POST", f"/api/v1/namespaces/{name}/serviceaccounts", body={"metadata": {"name": "default"}}
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
    return ns


def delete(kube: Kube, name: str) -> None:
    """Ask for the namespace's deletion in the background and return at once. Its pods go first
    with no grace period, so that a container that ignores SIGTERM does not hold the namespace."""
    try:
        kube.request(
            "DELETE",
            f"/api/v1/namespaces/{name}/pods",
            body={"propagationPolicy": "Background", "gracePeriodSeconds": 0},
        )
        kube.request(
            "DELETE",
            f"/api/v1/namespaces/{name}",
            body={"propagationPolicy": "Background", "gracePeriodSeconds": 0},
        )
    except ApiError as exc:
        if exc.status != 404:
            raise


def rfc3339(when: dt.datetime) -> str:
    """``2026-12-07T04:39:34Z`` (UTC, whole seconds)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def keep(kube: Kube, name: str, until: dt.datetime | None = None) -> None:
    """Label the namespace kept (:data:`KEPT_LABEL`), so that no clean-up of its run deletes it,
    and stamp ``until`` on it (:data:`EXPIRES_ANNOTATION`): after that, ``pytest-pods gc`` (and any
    session's start) deletes it. Best effort: a namespace that cannot be labelled is still kept."""
    meta: JSON = {"labels": {KEPT_LABEL: "true"}}
    if until is not None:
        meta["annotations"] = {EXPIRES_ANNOTATION: rfc3339(until)}
    with contextlib.suppress(ApiError):
        kube.request(
            "PATCH",
            f"/api/v1/namespaces/{name}",
            body={"metadata": meta},
            content_type="application/merge-patch+json",
        )


def wait_gone(kube: Kube, label_selector: str, timeout: float) -> list[str]:
    """Wait (watching, bounded) until no namespace matches ``label_selector``; return the names of
    those still there when the time is up."""
    left: set[str] = set()
    for event in kube.watch("/api/v1/namespaces", query={"labelSelector": label_selector}, timeout=timeout):
        if event.type == "LISTED":
            left = {item["metadata"]["name"] for item in event.items}
        elif event.type == "DELETED":
            left.discard(event.object["metadata"]["name"])
        if not left:
            return []
    return sorted(left)


def stuck(kube: Kube, label_selector: str, older_than: float, now: dt.datetime | None = None) -> list[str]:
    """The namespaces matching ``label_selector`` that are still being deleted ``older_than`` seconds
    after their deletion began (one list; no waiting)."""
    now = now or dt.datetime.now(dt.UTC)
    items = kube.request("GET", "/api/v1/namespaces", query={"labelSelector": label_selector}).get("items")
    names = []
    for item in items or []:
        since = (item.get("metadata") or {}).get("deletionTimestamp")
        if since and (now - dt.datetime.fromisoformat(since)).total_seconds() > older_than:
            names.append(str(item["metadata"]["name"]))
    return sorted(names)
