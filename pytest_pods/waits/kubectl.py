"""``kubectl wait``: any object until a condition, a JSONPath value or its deletion holds, and a
pod until it is gone; each a classifier on the one loop (:func:`pytest_pods.waits.loop.wait`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pytest_pods.discovery import POD, Resource
from pytest_pods.errors import PodNotDeletedError, PodsError, WorkloadNotReadyError
from pytest_pods.kube import JSON, Kube
from pytest_pods.podstate import conditions
from pytest_pods.waits.loop import Target, wait
from pytest_pods.waits.report import describe, failure_report, pod_events
from pytest_pods.waits.verdicts import PENDING, Classifier, Verdict, success


def condition_check(condition: str) -> Callable[[JSON], bool]:
    """``Ready``, ``Ready=True``, ``Available=false`` (as ``kubectl wait --for=condition=...``)."""
    ctype, _, want = condition.partition("=")
    wanted = (want or "True").lower()

    def check(obj: JSON) -> bool:
        c = conditions(obj).get(ctype)
        if c is None:
            c = next((v for k, v in conditions(obj).items() if k.lower() == ctype.lower()), None)
        return c is not None and str(c.get("status", "")).lower() == wanted

    return check


def jsonpath_check(expression: str) -> Callable[[JSON], bool]:
    """``{.status.phase}=Running`` or ``{.status.readyReplicas}`` (exists and is not empty), as
    ``kubectl wait --for=jsonpath=...``; filters like ``[?(@.type=="Ready")]`` work."""
    from jsonpath_ng.ext.parser import parse

    path, sep, want = expression.partition("}=") if "}=" in expression else expression.partition("=")
    path = path.strip()
    if path.startswith("{"):
        path = path[1:]
    path = path.rstrip("}")
    compiled = parse("$" + path if path.startswith((".", "[")) else "$." + path)

    def check(obj: JSON) -> bool:
        found = [m.value for m in compiled.find(obj)]
        if not sep:
            return any(v not in (None, "", [], {}) for v in found)
        return any(_text(v) == want for v in found)

    return check


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def met_when(check: Callable[[JSON], bool]) -> Classifier:
    """A classifier that is done once ``check`` holds for the object (which exists)."""
    return lambda obj: success("Met") if obj and check(obj) else PENDING


def absent(uid: str = "") -> Classifier:
    """A classifier that is done once the object is gone (with ``uid``: once the object of that uid
    is; a new object of the same name does not count)."""

    def judge(obj: JSON) -> Verdict:
        if not obj or (uid and (obj.get("metadata") or {}).get("uid") != uid):
            return success("Deleted")
        return PENDING

    return judge


def wait_for(
    kube: Kube,
    namespace: str,
    resource: Resource,
    name: str,
    *,
    condition: str | None = None,
    jsonpath: str | None = None,
    delete: bool = False,
    timeout: float,
) -> JSON:
    """Watch one object of ``resource`` (in ``namespace`` unless it is cluster-scoped) until
    ``condition``, ``jsonpath`` or (with ``delete``) its absence holds, like ``kubectl wait
    --for=...``; with none of them, until it exists (``--for=create``). Return the object as last
    seen (``{}`` once deleted), or raise :class:`WorkloadNotReadyError` with reason ``Timeout``
    naming what was last seen."""
    if [bool(condition), bool(jsonpath), delete].count(True) > 1:
        raise ValueError("wait_for takes one of condition=..., jsonpath=... or delete=True")
    kind = resource.kind
    if condition:
        classify, want = met_when(condition_check(condition)), f"condition={condition}"
    elif jsonpath:
        classify, want = met_when(jsonpath_check(jsonpath)), f"jsonpath={jsonpath}"
    elif delete:
        classify, want = absent(), "delete"
    else:
        classify, want = met_when(lambda obj: True), "create"

    def timed_out(t: Target, timeout: float) -> PodsError:
        report = describe(t.obj) if t.obj else f"{kind} {name} does not exist"
        return WorkloadNotReadyError(
            namespace if resource.namespaced else "",
            kind,
            name,
            "Timeout",
            f"--for={want} not met after {timeout:g}s",
            report=report,
        )

    (target,) = wait(
        kube, namespace, [Target(resource, name, classify, timed_out=timed_out)], timeout=timeout
    )
    return target.obj


def wait_deleted(kube: Kube, namespace: str, name: str, uid: str, *, timeout: float) -> None:
    """Watch until the pod with this ``uid`` is gone (a new pod of the same name does not count);
    :class:`PodNotDeletedError` if it is still there after ``timeout``."""

    def timed_out(t: Target, timeout: float) -> PodsError:
        return PodNotDeletedError(
            namespace, name, timeout, failure_report(t.obj or None, pod_events(kube, namespace, name))
        )

    wait(kube, namespace, [Target(POD, name, absent(uid), timed_out=timed_out)], timeout=timeout)
