"""Literal pod JSON for the pure unit tests (shaped as the API server sends it), and the resources
(as discovery resolves them) the waits' tests name."""

from __future__ import annotations

from typing import Any

from pytest_pods.discovery import POD as POD  # re-exported for the tests
from pytest_pods.discovery import Resource

DEPLOYMENT = Resource("apps", "v1", "Deployment", "deployments", True, "deployment", ("deploy",))
JOB = Resource("batch", "v1", "Job", "jobs", True, "job")
PVC = Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, "", ("pvc",))
SERVICE = Resource("", "v1", "Service", "services", True, "service", ("svc",))
CLUSTER_ROLE = Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False)
CRD = Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False)
WIDGET = Resource("toys.pytest-pods.test", "v1", "Widget", "widgets", True, "widget", ("wg",))
#: A custom resource whose Kind is a built-in's (its group decides).
OTHER_DEPLOYMENT = Resource("toys.pytest-pods.test", "v1", "Deployment", "deployments")


def pod(
    *,
    phase: str = "Pending",
    containers: tuple[str, ...] = ("web",),
    statuses: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    init: tuple[str, ...] = (),
    init_statuses: list[dict[str, Any]] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "ns"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {
            "containers": [{"name": c, "image": "nginx"} for c in containers],
            "initContainers": [{"name": c, "image": "debian"} for c in init],
            "nodeName": "node1",
        },
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "containerStatuses": statuses or [],
            "initContainerStatuses": init_statuses or [],
            "podIP": "10.0.0.5",
        },
    }


def waiting(
    name: str, reason: str, message: str = "", restarts: int = 0, last_exit: int | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason, "message": message}},
    }
    if last_exit is not None:
        status["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error"}}
    return status


def running(name: str, ready: bool = True) -> dict[str, Any]:
    return {"name": name, "ready": ready, "restartCount": 0, "state": {"running": {"startedAt": "x"}}}


def terminated(name: str, code: int, reason: str = "Error") -> dict[str, Any]:
    return {
        "name": name,
        "ready": False,
        "restartCount": 0,
        "state": {"terminated": {"exitCode": code, "reason": reason}},
    }


def cond(ctype: str, status: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def labelled(p: dict[str, Any], name: str) -> dict[str, Any]:
    """A pod named ``name`` with the label the :func:`deployment` selects."""
    p["metadata"].update(name=name, labels={"app": "web"})
    return p


def deployment(want: int = 2, generation: int = 2, observed: int = 2, **status: Any) -> dict[str, Any]:
    """A Deployment ``web`` selecting ``app=web``."""
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "generation": generation},
        "spec": {"replicas": want, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"observedGeneration": observed, **status},
    }


def event(reason: str, message: str, at: str, *, type: str = "Warning", about: str = "p") -> dict[str, Any]:
    """An Event about pod ``about``, last seen ``at`` (an RFC 3339 time)."""
    return {
        "type": type,
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
        "involvedObject": {"kind": "Pod", "name": about},
    }
