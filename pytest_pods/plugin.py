"""The pytest11 entry point of pytest-pods: hooks and options only (the fixtures live in
:mod:`pytest_pods.fixtures` and are re-exported here so that pytest finds them)."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Generator, Sequence
from typing import Any

import pytest

from pytest_pods import diagnostics, hookspecs, settings
from pytest_pods.errors import PodsError
from pytest_pods.fixtures import (
    CLUSTER_KEY,
    NAMESPACE_KEY,
    PHASE_REPORTS_KEY,
    RUN_ID_KEY,
    keep_namespace,
    make_provider,
    provider_names,
    started_file,
    terminal_progress,
)
from pytest_pods.fixtures import _pods_manifest_marker as _pods_manifest_marker
from pytest_pods.fixtures import pods_apply as pods_apply
from pytest_pods.fixtures import pods_cluster as pods_cluster
from pytest_pods.fixtures import pods_defaults as pods_defaults
from pytest_pods.fixtures import pods_namespace as pods_namespace
from pytest_pods.fixtures import pods_settings as pods_settings
from pytest_pods.providers import make_builtin
from pytest_pods.providers.base import Provider
from pytest_pods.settings import Settings

SETTINGS_KEY = pytest.StashKey[Settings]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_pods_make_provider(name: str, settings: Settings) -> Provider | None:
    """The built-in providers answer after any plugin's."""
    return make_builtin(name, settings)


class _XdistHooks:
    """Hands the run id to each xdist worker, so that every namespace of one run shares it."""

    @staticmethod
    def pytest_configure_node(node: Any) -> None:
        node.workerinput["pytest_pods_run_id"] = node.config.stash[RUN_ID_KEY]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pods_manifest(*manifests, wait=True, timeout=None): apply these manifests (paths relative to the "
        "test file, YAML text or dicts) into the test's namespace, and wait for their pods to be Ready, "
        "before the test runs",
    )
    # Validate the command line and ini now, so that a bad value stops the run before any test.
    config.stash[SETTINGS_KEY] = settings.from_config(config, None, provider_names(config))
    workerinput = getattr(config, "workerinput", None)
    config.stash[RUN_ID_KEY] = (
        str(workerinput["pytest_pods_run_id"])
        if workerinput and "pytest_pods_run_id" in workerinput
        else secrets.token_hex(4)
    )
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "pytest-pods-xdist")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """The provider, the cluster and the Kubernetes version in force."""
    s = config.stash[SETTINGS_KEY]
    try:
        provider, why = make_provider(config, s)
        problem = provider.unavailable()
        cluster = provider.describe() if problem is None else f"cannot work here: {problem}"
    except (PodsError, pytest.UsageError) as exc:
        return [f"pods: provider {s.provider}: cannot work here: {str(exc).splitlines()[0]}"]
    lines = [f"pods: provider {provider.name} ({why}); cluster: {cluster}"]
    extra = settings.describe(s)
    if extra:
        lines.append("pods: " + ", ".join(extra))
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Adds a section per pod of the test's namespace to a failed setup or call report."""
    report: pytest.TestReport = yield
    item.stash.setdefault(PHASE_REPORTS_KEY, {})[report.when] = report
    ns = item.stash.get(NAMESPACE_KEY, None)
    if ns is not None and report.failed and report.when in ("setup", "call"):
        kept = keep_namespace(ns.cluster.settings, item)
        try:
            info = ns.cluster.info
            where = diagnostics.Where(info.kubeconfig, info.context, ns.name, kept)
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
    cluster = config.stash.get(CLUSTER_KEY, None)
    if cluster is None:
        return
    terminalreporter.write_sep("-", "pytest-pods")
    terminalreporter.write_line(
        f"cluster: {cluster.info.description}, Kubernetes {cluster.info.kubernetes_version}, "
        f"ready in {cluster.start_seconds:.1f}s; kubeconfig {cluster.info.kubeconfig}"
    )
    if cluster.namespaces_made:
        spent = ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in sorted(cluster.totals.items()))
        images = f"images {cluster.images_seconds:.1f}s, " if cluster.settings.preload_images else ""
        terminalreporter.write_line(
            f"timings: cluster {cluster.start_seconds:.1f}s, {images}{spent} over {cluster.namespaces_made} "
            "test namespace(s)"
        )
    if cluster.cleanup_problem:
        terminalreporter.write_line(f"cleanup: {cluster.cleanup_problem}", yellow=True)
    for name in cluster.kept:
        terminalreporter.write_line(
            f"kept namespace {name}: kubectl --kubeconfig {cluster.info.kubeconfig} delete namespace {name}"
        )


def _stop_if_started(config: pytest.Config) -> None:
    """With ``--pods-keep-cluster=no``, stop a cluster that this run started (on the controller
    only, after every worker is done)."""
    if getattr(config, "workerinput", None) is not None:
        return
    s = config.stash.get(SETTINGS_KEY, None)
    run_id = config.stash.get(RUN_ID_KEY, None)
    if s is None or run_id is None:
        return
    with contextlib.suppress(OSError):
        (started_file(run_id).parent / f"images-{run_id}").unlink()
    marker = started_file(run_id)
    if not marker.exists():
        return
    try:
        if not s.keep_cluster:
            name = json.loads(marker.read_text()).get("provider", "")
            provider = config.hook.pytest_pods_make_provider(name=name, settings=s)
            if provider is not None:
                provider.stop(terminal_progress(config))
    finally:
        with contextlib.suppress(OSError):
            marker.unlink()


def pytest_unconfigure(config: pytest.Config) -> None:
    _stop_if_started(config)


__all__: Sequence[str] = [
    "pods_apply",
    "pods_cluster",
    "pods_defaults",
    "pods_namespace",
    "pods_settings",
]
