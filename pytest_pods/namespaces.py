"""A namespace per test: a unique name, labels that say which test, run and worker made it, a
deletion that does not block (nor is waited for at the end: kube-controller-manager holds every
namespace deletion 5 s before it starts), a check for deletions that are stuck, and the
reaping of namespaces whose run is gone (killed before it could clean up).

Each namespace carries its owner in annotations: the host, and the process (pid and start time, so a
reused pid does not count as alive). A run is gone when its process is no longer there; namespaces of
another host are left alone (their owner cannot be checked from here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path

from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube

LABEL_PREFIX = "pytest-pods"
TEST_LABEL = f"{LABEL_PREFIX}/test"
RUN_LABEL = f"{LABEL_PREFIX}/run"
WORKER_LABEL = f"{LABEL_PREFIX}/worker"
NODEID_ANNOTATION = f"{LABEL_PREFIX}/nodeid"
HOST_ANNOTATION = f"{LABEL_PREFIX}/host"
OWNER_ANNOTATION = f"{LABEL_PREFIX}/owner"  # "<pid>:<start time>" of the process that made it
KEPT_LABEL = f"{LABEL_PREFIX}/kept"


def process_token(pid: int) -> str | None:
    """``"<pid>:<start time>"`` of a live process, else None (the start time tells a reused pid)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return f"{pid}:{fields[19]}"  # field 22 of stat: the start time, in clock ticks since boot


def owner_annotations() -> dict[str, str]:
    """Who makes a namespace now: this host and this process."""
    return {
        HOST_ANNOTATION: socket.gethostname(),
        OWNER_ANNOTATION: process_token(os.getpid()) or str(os.getpid()),
    }


def owner_gone(annotations: Mapping[str, str], host: str | None = None) -> bool:
    """True when the namespace's maker ran on this host and that process is no longer there."""
    if annotations.get(HOST_ANNOTATION) != (host or socket.gethostname()):
        return False
    owner = annotations.get(OWNER_ANNOTATION, "")
    pid = owner.split(":", 1)[0]
    if not pid.isdigit():
        return False
    return process_token(int(pid)) != owner


def reap_orphans(kube: Kube) -> list[str]:
    """Delete (in the background) the test namespaces whose run is gone; return their names.
    Kept namespaces (``--pods-keep-namespace``) are left for the user."""
    listing = kube.request("GET", "/api/v1/namespaces", query={"labelSelector": f"{RUN_LABEL},!{KEPT_LABEL}"})
    reaped = []
    for ns in listing.get("items") or []:
        meta = ns.get("metadata") or {}
        if meta.get("deletionTimestamp") or not owner_gone(meta.get("annotations") or {}):
            continue
        delete(kube, str(meta["name"]))
        reaped.append(str(meta["name"]))
    return sorted(reaped)


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


def keep(kube: Kube, name: str) -> None:
    """Label the namespace kept (:data:`KEPT_LABEL`), so that no later clean-up deletes it. Best
    effort: a namespace that cannot be labelled is still kept (it is not deleted)."""
    with contextlib.suppress(ApiError):
        kube.request(
            "PATCH",
            f"/api/v1/namespaces/{name}",
            body={"metadata": {"labels": {KEPT_LABEL: "true"}}},
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
