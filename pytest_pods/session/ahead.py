"""The look-ahead: while a test runs, the namespaces of the next tests are made, their manifests
applied, and their pods waited for (Ready that holds included) in a small background pool, so that a
test's setup often only takes an outcome. It knows nothing of pytest: the caller says which tests
come next (:class:`Upcoming`), and :func:`prepare_next` picks the namespaces to prepare."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pytest_pods import namespaces
from pytest_pods.errors import PodsError
from pytest_pods.kube import JSON, Kube
from pytest_pods.markers import ManifestMarker
from pytest_pods.providers.base import ClusterInfo
from pytest_pods.session.namespace import Namespace

PREPARE_AHEAD = 2  # namespaces made and applied ahead of the tests that need them


@dataclass(frozen=True)
class Upcoming:
    """A test ahead that needs a namespace: the node id that owns the namespace (the test's, or its
    scope's), the directory its relative manifest paths are taken from, and its markers."""

    owner: str
    base_dir: Path | None
    markers: Sequence[ManifestMarker]


def prepare_next(
    prepare: Callable[[Upcoming], bool],
    current: str | None,
    upcoming: Iterable[Upcoming | None],
    limit: int = PREPARE_AHEAD,
) -> list[str]:
    """Call ``prepare`` for the namespaces of the tests ahead (in order; ``None``: cannot see past
    this one), skipping the ``current`` owner's and those asked for already, until ``limit`` of them
    were prepared (``prepare`` true). Returns their owners."""
    owners: list[str] = []
    for need in upcoming:
        if need is None:
            break
        if need.owner == current or need.owner in owners:
            continue
        if prepare(need):
            owners.append(need.owner)
            if len(owners) >= limit:
                break
    return owners


class LookAhead:
    """The namespaces made ahead (:attr:`ready`, by :func:`~pytest_pods.session.namespace.namespace_key`)
    and the background pool that waits for them, with a client of its own."""

    def __init__(self, kube: Kube, info: ClusterInfo) -> None:
        self.kube = kube
        self.info = info
        #: Made ahead and not yet taken by a test, by namespace key.
        self.ready: dict[str, Namespace] = {}
        #: Set when the session ends: waits still running in the background stop.
        self.stop = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._kube: Kube | None = None

    def prepare(self, key: str, make: Callable[[], Namespace], markers: Sequence[ManifestMarker]) -> None:
        """Make the namespace of ``key`` with ``make()``, apply its manifests, and start their waits
        in the background. Best effort: a namespace that cannot be made is left for the test's own
        setup to make, and a manifest that fails to apply for its setup to report."""
        try:
            ns = make()
        except PodsError:
            return
        self.ready[key] = ns
        with contextlib.suppress(PodsError):
            ns.apply_ahead(markers, self.in_background)

    def take(self, key: str) -> Namespace | None:
        """The namespace made ahead for ``key``, if any (it is no longer the look-ahead's)."""
        return self.ready.pop(key, None)

    def in_background(
        self, wait: Callable[..., None], objs: list[JSON], timeout: float | None
    ) -> Future[None]:
        """Run ``wait(objs, timeout, stop=self.stop, kube=...)`` in a thread of the session's small
        pool, with a client apart from the tests': the kubernetes client's exec and port-forward swap
        their ``ApiClient``'s request method while they run, so the tests' client is not shared with
        these threads. The background waits only list, watch and read logs, so they share theirs."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pytest-pods-wait")
            self._kube = Kube.from_kubeconfig(self.info.kubeconfig, self.info.context)
        return self._pool.submit(wait, objs, timeout, stop=self.stop, kube=self._kube)

    def close(self) -> None:
        """Delete the namespaces made ahead that no test took (the session ended, or stopped early),
        and end the waits still running in the background (within about a second)."""
        self.stop.set()
        for ns in self.ready.values():
            with contextlib.suppress(PodsError):
                namespaces.delete(self.kube, ns.name)
        self.ready.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._kube is not None:
            self._kube.close()
            self._kube = None
