"""What the plugin's hooks and fixtures share, beside the hooks: the run's :class:`PluginState` and
the stash keys, progress lines through the terminal, the one way a configuration mistake is reported
(:func:`usage_error`, which puts the ``pytest-pods: `` prefix on), and what is read from pytest's
items (their ``pods_manifest`` markers, the node that owns their namespace, the tests ahead)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_pods.core.progress import Progress, Stopwatch
from pytest_pods.markers import ManifestMarker, narrowest_scope, validate_pods_chart, validate_pods_manifest
from pytest_pods.providers import Registry
from pytest_pods.session import Cluster, Namespace, Run, Upcoming
from pytest_pods.settings import Settings

PREFIX = "pytest-pods: "


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


def usage_error(problem: object) -> pytest.UsageError:
    """A configuration mistake (a :class:`ConfigError`, a provider that cannot work here), as the one
    ``pytest.UsageError`` the user sees: the only place the ``pytest-pods: `` prefix is put on."""
    return pytest.UsageError(f"{PREFIX}{problem}")


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
            reporter.write_line(f"{PREFIX}{message}")

    return Stopwatch(write)


#: The markers that apply something into the test's namespace, each with its signature.
APPLYING: dict[str, Callable[..., ManifestMarker]] = {
    "pods_manifest": validate_pods_manifest,
    "pods_chart": validate_pods_chart,
}


def manifest_markers(item: pytest.Item) -> list[ManifestMarker]:
    """The item's ``pods_manifest`` and ``pods_chart`` markers, outermost first, in the order they
    are written, checked by the marker's signature."""
    __tracebackhide__ = True
    checked = []
    for marker in reversed([m for m in item.iter_markers() if m.name in APPLYING]):
        try:
            checked.append(APPLYING[marker.name](*marker.args, **marker.kwargs))
        except TypeError as exc:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{marker.name}: {exc}") from None
    return checked


def owner(item: pytest.Item, scope: str) -> str:
    """The one node id that names the namespace of ``item`` at ``scope``: the test's, its class's
    (outside a class, pytest's class scope is the test itself), its module's, or ``session``
    (pytest's package scope of a plugin's fixture is the session)."""
    if scope == "function":
        return item.nodeid
    if scope == "class":
        return (item.getparent(pytest.Class) or item).nodeid
    module = item.getparent(pytest.Module) if scope == "module" else None
    return module.nodeid if module is not None else "session"


def base_dir(item: pytest.Item) -> Path | None:
    """Where the item's relative manifest paths are taken from: its file's directory."""
    return Path(str(item.path)).parent if getattr(item, "path", None) else None


def _upcoming_items(item: pytest.Item) -> Iterator[pytest.Item]:
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


def upcoming(item: pytest.Item) -> Iterator[Upcoming | None]:
    """The namespaces the tests after ``item`` need, for the session's look-ahead; ``None`` where it
    cannot see past a test (a wrong marker, which that test's setup reports; a package scope, which
    is not looked ahead)."""
    for nxt in _upcoming_items(item):
        try:
            markers = manifest_markers(nxt)
        except pytest.UsageError:
            yield None
            return
        if not markers:
            continue
        scope = narrowest_scope(markers)
        if scope == "package":
            yield None
            return
        yield Upcoming(owner(nxt, scope), base_dir(nxt), markers)


def record_timings(item: pytest.Item, cluster: Cluster, ns: Namespace) -> None:
    """The cluster's and the namespace's times, as the test's ``user_properties`` (JUnit XML)."""
    item.user_properties.append(("pods_cluster_seconds", round(cluster.start_seconds, 3)))
    if cluster.settings.preload_images:
        item.user_properties.append(("pods_images_seconds", round(cluster.images_seconds, 3)))
    for phase, seconds in ns.timings.items():
        item.user_properties.append((f"pods_{phase}_seconds", round(seconds, 3)))
