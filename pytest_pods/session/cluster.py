"""The session's cluster: how to reach it and the run it serves (:class:`Cluster`), the namespaces a
scope shares (:class:`SharedNamespaces`), and how a session starts and ends (:func:`cluster_session`,
:class:`Session`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pytest_pods import access, gc, manifests, namespaces
from pytest_pods.core.progress import Progress, silent
from pytest_pods.discovery import Resolver
from pytest_pods.errors import PodsError
from pytest_pods.kube import Kube
from pytest_pods.markers import ManifestMarker
from pytest_pods.providers import Registry, builtin_registry
from pytest_pods.providers.base import ClusterInfo, Provider
from pytest_pods.session.ahead import LookAhead, Upcoming, prepare_next
from pytest_pods.session.lease import RunLease
from pytest_pods.session.ledger import Ledger
from pytest_pods.session.namespace import Namespace, namespace_key
from pytest_pods.session.run import Run, choose_provider, stop_if_started
from pytest_pods.settings import Settings

KEPT_LABEL = namespaces.KEPT_LABEL
DELETE_WAIT_SECONDS = 60.0


@dataclass
class Cluster:
    """The session's cluster: how to reach it, and the run it serves. It makes the namespaces
    (:meth:`namespace`), made ahead by its :attr:`ahead` or when asked for, and records what became
    of them in its :attr:`ledger`."""

    info: ClusterInfo
    kube: Kube
    settings: Settings
    run: Run
    start_seconds: float
    images_seconds: float = 0.0
    #: The provider that made or found the cluster (e.g. for the kind provider's pytest-kind handle).
    provider: Provider | None = field(default=None, repr=False)
    #: What the session did with namespaces, for its report.
    ledger: Ledger = field(default_factory=Ledger)
    resources: manifests.ResourceMap = field(init=False, repr=False)
    #: The namespaces made ahead of the tests that will use them.
    ahead: LookAhead = field(init=False, repr=False)
    _open: set[str] = field(default_factory=set, repr=False)
    #: The run's Lease, ``<namespace>/<name>``, named on every namespace it makes ("" without one:
    #: its namespaces are then reaped by the host-local rule only).
    lease: str = ""
    #: Where its long one-time steps report (Helm's first build): the terminal under pytest.
    progress: Progress = field(default=silent, repr=False)

    def __post_init__(self) -> None:
        self.resources = manifests.ResourceMap(self.kube)
        self.ahead = LookAhead(self.kube, self.info)

    @property
    def resolver(self) -> Resolver:
        """The kinds the cluster serves (one :class:`~pytest_pods.discovery.Resolver`, shared by its
        namespaces: apply, wait_for, workload and cleanup resolve kinds through it)."""
        return self.resources.resolver

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def worker(self) -> str:
        return self.run.worker

    def _create(self, nodeid: str, base_dir: Path | None) -> Namespace:
        if not self.ledger.namespaces_made:  # once, with the first namespace
            try:
                self.check_earlier_deletions()
            except PodsError as exc:
                self.ledger.cleanup_problem = f"could not look for stuck namespace deletions: {exc}"
        name = namespaces.namespace_name(nodeid)
        labels = namespaces.namespace_labels(nodeid, self.run.id, self.run.worker)
        leased = {namespaces.LEASE_ANNOTATION: self.lease} if self.lease else {}
        namespaces.create(self.kube, name, labels, {namespaces.NODEID_ANNOTATION: nodeid, **leased})
        self.ledger.made()
        owner = namespaces.Owner(
            self.kube,
            name,
            {**labels, namespaces.NAMESPACE_LABEL: name},
            {**namespaces.owner_annotations(), **leased},
        )
        return Namespace(
            self.kube,
            name,
            self.info,
            base_dir=base_dir,
            resources=self.resources,
            timeout=self.settings.timeout,
            ready_stable=self.settings.ready_stable,
            keep_namespace=self.settings.keep_namespace,
            owner=owner,
            progress=self.progress,
        )

    def prepare(self, nodeid: str, *, base_dir: Path | None, markers: Sequence[ManifestMarker]) -> bool:
        """Make the namespace that :meth:`namespace` will be asked for next (same arguments), apply
        its manifests, and wait for them (Ready that holds included) in a background thread, so
        that its pods start, and are seen to stay up, while the current test runs; the test's setup
        takes the wait's outcome (:meth:`Namespace.setup`). Best effort: a manifest that fails to
        apply here is left for the test's own setup to report. False if that namespace is open
        already (nothing to prepare)."""
        key = namespace_key(nodeid, base_dir, markers)
        if key in self._open:
            return False
        if key not in self.ahead.ready:
            self.ahead.prepare(key, lambda: self._create(nodeid, base_dir), markers)
        return True

    def prepare_next(self, current: str | None, upcoming: Iterable[Upcoming | None]) -> list[str]:
        """:meth:`prepare` the namespaces of the next tests (see :func:`.ahead.prepare_next`)."""
        return prepare_next(
            lambda need: self.prepare(need.owner, base_dir=need.base_dir, markers=need.markers),
            current,
            upcoming,
        )

    @contextlib.contextmanager
    def namespace(
        self,
        nodeid: str,
        *,
        base_dir: Path | None = None,
        keep: Callable[[], bool] | None = None,
        markers: Sequence[ManifestMarker] = (),
    ) -> Iterator[Namespace]:
        """A fresh namespace for one test (or one scope: ``nodeid`` names it), or the one
        :meth:`prepare` made for these arguments; deleted in the background afterwards unless
        ``keep()`` (by default :meth:`Namespace.kept`: the settings' policy and whether a test that
        used it failed, see :attr:`Namespace.failures`), with what its tests made outside it (its
        :attr:`Namespace.owner`'s objects: deleted first, or kept too). Apply ``markers`` with
        :meth:`Namespace.setup`."""
        key = namespace_key(nodeid, base_dir, markers)
        ns = self.ahead.take(key) or self._create(nodeid, base_dir)
        name = ns.name
        self._open.add(key)
        try:
            yield ns
        finally:
            self._open.discard(key)
            self.ledger.add_timings(ns.timings)
            outside = ns.owner.outside if ns.owner is not None else []
            if keep() if keep is not None else ns.kept():
                self.ledger.kept.append(name)
                until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.settings.keep_for)
                self.ledger.kept_until[name] = namespaces.rfc3339(until)
                namespaces.keep(self.kube, name, until)
                if ns.owner is not None and outside:
                    ns.owner.keep()
                    self.ledger.kept_outside[name] = [o.label for o in outside]
            else:
                try:
                    namespaces.delete_outside(self.kube, outside)
                finally:
                    namespaces.delete(self.kube, name)
                    self.ledger.deleted.add(name)

    def wait_deletions(self, timeout: float = DELETE_WAIT_SECONDS) -> list[str]:
        """Wait (bounded) for the namespaces this session deleted; return those still there. Not done
        at the end of a session: kube-controller-manager holds every namespace deletion 5 s before
        it starts (its namespaceDeletionGracePeriod), so the wait would cost 5 s a run. A deletion that
        is stuck is reported by the next session instead (:meth:`check_earlier_deletions`)."""
        if not self.ledger.deleted:
            return []
        selector = (
            f"{namespaces.RUN_LABEL}={namespaces.label_value(self.run.id)},{namespaces.WORKER_LABEL}="
            f"{namespaces.label_value(self.run.worker)},!{KEPT_LABEL}"
        )
        return namespaces.wait_gone(self.kube, selector, timeout)

    def check_earlier_deletions(self, older_than: float = DELETE_WAIT_SECONDS) -> list[str]:
        """The namespaces of pytest-pods (of any run) still being deleted ``older_than`` seconds after
        their deletion began (e.g. a finalizer that nothing removes); recorded in the ledger's
        ``cleanup_problem``."""
        left = namespaces.stuck(self.kube, f"{namespaces.RUN_LABEL},!{KEPT_LABEL}", older_than)
        if left:
            self.ledger.cleanup_problem = (
                f"namespaces of earlier runs still being deleted after more than {older_than:g}s: "
                f"{', '.join(left)} (`kubectl describe namespace NAME` shows what holds them)"
            )
        return left


class SharedNamespaces:
    """The namespaces shared by the tests of one scope (a class, module, package or the session):
    one per owner and distinct set of manifests, made at its first test and deleted when the scope
    ends (kept per the settings' policy if a test that used it failed). Use it as a context manager."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._made: dict[str, Namespace] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> SharedNamespaces:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(
        self, owner: str, markers: Sequence[ManifestMarker], base_dir: Path | None = None
    ) -> tuple[Namespace, bool]:
        """The namespace of the scope that ``owner`` (a node id) names, for these markers, and whether
        this call made it. It is made empty: call :meth:`Namespace.setup` with the same markers (once
        it is known to the caller, so that a failed setup can still be reported with its pods)."""
        key = namespace_key(owner, base_dir, markers)
        ns = self._made.get(key)
        if ns is not None:
            return ns, False
        ns = self._stack.enter_context(self.cluster.namespace(owner, base_dir=base_dir, markers=markers))
        self._made[key] = ns
        return ns, True

    @property
    def namespaces(self) -> list[Namespace]:
        return list(self._made.values())

    def close(self) -> None:
        """Delete (or keep) every namespace of the scope."""
        self._made.clear()
        self._stack.close()


@contextlib.contextmanager
def cluster_session(
    settings: Settings, provider: Provider, *, run: Run | None = None, progress: Progress = silent
) -> Iterator[Cluster]:
    """Start (or find) the cluster under the run's file lock, load the preload images once per run,
    and yield a :class:`Cluster`. The namespaces it deletes are not waited for (see
    :meth:`Cluster.wait_deletions`); deletions of earlier runs that are stuck are reported."""
    run = run or Run()
    began = time.monotonic()
    with run.lock(f"cluster-{provider.name}"):
        info = provider.start(progress)
        images_began = time.monotonic()
        if settings.preload_images and not run.images_file.exists():
            provider.load_images(settings.preload_images, progress)
            run.images_file.touch()
        images_seconds = time.monotonic() - images_began
        if not info.reused:
            run.mark_started(provider.name)
    kube = Kube.from_kubeconfig(info.kubeconfig, info.context)
    try:
        access.check(kube)  # a missing permission: one error now, not a 403 in every test
    except BaseException:
        kube.close()
        raise
    lease = RunLease(kube, run)
    took = time.monotonic() - began
    cluster = Cluster(info, kube, settings, run, took, images_seconds, provider=provider, progress=progress)
    ledger = cluster.ledger
    try:
        ledger.lease_problem = lease.acquire()
        cluster.lease = "" if ledger.lease_problem else lease.ref
        if ledger.lease_problem:
            progress(ledger.lease_problem)
        reap(cluster, progress)
        yield cluster
    finally:
        try:
            cluster.ahead.close()
        finally:
            try:
                lease.release()
            finally:
                kube.close()


def reap(cluster: Cluster, progress: Progress = silent) -> None:
    """Delete what ``pytest-pods gc`` would (namespaces of runs that are over, kept ones expired, the
    runs' expired Leases); record it in the ledger. A failure is a clean-up problem, not an error."""
    ledger = cluster.ledger
    try:
        found = gc.plan(cluster.kube)
        gc.collect(cluster.kube, found.doomed)
    except PodsError as exc:
        ledger.cleanup_problem = f"could not look for namespaces of runs that are gone: {exc}"
        return
    ledger.reaped = found.namespaces
    if ledger.reaped:
        progress(
            f"deleting {len(ledger.reaped)} namespace(s) of runs that are gone: {', '.join(ledger.reaped)}"
        )


class Session:
    """A whole session without pytest, in one object: ``with Session(settings) as cluster:`` chooses
    the provider of ``settings`` (by default ``auto``), starts (or finds) its cluster, and yields the
    :class:`Cluster`; on the way out it deletes the namespaces made ahead, and ends the run (with
    ``keep_cluster=False``, stops a cluster it started; see :func:`stop_if_started`).

    ``registry`` (default: the built-in providers), ``run`` (default: a new one) and ``progress``
    (default: silent) are there to be replaced. After entering, :attr:`provider` and :attr:`why` say
    which provider was chosen and why."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        registry: Registry | None = None,
        run: Run | None = None,
        progress: Progress = silent,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        self.registry = registry if registry is not None else builtin_registry()
        self.run = run if run is not None else Run()
        self.progress = progress
        self.provider: Provider | None = None
        self.why = ""
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Cluster:
        try:
            self.provider, self.why = choose_provider(self.settings, self.registry, self.run)
            self.progress(f"provider {self.provider.name} ({self.why})")
            return self._stack.enter_context(
                cluster_session(self.settings, self.provider, run=self.run, progress=self.progress)
            )
        except BaseException:
            stop_if_started(self.run, self.registry, self.settings, self.progress)
            raise

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._stack.close()
        finally:
            stop_if_started(self.run, self.registry, self.settings, self.progress)
