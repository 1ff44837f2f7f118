"""The pytest11 entry point of pytest-pods: hooks and options only (the fixtures live in
:mod:`pytest_pods.fixtures` and are re-exported here so that pytest finds them; what hooks and
fixtures share lives beside them in :mod:`pytest_pods.pluginstate`; the session's logic lives in
:mod:`pytest_pods.session`, which knows nothing of pytest).

Nothing here probes the machine: the provider is chosen, and the cluster started, at the first
pods fixture, so a session that uses none pays nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_pods import diagnostics, hookspecs, labitems, settings
from pytest_pods.errors import ConfigError, PodsError
from pytest_pods.fixtures import _pods_class_namespaces as _pods_class_namespaces
from pytest_pods.fixtures import _pods_manifest_marker as _pods_manifest_marker
from pytest_pods.fixtures import _pods_module_namespaces as _pods_module_namespaces
from pytest_pods.fixtures import _pods_package_namespaces as _pods_package_namespaces
from pytest_pods.fixtures import _pods_session_namespaces as _pods_session_namespaces
from pytest_pods.fixtures import pods_apply as pods_apply
from pytest_pods.fixtures import pods_cluster as pods_cluster
from pytest_pods.fixtures import pods_defaults as pods_defaults
from pytest_pods.fixtures import pods_kind_cluster as pods_kind_cluster
from pytest_pods.fixtures import pods_namespace as pods_namespace
from pytest_pods.fixtures import pods_settings as pods_settings
from pytest_pods.pluginstate import (
    CLUSTER_KEY,
    NAMESPACE_KEY,
    NEXT_ITEM_KEY,
    STATE_KEY,
    PluginState,
    terminal_progress,
    usage_error,
)
from pytest_pods.providers import AUTO, BUILTIN, ProviderFactory, builtin_registry
from pytest_pods.session import Run, default_state_dir, new_run_id, stop_if_started


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)
    labitems.add_options(parser)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A lab's markdown under ``--pods-labs`` (see :mod:`pytest_pods.labitems`)."""
    return labitems.collect_file(file_path, parent)


@pytest.hookimpl(trylast=True)
def pytest_pods_providers() -> Mapping[str, ProviderFactory]:
    """The built-in providers (a plugin's provider of the same name wins)."""
    return BUILTIN


class _XdistHooks:
    """Hands the run (id and state directory) to each xdist worker, so that every namespace of one
    run shares the id, and the workers share one cluster lock and one choice of provider."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        run = node.config.stash[STATE_KEY].run
        node.workerinput["pytest_pods_run_id"] = run.id
        node.workerinput["pytest_pods_state_dir"] = str(run.state_dir)


MARKERS = (
    "pods_manifest(*manifests, wait=True, timeout=None, scope='function'): apply these manifests "
    "(paths relative to the test file, YAML text or dicts) into the test's namespace, and wait for "
    "their pods to be Ready, before the test runs; scope='class', 'module', 'package' or 'session' "
    "shares one namespace, applied once, among the tests of that scope",
    "pods_chart(chart, release=None, values=None, values_files=(), set=None, wait=True, timeout=None, "
    "scope='function'): render this Helm chart (a directory or .tgz, relative to the test file) with "
    "helm template for the test's namespace and cluster, apply it and wait for it, before the test runs",
    "cluster: the test needs a real Kubernetes cluster (pytest-pods' own marker for such tests: "
    "select them with -m cluster, or leave them out with -m 'not cluster')",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:  # every marker the plugin knows, so that --strict-markers accepts them
        config.addinivalue_line("markers", marker)
    # later answers first: pluggy calls the trylast built-ins last, so the first plugin wins
    registry = builtin_registry(reversed(config.hook.pytest_pods_providers()))
    # Validate the command line and ini now, so that a bad value stops the run before any test.
    try:
        checked = settings.from_config(config, None, registry.names())
    except ConfigError as exc:
        raise usage_error(exc) from None
    workerinput: Mapping[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput and "pytest_pods_run_id" in workerinput:
        run = Run(
            str(workerinput["pytest_pods_run_id"]),
            str(workerinput["workerid"]),
            Path(workerinput["pytest_pods_state_dir"]),
        )
    else:
        run = Run(new_run_id(), "main", default_state_dir())
    config.stash[STATE_KEY] = PluginState(run, registry, checked)
    labitems.configure(config)
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "pytest-pods-xdist")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The provider and the cluster that will be used, from the settings alone (no probing)."""
    state = config.stash[STATE_KEY]
    s = state.settings
    if s.provider == AUTO:
        lines = [f"pods: provider auto ({state.registry.describe_auto()})"]
    else:
        try:
            cluster = state.registry.make(s.provider, s).describe()
        except (PodsError, pytest.UsageError) as exc:
            cluster = f"cannot work here: {str(exc).splitlines()[0]}"
        lines = [f"pods: provider {s.provider}; cluster: {cluster}"]
    extra = settings.describe(s)
    if extra:
        lines.append("pods: " + ", ".join(extra))
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """Remembers the next test, so that its namespace can be prepared while this one runs."""
    item.stash[NEXT_ITEM_KEY] = nextitem
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Adds a section per pod of the test's namespace (its own, or the one it shares) to a failed
    setup or call report, and records the failure on the namespace (which decides keeping it)."""
    report: pytest.TestReport = yield
    labitems.add_report(item, report)
    ns = item.stash.get(NAMESPACE_KEY, None)
    if ns is not None and report.failed and report.when in ("setup", "call"):
        ns.failures.append(item.nodeid)
        kept = ns.kept()
        try:
            info = ns.info
            where = diagnostics.KubectlCommands(info.kubeconfig, info.context, ns.name, kept)
            sections = diagnostics.collect(ns.kube, where)
        except Exception as exc:  # a report must never hide the test's own failure
            sections = [
                (f"namespace {ns.name}", f"could not collect diagnostics: {type(exc).__name__}: {exc}")
            ]
        if not sections:
            sections = [(f"namespace {ns.name}", "no pods in the test's namespace")]
        for title, text in sections:
            report.sections.append((f"pods: {title}", text))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    labitems.summary(terminalreporter)
    cluster = config.stash.get(CLUSTER_KEY, None)
    if cluster is None:
        state = config.stash.get(STATE_KEY, None)  # an xdist controller: what its workers left to say
        problem = state.run.lease_problem_file if state is not None else None
        if problem is not None and problem.exists():
            terminalreporter.write_sep("-", "pytest-pods")
            terminalreporter.write_line(f"lease: {problem.read_text()}", yellow=True)
        return
    terminalreporter.write_sep("-", "pytest-pods")
    terminalreporter.write_line(
        f"cluster: {cluster.info.description}, Kubernetes {cluster.info.kubernetes_version}, "
        f"ready in {cluster.start_seconds:.1f}s; kubeconfig {cluster.info.kubeconfig}"
    )
    ledger = cluster.ledger
    if ledger.namespaces_made:
        spent = ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in sorted(ledger.totals.items()))
        images = f"images {cluster.images_seconds:.1f}s, " if cluster.settings.preload_images else ""
        terminalreporter.write_line(
            f"timings: cluster {cluster.start_seconds:.1f}s, {images}{spent} over {ledger.namespaces_made} "
            "test namespace(s)"
        )
    if ledger.cleanup_problem:
        terminalreporter.write_line(f"cleanup: {ledger.cleanup_problem}", yellow=True)
    if ledger.lease_problem:
        terminalreporter.write_line(f"lease: {ledger.lease_problem}", yellow=True)
    for name in ledger.kept:
        where = diagnostics.KubectlCommands(cluster.info.kubeconfig, cluster.info.context, name, True)
        until = ledger.kept_until.get(name)
        expiry = f" until {until} (--pods-keep-for; then `pytest-pods gc` deletes it)" if until else ""
        terminalreporter.write_line(
            f"kept namespace {name}{expiry}: {where.kubectl('get', 'all,events')}; "
            f"kubectl --kubeconfig {cluster.info.kubeconfig} delete namespace {name}"
        )
        if ledger.kept_outside.get(name):
            outside = ", ".join(ledger.kept_outside[name])
            terminalreporter.write_line(f"  kept with it, what its tests made outside it: {outside}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """With ``--pods-keep-cluster=no``, stop a cluster that this run started (on the controller
    only, after every worker is done); forget the run's marker files."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or getattr(config, "workerinput", None) is not None:
        return
    stop_if_started(state.run, state.registry, state.settings, terminal_progress(config))


__all__: Sequence[str] = [
    "pods_apply",
    "pods_cluster",
    "pods_defaults",
    "pods_namespace",
    "pods_settings",
]
