"""Garbage collection of test namespaces, from any host: what may be deleted and why (:func:`plan`,
pure but for its reads), and the deletion itself (:func:`collect`).

A test namespace (label ``pytest-pods/run``) is deleted, with what its tests made outside it
(:func:`~pytest_pods.namespaces.outside_of`), when

- it names its run's Lease (:data:`~pytest_pods.namespaces.LEASE_ANNOTATION`) and that Lease has
  expired (not renewed for its ``leaseDurationSeconds``) or is gone: the run is over, on whatever
  host it ran. A Lease that is live means a live run: its namespaces are never touched;
- it names no Lease (its run could not take one) and its maker ran on this host and is gone (the
  host-local rule, :func:`~pytest_pods.namespaces.owner_gone`; also applied to a Lease-holding
  namespace whose maker is gone from this host, so that a killed run on this host is reaped at once);
- it is kept (``pytest-pods/kept``) and its expiry (:data:`~pytest_pods.namespaces.EXPIRES_ANNOTATION`,
  ``--pods-keep-for``) has passed. A kept namespace without an expiry is left alone.

An expired Lease is deleted too, once nothing names it but namespaces being deleted. Namespaces
without the ``pytest-pods/run`` label are never read, let alone touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pytest_pods import namespaces
from pytest_pods.errors import ApiError
from pytest_pods.kube import JSON, Kube

#: Where the runs' Leases live (a namespace of its own, made by the first run or by the role's manifest).
LEASE_NAMESPACE = "pytest-pods"


def leases_path(namespace: str = LEASE_NAMESPACE) -> str:
    """The API path of the Leases of ``namespace`` (the runs' by default)."""
    return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


LEASES_PATH = leases_path()


@dataclass(frozen=True)
class Doomed:
    """One thing gc deletes: its kind (``Namespace`` or ``Lease``), its name, why, and (for a
    namespace) what its tests made outside it, deleted first."""

    kind: str
    name: str
    why: str
    outside: tuple[namespaces.Outside, ...] = ()

    @property
    def line(self) -> str:
        """``namespace pp-x: why`` (and what goes with it), for ``gc --list`` and the session's report."""
        extra = f" (with {', '.join(o.label for o in self.outside)})" if self.outside else ""
        return f"{self.kind.lower()} {self.name}{extra}: {self.why}"


@dataclass
class Plan:
    """What one look at the cluster found: what to delete, and what could not be judged."""

    doomed: list[Doomed] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def namespaces(self) -> list[str]:
        return sorted(d.name for d in self.doomed if d.kind == "Namespace")


def parse_time(text: object) -> dt.datetime | None:
    """An RFC 3339 time (``MicroTime`` too) as an aware datetime; None if it is not one."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def lease_expiry(lease: JSON) -> dt.datetime | None:
    """When a Lease expires: its last renewal (else its acquisition) plus its duration; None when
    it says neither (it is then taken as expired)."""
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    seconds = spec.get("leaseDurationSeconds")
    if renewed is None or not isinstance(seconds, int):
        return None
    return renewed + dt.timedelta(seconds=seconds)


def ago(seconds: float) -> str:
    """``42s``, ``3m12s``, ``2h5m``: a short duration."""
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def lease_state(lease: JSON, now: dt.datetime) -> str | None:
    """``expired 3m12s ago (holder ci-17/abc)``, or None while the Lease is live."""
    expiry = lease_expiry(lease)
    holder = (lease.get("spec") or {}).get("holderIdentity") or "?"
    if expiry is None:
        return f"has no renewal time (holder {holder})"
    if expiry > now:
        return None
    return f"expired {ago((now - expiry).total_seconds())} ago (holder {holder})"


def lease_verdict(ref: str, lease: JSON | None, now: dt.datetime) -> str | None:
    """Why a namespace whose run held the Lease ``ref`` may go (``lease`` None: it is gone), or
    None while the Lease is live."""
    if lease is None:
        return f"its run's lease {ref} is gone (the run ended, or its lease was reaped)"
    state = lease_state(lease, now)
    return None if state is None else f"its run's lease {ref} {state}"


def kept_verdict(annotations: Mapping[str, str], now: dt.datetime) -> str | None:
    """Why a kept namespace may go (its expiry has passed), else None."""
    until = parse_time(annotations.get(namespaces.EXPIRES_ANNOTATION))
    if until is None or until > now:
        return None
    late = ago((now - until).total_seconds())
    return f"kept until {namespaces.rfc3339(until)} (--pods-keep-for), expired {late} ago"


class _Leases:
    """The runs' Leases, each read once per plan (None: gone); a read that fails is a problem."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.seen: dict[str, JSON | None] = {}

    def get(self, ref: str) -> JSON | None:
        if ref not in self.seen:
            ns, _, name = ref.partition("/")
            try:
                self.seen[ref] = self.kube.request(
                    "GET", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}"
                )
            except ApiError as exc:
                if exc.status != 404:
                    raise
                self.seen[ref] = None
        return self.seen[ref]


def namespace_verdict(meta: JSON, leases: _Leases, now: dt.datetime, host: str | None = None) -> str | None:
    """Why the test namespace of ``meta`` may be deleted, or None (see the module's rules)."""
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    if labels.get(namespaces.KEPT_LABEL):
        return kept_verdict(annotations, now)
    if namespaces.owner_gone(annotations, host):
        who = annotations.get(namespaces.OWNER_ANNOTATION, "").split(":", 1)[0]
        return f"its maker, process {who} on this host ({host or namespaces.host_name()}), is gone"
    ref = annotations.get(namespaces.LEASE_ANNOTATION)
    if not ref:
        return None  # host-local rule only: another host's, or a live process of this one
    return lease_verdict(ref, leases.get(ref), now)


def plan(kube: Kube, now: dt.datetime | None = None, host: str | None = None) -> Plan:
    """Look at the test namespaces and the runs' Leases; say what may be deleted and why."""
    now = now or dt.datetime.now(dt.UTC)
    found = Plan()
    leases = _Leases(kube)
    listing = kube.request("GET", "/api/v1/namespaces", query={"labelSelector": namespaces.RUN_LABEL})
    live_refs: set[str] = set()
    for ns in listing.get("items") or []:
        meta = ns.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if meta.get("deletionTimestamp"):
            continue
        try:
            why = namespace_verdict(meta, leases, now, host)
        except ApiError as exc:
            found.problems.append(f"namespace {meta.get('name')}: cannot read its run's lease: {exc}")
            why = None
        if why is None:
            if annotations.get(namespaces.LEASE_ANNOTATION):
                live_refs.add(str(annotations[namespaces.LEASE_ANNOTATION]))
            continue
        outside = tuple(namespaces.outside_of(annotations))
        found.doomed.append(Doomed("Namespace", str(meta["name"]), why, outside))
    found.doomed += _expired_leases(kube, now, live_refs, found.problems)
    return found


def _expired_leases(kube: Kube, now: dt.datetime, keep: set[str], problems: list[str]) -> list[Doomed]:
    """The runs' expired Leases that no namespace still lives by."""
    try:
        items = kube.request("GET", LEASES_PATH, query={"labelSelector": namespaces.RUN_LABEL}).get("items")
    except ApiError as exc:
        if exc.status != 404:
            problems.append(f"cannot list the runs' leases: {exc}")
        return []
    out = []
    for lease in items or []:
        name = str((lease.get("metadata") or {}).get("name"))
        ref = f"{LEASE_NAMESPACE}/{name}"
        why = lease_state(lease, now)
        if why is not None and ref not in keep:
            out.append(Doomed("Lease", ref, why))
    return out


def collect(kube: Kube, doomed: Iterable[Doomed]) -> list[Doomed]:
    """Delete, in the background, each of ``doomed`` (a namespace's objects outside it first);
    return those asked for. One that is gone already is no problem."""
    done = []
    for d in doomed:
        if d.kind == "Namespace":
            namespaces.delete_outside(kube, d.outside)
            namespaces.delete(kube, d.name)
        else:
            ns, _, name = d.name.partition("/")
            try:
                kube.request("DELETE", f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}")
            except ApiError as exc:
                if exc.status != 404:
                    raise
        done.append(d)
    return done
