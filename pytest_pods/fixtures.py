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
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal

import pytest

from pytest_pods import pluginstate
from pytest_pods.errors import ConfigError, PodsError
from pytest_pods.kube import JSON
from pytest_pods.markers import narrowest_scope
from pytest_pods.pluginstate import CLUSTER_KEY, NAMESPACE_KEY, STATE_KEY, usage_error
from pytest_pods.session import (
    Cluster,
    Namespace,
    SharedNamespaces,
    choose_provider,
    cluster_session,
    sigterm_as_interrupt,
)
from pytest_pods.settings import Settings, from_config

if TYPE_CHECKING:
    from pytest_pods.kindcluster import OfflineKindHandle


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
    __tracebackhide__ = True  # a usage error shows its message, not this fixture's source
    try:
        return from_config(request.config, pods_defaults, request.config.stash[STATE_KEY].registry.names())
    except ConfigError as exc:
        raise usage_error(exc) from None


@pytest.fixture(scope="session")
def pods_cluster(request: pytest.FixtureRequest, pods_settings: Settings) -> Iterator[Cluster]:
    """Scope: session. Type: :class:`Cluster`. Default: the cluster of ``--pods-provider`` (auto).

    Started (or reused) once per run; under pytest-xdist all workers share it through a file lock.
    Progress shows through the terminal reporter while it starts.
    """
    __tracebackhide__ = True  # a usage error shows its message, not this fixture's source
    config = request.config
    state = config.stash[STATE_KEY]
    progress = pluginstate.terminal_progress(config)
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
            error = usage_error(exc)
            request.session.shouldstop = str(error).splitlines()[0]
            raise error from None
        progress(
            f"cluster ready in {cluster.start_seconds:.1f}s: {cluster.info.description}, "
            f"Kubernetes {cluster.info.kubernetes_version}"
        )
        config.stash[CLUSTER_KEY] = cluster
        if any(item.get_closest_marker("pods_chart") for item in request.session.items):
            _helm_for_charts(progress)
        yield cluster


def _helm_for_charts(progress: Callable[[str], None]) -> None:
    """Helm's first build (minutes, once), before the tests and with progress, rather than inside a
    namespace made ahead in the background. A failure is left for the chart tests to report."""
    from pytest_pods.render import tools

    try:
        tools.helm(progress=progress)
    except PodsError as exc:
        progress(f"Helm could not be built ({str(exc).splitlines()[0]}): the tests with pods_chart report it")


@pytest.fixture(scope="session")
def pods_kind_cluster(pods_cluster: Cluster) -> OfflineKindHandle:
    """Scope: session. Type: pytest-kind's ``KindCluster``. Default: the session's kind cluster.

    For tests written for pytest-kind: ``kubectl(...)``, ``load_docker_image(...)``,
    ``port_forward(...)`` on the cluster pytest-pods made, offline (it never downloads kind or kubectl)
    and without a ``.pytest-kind/`` directory. Asking for it under another provider is a usage error.
    """
    __tracebackhide__ = True  # a usage error shows its message, not this fixture's source
    from pytest_pods.providers.kind import KindProvider  # pytest-kind is imported only when asked for

    provider = pods_cluster.provider
    if not isinstance(provider, KindProvider):
        name = provider.name if provider is not None else pods_cluster.info.provider
        raise pytest.UsageError(
            f"pods_kind_cluster needs the kind provider, and this run uses {name!r}: "
            "run with --pods-provider=kind"
        )
    return provider.pytest_kind()


def _scope_namespaces(scope: Literal["class", "module", "package", "session"]) -> object:
    """The fixture ``_pods_<scope>_namespaces``: the holder of the namespaces shared at ``scope``.
    pytest itself ends the scope (and so deletes its namespaces) when the last test of the class,
    module, package or session is done; :func:`pods_namespace` names each namespace's owner."""

    @pytest.fixture(scope=scope, name=f"_pods_{scope}_namespaces")
    def holder(pods_cluster: Cluster) -> Iterator[SharedNamespaces]:
        with SharedNamespaces(pods_cluster) as shared:
            yield shared

    return holder


_pods_class_namespaces = _scope_namespaces("class")
_pods_module_namespaces = _scope_namespaces("module")
_pods_package_namespaces = _scope_namespaces("package")
_pods_session_namespaces = _scope_namespaces("session")


@pytest.fixture
def pods_namespace(request: pytest.FixtureRequest, pods_cluster: Cluster) -> Iterator[Namespace]:
    """Scope: function. Type: :class:`Namespace`. Default: a new namespace ``pp-<test>-<random>``
    labelled ``pytest-pods/test``, ``/run`` and ``/worker``, with the test's ``pods_manifest``
    markers applied; deleted in the background after the test unless ``--pods-keep-namespace`` says
    to keep it. With markers of a wider ``scope`` (the narrowest wins), the namespace of that class,
    module, package or session, made and applied at its first test and deleted at the scope's end.
    Relative manifest paths are taken from the test file's directory."""
    item = request.node
    markers = pluginstate.manifest_markers(item)
    scope = narrowest_scope(markers)
    owner = pluginstate.owner(item, scope)
    base_dir = pluginstate.base_dir(item)
    current = None if scope == "package" else owner  # a package scope is not looked ahead
    if scope == "function":
        with pods_cluster.namespace(owner, base_dir=base_dir, markers=markers) as ns:
            item.stash[NAMESPACE_KEY] = ns
            ns.setup(markers)
            pods_cluster.prepare_next(current, pluginstate.upcoming(item))
            yield ns
        pluginstate.record_timings(item, pods_cluster, ns)
        return
    shared: SharedNamespaces = request.getfixturevalue(f"_pods_{scope}_namespaces")
    ns, made = shared.get(owner, markers, base_dir)
    item.stash[NAMESPACE_KEY] = ns
    ns.setup(markers)
    pods_cluster.prepare_next(current, pluginstate.upcoming(item))
    yield ns
    if made:  # the scope's set-up cost is this test's
        pluginstate.record_timings(item, pods_cluster, ns)


@pytest.fixture
def pods_apply(pods_namespace: Namespace) -> Callable[..., list[JSON]]:
    """Scope: function. Type: ``Callable[[manifest, *, wait=False, timeout=None], list[dict]]``.
    Default: :meth:`Namespace.apply` of ``pods_namespace``."""
    return pods_namespace.apply


@pytest.fixture(autouse=True)
def _pods_manifest_marker(request: pytest.FixtureRequest) -> None:
    """Checks each ``pods_manifest`` marker (before any cluster starts) and, if there is one, asks
    for ``pods_namespace``, which applies them."""
    __tracebackhide__ = True  # a wrong marker shows its message, not this fixture's source
    if pluginstate.manifest_markers(request.node):
        request.getfixturevalue("pods_namespace")
