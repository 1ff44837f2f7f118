"""Fixtures, as thin wrappers over context managers that also work outside pytest.

=====================  ========  ===========================  ===================================
fixture                scope     type                         default / what it gives
=====================  ========  ===========================  ===================================
``pods_defaults``      session   ``dict[str, object]``        ``{}``: the lowest settings layer;
                                                              override it in a conftest.py
``pods_settings``      session   :class:`Settings`            options > ini > ``pods_defaults``
``pods_cluster``       session   :class:`Cluster`             the one cluster of the run (shared by
                                                              xdist workers through a file lock)
``pods_kind_cluster``  session   ``pytest_kind.KindCluster``  pytest-kind's handle of the kind
                                                              cluster (``--pods-provider=kind``)
``pods_namespace``     function  :class:`Namespace`           a fresh, labelled namespace, or the
                                                              one of the class/module/package/session
                                                              of the test's ``pods_manifest(scope=)``
``pods_apply``         function  ``Callable[..., list]``      ``pods_namespace.apply``
=====================  ========  ===========================  ===================================
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_pods.core.progress import Progress, Stopwatch
from pytest_pods.errors import ConfigError, PodsError
from pytest_pods.kube import JSON
from pytest_pods.markers import ManifestMarker, narrowest_scope, validate_pods_manifest
from pytest_pods.providers import Registry
from pytest_pods.session import (
    Cluster,
    Namespace,
    Run,
    SharedNamespaces,
    choose_provider,
    cluster_session,
    sigterm_as_interrupt,
)
from pytest_pods.settings import Settings, from_config

if TYPE_CHECKING:
    from pytest_pods.kindcluster import OfflineKindHandle


@dataclass(frozen=True)
class PluginState:
    """What pytest_configure decided for the whole session: the run and the provider registry."""

    run: Run
    registry: Registry
    settings: Settings


STATE_KEY = pytest.StashKey[PluginState]()
CLUSTER_KEY = pytest.StashKey[Cluster]()
NAMESPACE_KEY = pytest.StashKey[Namespace]()
NEXT_ITEM_KEY = pytest.StashKey["pytest.Item | None"]()
ITEM_INDEX_KEY = pytest.StashKey[dict[int, int]]()
LOOK_AHEAD_ITEMS = 50  # how far ahead to look for the next namespaces to prepare
PREPARE_AHEAD = 2  # namespaces made and applied ahead of the tests that need them


def terminal_progress(config: pytest.Config) -> Progress:
    """Progress lines through the terminal reporter, with the time since the first one; capture
    is suspended while writing, so the lines show even inside a test's setup."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(message: str) -> None:
        if reporter is None:
            return
        ctx = capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext()
        with ctx:
            reporter.write_line(f"pytest-pods: {message}")

    return Stopwatch(write)


@pytest.fixture(scope="session")
def pods_defaults() -> dict[str, object]:
    """Scope: session. Type: ``dict[str, object]``. Default: ``{}``.

    The lowest layer of settings, under the ini file and the command line. Override it in a
    conftest.py, e.g. ``return {"timeout": 300, "keep_namespace": "on-failure"}``; keys are the
    fields of :class:`~pytest_pods.settings.Settings`.
    """
    return {}


@pytest.fixture(scope="session")
def pods_settings(request: pytest.FixtureRequest, pods_defaults: dict[str, object]) -> Settings:
    """Scope: session. Type: :class:`~pytest_pods.settings.Settings`. Default: built from the
    ``--pods-...`` options, then the ini keys, then ``pods_defaults``."""
    try:
        return from_config(request.config, pods_defaults, request.config.stash[STATE_KEY].registry.names())
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def pods_cluster(request: pytest.FixtureRequest, pods_settings: Settings) -> Iterator[Cluster]:
    """Scope: session. Type: :class:`Cluster`. Default: the cluster of ``--pods-provider`` (auto).

    Started (or reused) once per run; under pytest-xdist all workers share it through a file lock.
    Progress shows through the terminal reporter while it starts.
    """
    config = request.config
    state = config.stash[STATE_KEY]
    progress = terminal_progress(config)
    with contextlib.ExitStack() as stack:
        stack.enter_context(sigterm_as_interrupt())  # a terminated run deletes its namespaces too
        try:
            provider, why = choose_provider(pods_settings, state.registry, state.run)
            progress(f"provider {provider.name} ({why}): starting the cluster")
            cluster = stack.enter_context(
                cluster_session(pods_settings, provider, run=state.run, progress=progress)
            )
        except (PodsError, pytest.UsageError) as exc:
            # One error for the mistake, not one per test: stop the session after this test.
            message = str(exc).removeprefix("pytest-pods: ")
            request.session.shouldstop = f"pytest-pods: {message.splitlines()[0]}"
            raise pytest.UsageError(f"pytest-pods: {message}") from None
        progress(
            f"cluster ready in {cluster.start_seconds:.1f}s: {cluster.info.description}, "
            f"Kubernetes {cluster.info.kubernetes_version}"
        )
        config.stash[CLUSTER_KEY] = cluster
        yield cluster


@pytest.fixture(scope="session")
def pods_kind_cluster(pods_cluster: Cluster) -> OfflineKindHandle:
    """Scope: session. Type: pytest-kind's ``KindCluster``. Default: the session's kind cluster.

    For tests written for pytest-kind: ``kubectl(...)``, ``load_docker_image(...)``,
    ``port_forward(...)`` on the cluster pytest-pods made, offline (it never downloads kind or kubectl)
    and without a ``.pytest-kind/`` directory. Asking for it under another provider is a usage error.
    """
    from pytest_pods.providers.kind import KindProvider  # pytest-kind is imported only when asked for

    provider = pods_cluster.provider
    if not isinstance(provider, KindProvider):
        name = provider.name if provider is not None else pods_cluster.info.provider
        raise pytest.UsageError(
            f"pods_kind_cluster needs the kind provider, and this run uses {name!r}: "
            "run with --pods-provider=kind"
        )
    return provider.pytest_kind()


def _markers(item: pytest.Item) -> list[ManifestMarker]:
    """The item's ``pods_manifest`` markers, outermost first, checked by the marker's signature."""
    checked = []
    for marker in reversed(list(item.iter_markers("pods_manifest"))):
        try:
            checked.append(validate_pods_manifest(*marker.args, **marker.kwargs))
        except TypeError as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.pods_manifest: {exc}") from None
    return checked


def _shared_namespaces(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[SharedNamespaces]:
    scope_id = request.node.nodeid or "session"
    with SharedNamespaces(cluster, scope_id) as shared:
        yield shared


# One holder of shared namespaces per pytest scope: pytest itself ends the scope (and so deletes
# its namespaces) when the last test of the class, module, package or session is done.
@pytest.fixture(scope="class")
def _pods_class_namespaces(
    request: pytest.FixtureRequest, pods_cluster: Cluster
) -> Iterator[SharedNamespaces]:
    yield from _shared_namespaces(request, pods_cluster)


@pytest.fixture(scope="module")
def _pods_module_namespaces(
    request: pytest.FixtureRequest, pods_cluster: Cluster
) -> Iterator[SharedNamespaces]:
    yield from _shared_namespaces(request, pods_cluster)


@pytest.fixture(scope="package")
def _pods_package_namespaces(
    request: pytest.FixtureRequest, pods_cluster: Cluster
) -> Iterator[SharedNamespaces]:
    yield from _shared_namespaces(request, pods_cluster)


@pytest.fixture(scope="session")
def _pods_session_namespaces(
    request: pytest.FixtureRequest, pods_cluster: Cluster
) -> Iterator[SharedNamespaces]:
    yield from _shared_namespaces(request, pods_cluster)


@pytest.fixture
def pods_namespace(request: pytest.FixtureRequest, pods_cluster: Cluster) -> Iterator[Namespace]:
    """Scope: function. Type: :class:`Namespace`. Default: a new namespace ``pp-<test>-<random>``
    labelled ``pytest-pods/test``, ``/run`` and ``/worker``, with the test's ``pods_manifest``
    markers applied; deleted in the background after the test unless ``--pods-keep-namespace`` says
    to keep it. With markers of a wider ``scope`` (the narrowest wins), the namespace of that class,
    module, package or session, made and applied at its first test and deleted at the scope's end.
    Relative manifest paths are taken from the test file's directory."""
    item = request.node
    markers = _markers(item)
    scope = narrowest_scope(markers)
    base_dir = Path(str(item.path)).parent if getattr(item, "path", None) else None
    if scope == "function":
        with pods_cluster.namespace(item.nodeid, base_dir=base_dir, markers=markers) as ns:
            item.stash[NAMESPACE_KEY] = ns
            ns.setup(markers)
            _prepare_next(item, pods_cluster, _owner(item, scope))
            yield ns
        _timings(item, pods_cluster, ns)
        return
    shared: SharedNamespaces = request.getfixturevalue(f"_pods_{scope}_namespaces")
    ns, made = shared.get(markers, base_dir)
    item.stash[NAMESPACE_KEY] = ns
    ns.setup(markers)
    _prepare_next(item, pods_cluster, _owner(item, scope))
    yield ns
    if made:  # the scope's set-up cost is this test's
        _timings(item, pods_cluster, ns)


def _owner(item: pytest.Item, scope: str) -> str | None:
    """The node id that names the namespace of ``item`` at ``scope`` (as the scope's fixture sees it)."""
    if scope == "session":
        return "session"
    if scope == "function":
        return item.nodeid
    if scope == "class":  # outside a class, pytest's class scope is the test itself
        return (item.getparent(pytest.Class) or item).nodeid
    module = item.getparent(pytest.Module) if scope == "module" else None
    return module.nodeid if module is not None else None  # package: not looked ahead


def _upcoming(item: pytest.Item) -> Iterator[pytest.Item]:
    """The tests this process will run after ``item``, as far as it knows: the rest of the session's
    items when it runs them all; under pytest-xdist only the next one (the others may go elsewhere)."""
    if getattr(item.config, "workerinput", None) is not None:
        nxt = item.stash.get(NEXT_ITEM_KEY, None)
        if nxt is not None:
            yield nxt
        return
    items = item.session.items
    index = item.session.stash.setdefault(ITEM_INDEX_KEY, {id(it): i for i, it in enumerate(items)})
    start = index.get(id(item))
    if start is not None:
        yield from itertools.islice(items, start + 1, start + 1 + LOOK_AHEAD_ITEMS)


def _prepare_next(item: pytest.Item, cluster: Cluster, current: str | None) -> None:
    """Start the next namespaces this process will need (other tests', or other scopes'), up to
    :data:`PREPARE_AHEAD` of them, while ``item`` runs: made, applied and waited for in the
    background; that test's own setup takes the outcome."""
    owners: set[str] = set()
    for upcoming in _upcoming(item):
        try:
            markers = _markers(upcoming)
        except pytest.UsageError:
            return  # its own setup reports it
        if not markers:
            continue
        scope = narrowest_scope(markers)
        owner = _owner(upcoming, scope)
        if owner is None:
            return
        if owner == current or owner in owners:
            continue
        base_dir = Path(str(upcoming.path)).parent if getattr(upcoming, "path", None) else None
        if cluster.prepare(owner, base_dir=base_dir, markers=markers):
            owners.add(owner)
            if len(owners) >= PREPARE_AHEAD:
                return


def _timings(item: pytest.Item, cluster: Cluster, ns: Namespace) -> None:
    item.user_properties.append(("pods_cluster_seconds", round(cluster.start_seconds, 3)))
    if cluster.settings.preload_images:
        item.user_properties.append(("pods_images_seconds", round(cluster.images_seconds, 3)))
    for phase, seconds in ns.timings.items():
        item.user_properties.append((f"pods_{phase}_seconds", round(seconds, 3)))


@pytest.fixture
def pods_apply(pods_namespace: Namespace) -> Callable[..., list[JSON]]:
    """Scope: function. Type: ``Callable[[manifest, *, wait=False, timeout=None], list[dict]]``.
    Default: :meth:`Namespace.apply` of ``pods_namespace``."""
    return pods_namespace.apply


@pytest.fixture(autouse=True)
def _pods_manifest_marker(request: pytest.FixtureRequest) -> None:
    """Checks each ``pods_manifest`` marker (before any cluster starts) and, if there is one, asks
    for ``pods_namespace``, which applies them."""
    if _markers(request.node):
        request.getfixturevalue("pods_namespace")
