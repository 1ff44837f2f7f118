"""Kinds, resolved from the API server's discovery as kubectl resolves them: one :class:`Resolver`
per cluster, giving a :class:`Resource` (group, version, kind, plural, scope) for a Kind, a plural,
a singular, a short name or ``resource.group`` (``deployments.apps``, ``deploy``, ``Deployment``),
built-in kinds and custom resources alike.

Discovery is the plain one: ``/api`` and ``/apis`` name the group versions, each group version's
document lists its resources. The resolver reads it whole on the first name it resolves (a kind by
``apiVersion`` reads that group version alone), keeps it, forgets it when told (a CRD was applied),
and reads it again once on a miss, so that a kind created outside the plugin is found.

How a name is chosen between groups and versions follows kubectl's RESTMapper: the groups in the
order discovery gives them (the core group first; the API server orders the rest by priority), and
in a group its preferred version when that version serves the resource, else the first that does.
A name is matched against the Kind (exactly, then without case), the plural, the singular and the
short names of every resource; ``name.group`` (or ``name.version.group``) limits it to a group.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pytest_pods.errors import ApiError, UnknownKindError
from pytest_pods.kube import JSON, Kube


@dataclass(frozen=True)
class Resource:
    """One resource the cluster serves: where it lives in the API and what it is called."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """``v1`` or ``apps/v1``, as an object's ``apiVersion`` says it."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` (``pods`` in the core group), as kubectl names it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def names(self) -> tuple[str, ...]:
        """Every lower-case name it answers to: plural, singular, kind and short names."""
        return tuple(
            dict.fromkeys(
                [self.plural, self.singular or self.kind.lower(), self.kind.lower(), *self.short_names]
            )
        )

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The API path of its collection (in ``namespace`` when it is namespaced and one is given;
        across namespaces else), or of one object of it."""
        prefix = f"/apis/{self.api_version}" if self.group else f"/api/{self.version}"
        where = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{prefix}{where}/{self.plural}" + (f"/{name}" if name else "")


#: The core group's Pods (the waits read pods by it; every cluster serves it so).
POD = Resource("", "v1", "Pod", "pods", True, "pod", ("po",))


def resources_of(group: str, version: str, listing: JSON) -> list[Resource]:
    """The resources of one group version's discovery document (subresources left out). Pure."""
    out = []
    for r in listing.get("resources") or []:
        name = str(r.get("name", ""))
        if not name or "/" in name:
            continue
        out.append(
            Resource(
                group=str(r.get("group") or group),
                version=str(r.get("version") or version),
                kind=str(r.get("kind", "")),
                plural=name,
                namespaced=bool(r.get("namespaced")),
                singular=str(r.get("singularName") or ""),
                short_names=tuple(str(s) for s in r.get("shortNames") or ()),
            )
        )
    return out


@dataclass(frozen=True)
class Group:
    """One API group as discovery lists it: its versions, the preferred one first."""

    name: str
    versions: tuple[str, ...]


def groups_of(core: JSON, apis: JSON) -> list[Group]:
    """The groups of ``/api`` and ``/apis``, in discovery's order (the core group first), each with
    its preferred version first. Pure."""
    out = [Group("", tuple(str(v) for v in core.get("versions") or ()))]
    for g in apis.get("groups") or []:
        versions = [str(v.get("version")) for v in g.get("versions") or []]
        preferred = str((g.get("preferredVersion") or {}).get("version") or (versions[0] if versions else ""))
        ordered = [preferred, *(v for v in versions if v != preferred)] if preferred else versions
        out.append(Group(str(g.get("name", "")), tuple(ordered)))
    return out


def choose(name: str, served: Iterable[Resource]) -> list[Resource]:
    """Every resource ``name`` may mean, best first, one per group: kubectl's order of groups (that
    of ``served``), and in a group the first version of ``served`` that has it (the preferred one,
    as :meth:`Resolver.served` lists them). ``name.group`` and ``name.version.group`` keep to that
    group; a Kind matches exactly before it matches without case. Pure."""
    served = list(served)
    wanted: list[tuple[str, str | None, str | None]] = [(name, None, None)]
    head, _, rest = name.partition(".")
    if rest:
        ver, _, grp = rest.partition(".")
        wanted = [(head, rest, None), (head, grp, ver), *wanted]
    for base, group, version in wanted:
        low = base.lower()
        for exact in (True, False):
            found: dict[str, Resource] = {}
            for r in served:
                if group is not None and r.group != group:
                    continue
                if version is not None and r.version != version:
                    continue
                hit = r.kind == base if exact else low in r.names()
                if hit and r.group not in found:
                    found[r.group] = r
            if found:
                return list(found.values())
    return []


def preferred(found: Sequence[Resource], groups: Iterable[str]) -> Resource:
    """Of the resources a name may mean (best first, see :func:`choose`), the one of the first of
    ``groups`` that has one, else the best. Pure."""
    by_group = {r.group: r for r in found}
    return next((by_group[g] for g in groups if g in by_group), found[0])


def near(name: str, served: Iterable[Resource], n: int = 5) -> list[str]:
    """The resources the cluster serves that look like ``name``, closest first, each as
    ``Kind (plural.group)`` (for an error). Pure."""
    low = name.lower()
    scored: dict[str, float] = {}
    for r in served:
        score = max(difflib.SequenceMatcher(None, low, alias).ratio() for alias in (*r.names(), r.qualified))
        label = f"{r.kind} ({r.qualified})"
        if score >= 0.6 and score > scored.get(label, 0.0):
            scored[label] = score
    return sorted(scored, key=lambda label: -scored[label])[:n]


@dataclass
class Resolver:
    """The kinds one cluster serves, from its discovery, kept until :meth:`forget` (or a miss)
    reads it again. One per :class:`pytest_pods.session.Cluster`, shared by its namespaces and
    threads (each may pass its own ``kube``)."""

    kube: Kube
    _groups: list[Group] | None = field(default=None, repr=False)
    _versions: dict[str, list[Resource]] = field(
        default_factory=dict, repr=False
    )  # apiVersion -> its resources
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def forget(self, api_version: str | None = None) -> None:
        """Read discovery again at the next resolution (a CRD was applied, or deleted): all of it, or
        what it said of ``api_version`` (and the list of groups)."""
        with self._lock:
            self._groups = None
            if api_version is None:
                self._versions.clear()
            else:
                self._versions.pop(api_version, None)

    def _version(self, api_version: str, kube: Kube) -> list[Resource]:
        """One group version's resources (``[]`` when the cluster does not serve it)."""
        with self._lock:
            if api_version not in self._versions:
                group, _, version = api_version.rpartition("/")
                path = f"/apis/{api_version}" if group else f"/api/{version}"
                try:
                    listing = kube.request("GET", path)
                except ApiError as exc:
                    if exc.status not in (404, 503):  # 503: an aggregated API that is down
                        raise
                    listing = {}
                self._versions[api_version] = resources_of(group, version, listing)
            return self._versions[api_version]

    def served(self, kube: Kube | None = None) -> list[Resource]:
        """Every resource the cluster serves, in kubectl's order of preference (see :func:`choose`)."""
        kube = kube or self.kube
        with self._lock:
            if self._groups is None:
                self._groups = groups_of(kube.request("GET", "/api"), kube.request("GET", "/apis"))
            out: list[Resource] = []
            for g in self._groups:
                for v in g.versions:
                    try:
                        out += self._version(f"{g.name}/{v}" if g.name else v, kube)
                    except ApiError as exc:
                        if exc.status == 0:  # no answer at all: not a group version's fault
                            raise
                        # one group version that fails (forbidden, an API that is down) leaves
                        # the others resolvable, as kubectl's discovery does
            return out

    def resolve(self, name: str, *, kube: Kube | None = None, prefer: Iterable[str] = ()) -> Resource:
        """The resource ``name`` means (a Kind, a plural, a singular, a short name, or any of them
        ``.group``); :class:`UnknownKindError` listing near matches if the cluster serves none, after
        reading discovery once more. A name that several groups serve means the one of the first
        ``prefer`` group that serves it (a test's ``gadget`` is the Gadget of the CRD it applied, not
        one of the same name another run left), else kubectl's choice."""
        for attempt in range(2):
            found = choose(name, self.served(kube))
            if found:
                return preferred(found, prefer)
            if attempt == 0:
                self.forget()
        raise UnknownKindError(name, near(name, self.served(kube)))

    def kind(self, api_version: str, kind: str, *, kube: Kube | None = None) -> Resource | None:
        """The resource of ``kind`` in ``api_version`` (an object's own), or None if the cluster
        does not serve it (after reading that group version once more)."""
        kube = kube or self.kube
        for attempt in range(2):
            for r in self._version(api_version, kube):
                if r.kind == kind:
                    return r
            if attempt == 0:
                with self._lock:
                    self._versions.pop(api_version, None)
                    self._groups = None
        return None

    def serves(self, api_version: str, *, kube: Kube | None = None) -> bool:
        """Whether the cluster serves ``api_version`` (as last read)."""
        return bool(self._version(api_version, kube or self.kube))

    def of(self, obj: Mapping[str, object], *, kube: Kube | None = None) -> Resource | None:
        """The resource of an object (by its ``apiVersion`` and ``kind``)."""
        return self.kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")), kube=kube)

    def path(self, resource: Resource, namespace: str | None = None, name: str | None = None) -> str:
        """See :meth:`Resource.path`."""
        return resource.path(namespace, name)
