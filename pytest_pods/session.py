"""The session layer, without pytest: a run, its cluster, and a namespace per test, or one shared by
the tests of a wider scope (:class:`SharedNamespaces`).

A plain script drives a whole session with it (see ``examples/session_without_pytest.py``)::

    run = Run()
    provider, why = choose_provider(Settings(provider="local"), REGISTRY, run)
    with cluster_session(Settings(), provider, run=run) as cluster:
        with cluster.namespace("my-check") as ns:
            ns.apply("pod.yaml", wait=True)
    stop_if_started(run, REGISTRY, Settings(keep_cluster=False))

A :class:`Run` is one run's identity (its id, the xdist worker) and its state directory, shared by
the run's workers and by concurrent runs of the same user: the cluster lock, the "this run started
the cluster" marker, the preload-images marker and the provider chosen for ``auto``. The directory is
injectable (``Run(state_dir=...)``, or ``$PYTEST_PODS_STATE_DIR``); by default it is
``/tmp/pytest-pods-<uid>``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from pytest_pods import manifests, namespaces, waits
from pytest_pods.errors import ApiError, PodsError, ProviderError
from pytest_pods.kube import JSON, Kube
from pytest_pods.localcluster.progress import Progress, silent
from pytest_pods.manifests import ManifestSource
from pytest_pods.markers import ManifestMarker
from pytest_pods.pods import Pod
from pytest_pods.providers import AUTO, Registry
from pytest_pods.providers.base import ClusterInfo, Provider
from pytest_pods.settings import Settings
from pytest_pods.workloads import Workload

STATE_DIR_ENV = "PYTEST_PODS_STATE_DIR"
KEPT_LABEL = namespaces.KEPT_LABEL
DELETE_WAIT_SECONDS = 60.0


def default_state_dir() -> Path:
    """``$PYTEST_PODS_STATE_DIR``, else ``/tmp/pytest-pods-<uid>``."""
    env = os.environ.get(STATE_DIR_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / f"pytest-pods-{os.getuid()}"


def new_run_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class Run:
    """One run: its id (shared by its xdist workers), this process's worker name, and the state
    directory where the run's lock and marker files live."""

    id: str = field(default_factory=new_run_id)
    worker: str = "main"
    state_dir: Path = field(default_factory=default_state_dir)

    def __post_init__(self) -> None:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def lock(self, what: str) -> FileLock:
        """A file lock shared by every process that uses this state directory."""
        return FileLock(str(self.state_dir / f"{what}.lock"))

    @property
    def started_file(self) -> Path:
        """Exists when this run started the cluster (so that ``keep_cluster=False`` may stop it)."""
        return self.state_dir / f"started-{self.id}.json"

    @property
    def images_file(self) -> Path:
        """Exists once this run has loaded its preload images."""
        return self.state_dir / f"images-{self.id}"

    @property
    def choice_file(self) -> Path:
        """The provider this run chose (``auto`` is decided once per run, not per worker)."""
        return self.state_dir / f"provider-{self.id}.json"

    def mark_started(self, provider: str) -> None:
        if not self.started_file.exists():
            self.started_file.write_text(json.dumps({"provider": provider}))

    def started_provider(self) -> str | None:
        """The provider whose cluster this run started, if it started one."""
        try:
            return str(json.loads(self.started_file.read_text()).get("provider") or "") or None
        except (OSError, ValueError):
            return None

    def choose(self, decide: Callable[[], tuple[str, str]]) -> tuple[str, str]:
        """``decide()`` once per run (the first worker to ask decides, the others read its answer)."""
        with self.lock(f"choice-{self.id}"):
            with contextlib.suppress(OSError, ValueError):
                saved = json.loads(self.choice_file.read_text())
                return str(saved["name"]), str(saved["why"])
            name, why = decide()
            self.choice_file.write_text(json.dumps({"name": name, "why": why}))
            return name, why

    def forget(self) -> None:
        """Remove the run's marker files (the run is over)."""
        for path in (self.started_file, self.images_file, self.choice_file):
            with contextlib.suppress(OSError):
                path.unlink()
        with contextlib.suppress(OSError):
            (self.state_dir / f"choice-{self.id}.lock").unlink()


def should_keep(policy: str, failed: bool) -> bool:
    """``--pods-keep-namespace``: keep a namespace ``always``, or ``on-failure`` of a test that used it."""
    return policy == "always" or (policy == "on-failure" and failed)


def choose_provider(settings: Settings, registry: Registry, run: Run) -> tuple[Provider, str]:
    """The provider of these settings and why it was chosen. ``auto`` is decided once per run (by
    the first worker that asks; the answer is known to work here); a provider asked for by name is
    checked. Raises :class:`ProviderError` naming the option to set when it cannot work here."""
    if settings.provider == AUTO:
        name, why = run.choose(lambda: registry.choose_auto(settings))
        return registry.make(name, settings), why
    provider = registry.make(settings.provider, settings)
    problem = provider.unavailable()
    if problem:
        raise ProviderError(f"--pods-provider={settings.provider} cannot work here: {problem}")
    return provider, "asked for"


@dataclass
class Cluster:
    """The session's cluster: how to reach it, and the run it serves."""

    info: ClusterInfo
    kube: Kube
    settings: Settings
    run: Run
    start_seconds: float
    images_seconds: float = 0.0
    resources: manifests.ResourceMap = field(init=False)
    deleted: set[str] = field(default_factory=set)
    kept: list[str] = field(default_factory=list)
    cleanup_problem: str = ""
    reaped: list[str] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)
    namespaces_made: int = 0
    prepared: dict[str, Namespace] = field(default_factory=dict)
    _open: set[str] = field(default_factory=set)
    #: Set when the session ends: waits still running in the background stop.
    stop: threading.Event = field(default_factory=threading.Event)
    _background: ThreadPoolExecutor | None = field(default=None, repr=False)
    _background_kube: Kube | None = field(default=None, repr=False)
    #: The provider that made or found the cluster (e.g. for the kind provider's pytest-kind handle).
    provider: Provider | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.resources = manifests.ResourceMap(self.kube)

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def worker(self) -> str:
        return self.run.worker

    @staticmethod
    def _key(nodeid: str, base_dir: Path | None, markers: Sequence[ManifestMarker]) -> str:
        return repr((nodeid, str(base_dir), [tuple(m) for m in markers]))

    def _create(self, nodeid: str, base_dir: Path | None) -> Namespace:
        if not self.namespaces_made:  # once, with the first namespace
            try:
                self.check_earlier_deletions()
            except PodsError as exc:
                self.cleanup_problem = f"could not look for stuck namespace deletions: {exc}"
        name = namespaces.namespace_name(nodeid)
        labels = namespaces.namespace_labels(nodeid, self.run.id, self.run.worker)
        namespaces.create(self.kube, name, labels, {namespaces.NODEID_ANNOTATION: nodeid})
        self.namespaces_made += 1
        return Namespace(self, name, base_dir)

    def prepare(self, nodeid: str, *, base_dir: Path | None, markers: Sequence[ManifestMarker]) -> bool:
        """Make the namespace that :meth:`namespace` will be asked for next (same arguments), apply
        its manifests, and wait for them (Ready that holds included) in a background thread, so
        that its pods start, and are seen to stay up, while the current test runs; the test's setup
        takes the wait's outcome (:meth:`Namespace.setup`). Best effort: a manifest that fails to
        apply here is left for the test's own setup to report. False if that namespace is open
        already (nothing to prepare)."""
        key = self._key(nodeid, base_dir, markers)
        if key in self._open:
            return False
        if key in self.prepared:
            return True
        try:
            ns = self._create(nodeid, base_dir)
        except PodsError:
            return True
        self.prepared[key] = ns
        with contextlib.suppress(PodsError):
            for marker in markers:
                for source in marker.manifests:
                    key = repr(source)
                    if key not in ns.prepared:
                        ns.prepared[key] = objs = ns.apply(source)
                        if marker.wait:
                            ns.waiting[key] = self.in_background(ns.wait_up, objs, marker.timeout)
        return True

    def in_background(
        self, wait: Callable[..., None], objs: list[JSON], timeout: float | None
    ) -> Future[None]:
        """Run ``wait(objs, timeout, stop=self.stop, kube=...)`` in a thread of the session's small
        pool, with a client apart from the tests': the kubernetes client's exec and port-forward swap
        their ``ApiClient``'s request method while they run, so the tests' client is not shared with
        these threads. The background waits only list, watch and read logs, so they share theirs."""
        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pytest-pods-wait")
            self._background_kube = Kube.from_kubeconfig(self.info.kubeconfig, self.info.context)
        return self._background.submit(wait, objs, timeout, stop=self.stop, kube=self._background_kube)

    def drop_prepared(self) -> None:
        """Delete the prepared namespaces no test asked for (the session ended, or stopped early),
        and end the waits still running in the background (within about a second)."""
        self.stop.set()
        for ns in self.prepared.values():
            with contextlib.suppress(PodsError):
                namespaces.delete(self.kube, ns.name)
        self.prepared.clear()
        if self._background is not None:
            self._background.shutdown(wait=True, cancel_futures=True)
            self._background = None
        if self._background_kube is not None:
            self._background_kube.close()
            self._background_kube = None

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
        ``keep()`` (by default: :func:`should_keep` with the settings' policy and whether a test
        that used it failed, see :attr:`Namespace.failures`). Apply ``markers`` with
        :meth:`Namespace.setup`."""
        key = self._key(nodeid, base_dir, markers)
        ns = self.prepared.pop(key, None) or self._create(nodeid, base_dir)
        name = ns.name
        self._open.add(key)
        try:
            yield ns
        finally:
            self._open.discard(key)
            for phase, seconds in ns.timings.items():
                self.totals[phase] = self.totals.get(phase, 0.0) + seconds
            if keep() if keep is not None else should_keep(self.settings.keep_namespace, bool(ns.failures)):
                self.kept.append(name)
                with contextlib.suppress(ApiError):
                    self.kube.request(
                        "PATCH",
                        f"/api/v1/namespaces/{name}",
                        body={"metadata": {"labels": {KEPT_LABEL: "true"}}},
                        content_type="application/merge-patch+json",
                    )
            else:
                namespaces.delete(self.kube, name)
                self.deleted.add(name)

    def wait_deletions(self, timeout: float = DELETE_WAIT_SECONDS) -> list[str]:
        """Wait (bounded) for the namespaces this session deleted; return those still there. Not done
        at the end of a session: kube-controller-manager holds every namespace deletion 5 s before
        it starts (its namespaceDeletionGracePeriod), so the wait would cost 5 s a run. A deletion that
        is stuck is reported by the next session instead (:meth:`check_earlier_deletions`)."""
        if not self.deleted:
            return []
        selector = (
            f"{namespaces.RUN_LABEL}={namespaces.label_value(self.run.id)},{namespaces.WORKER_LABEL}="
            f"{namespaces.label_value(self.run.worker)},!{KEPT_LABEL}"
        )
        return namespaces.wait_gone(self.kube, selector, timeout)

    def check_earlier_deletions(self, older_than: float = DELETE_WAIT_SECONDS) -> list[str]:
        """The namespaces of pytest-pods (of any run) still being deleted ``older_than`` seconds after
        their deletion began (e.g. a finalizer that nothing removes); recorded in ``cleanup_problem``."""
        left = namespaces.stuck(self.kube, f"{namespaces.RUN_LABEL},!{KEPT_LABEL}", older_than)
        if left:
            self.cleanup_problem = (
                f"namespaces of earlier runs still being deleted after more than {older_than:g}s: "
                f"{', '.join(left)} (`kubectl describe namespace NAME` shows what holds them)"
            )
        return left


class Namespace:
    """One test's namespace: apply manifests into it and get handles on its pods."""

    def __init__(self, cluster: Cluster, name: str, base_dir: Path | None = None) -> None:
        self.cluster = cluster
        self.name = name
        self.base_dir = base_dir
        self.kube = cluster.kube
        self.timings: dict[str, float] = {"apply": 0.0, "ready": 0.0}
        self.applied: list[JSON] = []
        self.failures: list[str] = []  # the tests that failed while using it (they decide keeping it)
        self._set_up = False
        self._setup_error: BaseException | None = None
        self.prepared: dict[str, list[JSON]] = {}  # what Cluster.prepare applied ahead, by source
        self.waiting: dict[str, Future[None]] = {}  # its waits, running in the background

    def __repr__(self) -> str:
        return f"<Namespace {self.name}>"

    def _time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds

    def load(self, manifest: ManifestSource) -> list[manifests.Document]:
        """Load and check a manifest offline (YAML, required fields, schema) without applying it."""
        docs = manifests.load(manifest, base_dir=self.base_dir)
        manifests.check(docs, kubernetes_version=self.cluster.info.kubernetes_version)
        return docs

    def dry_run(self, manifest: ManifestSource) -> list[JSON]:
        """Check a manifest offline and with a server-side dry-run; nothing is created."""
        return manifests.apply(
            self.kube, self.load(manifest), self.name, resources=self.cluster.resources, dry_run=True
        )

    def apply(
        self, manifest: ManifestSource, *, wait: bool = False, timeout: float | None = None
    ) -> list[JSON]:
        """Check, then server-side apply a manifest (a path, YAML text, a dict or a list of dicts)
        into this namespace; return the objects as stored. With ``wait``, wait until every object
        with a notion of up is up (see :meth:`wait_up`)."""
        began = time.monotonic()
        objs = manifests.apply(self.kube, self.load(manifest), self.name, resources=self.cluster.resources)
        self._time("apply", time.monotonic() - began)
        self.applied += objs
        if wait:
            self.wait_up(objs, timeout)
        return objs

    # --- waits and workloads (issue 7) ---------------------------------------------------------------
    def wait_up(
        self,
        objs: Sequence[JSON],
        timeout: float | None = None,
        *,
        stop: threading.Event | None = None,
        kube: Kube | None = None,
    ) -> None:
        """Wait, in one watch loop, until each Pod is Ready (and Ready holds), each Deployment,
        ReplicaSet, StatefulSet and DaemonSet is rolled out, each Job is Complete and each PVC is
        Bound; fail at once naming the object, the pod and the reason on a reason that never heals
        (:class:`PodNotReadyError` for a Pod, :class:`WorkloadNotReadyError` for the others).
        A ``stop`` that is set cancels the wait (see :func:`pytest_pods.waits.wait`); ``kube``: another
        client than the namespace's (one per thread)."""
        targets = [
            (str(o.get("kind")), str(o["metadata"]["name"]))
            for o in objs
            if o.get("kind") in waits.WAITED_KINDS
            and waits.resource(str(o.get("kind")))[0] == o.get("apiVersion")
            and (o.get("metadata") or {}).get("namespace", self.name) == self.name
        ]
        if not targets:
            return
        began = time.monotonic()
        settings = self.cluster.settings
        waits.wait_up(
            kube or self.kube,
            self.name,
            targets,
            timeout=settings.timeout if timeout is None else timeout,
            stable=settings.ready_stable,
            stop=stop,
        )
        self._time("ready", time.monotonic() - began)

    def wait_for(
        self,
        kind: str,
        name: str,
        *,
        condition: str | None = None,
        jsonpath: str | None = None,
        delete: bool = False,
        timeout: float | None = None,
    ) -> JSON:
        """Wait for any object of this namespace, like ``kubectl wait --for=condition=Available``,
        ``--for=jsonpath='{.status.phase}'=Running`` or ``--for=delete``; return it as last seen."""
        return waits.wait_for(
            self.kube,
            self.name,
            kind,
            name,
            condition=condition,
            jsonpath=jsonpath,
            delete=delete,
            timeout=self.cluster.settings.timeout if timeout is None else timeout,
        )

    def workload(self, kind: str, name: str) -> Workload:
        """A handle on a workload of this namespace, e.g. ``ns.workload("Deployment", "web").pods()``."""
        settings = self.cluster.settings
        return Workload(
            self.kube,
            self.name,
            kind,
            name,
            timeout=settings.timeout,
            stable=settings.ready_stable,
            pod=self.pod,
        )

    def setup(self, markers: Sequence[ManifestMarker]) -> None:
        """Apply each marker's manifests (and wait, as it asks), once: a later call does nothing, or
        raises the first call's error again (as pytest does for a failed fixture of a wider scope),
        so that the tests sharing a namespace do not each wait for a pod that will not start."""
        if self._set_up:
            if self._setup_error is not None:
                raise self._setup_error
            return
        self._set_up = True
        applied: set[str] = set()  # a manifest named by two markers (say, module and test) goes in once
        try:
            for marker in markers:
                for source in marker.manifests:
                    if repr(source) in applied:
                        continue
                    applied.add(repr(source))
                    ahead = self.prepared.pop(repr(source), None)
                    waiting = self.waiting.pop(repr(source), None)
                    if ahead is None:
                        self.apply(source, wait=marker.wait, timeout=marker.timeout)
                    elif waiting is not None:  # applied and waited for ahead: its outcome
                        waiting.result()
                    elif marker.wait:  # applied by Cluster.prepare: only the wait is left
                        self.wait_up(ahead, marker.timeout)
        except BaseException as exc:
            self._setup_error = exc
            raise

    def pod(self, name: str) -> Pod:
        """A handle on a pod of this namespace (it need not exist yet)."""
        settings = self.cluster.settings
        return Pod(
            self.kube,
            self.name,
            name,
            timeout=settings.timeout,
            ready_stable=settings.ready_stable,
            on_timing=self._time,
        )

    def pods(self) -> list[Pod]:
        """Handles on every pod in the namespace now."""
        items = self.kube.request("GET", f"/api/v1/namespaces/{self.name}/pods").get("items") or []
        return [self.pod(p["metadata"]["name"]) for p in items]


class SharedNamespaces:
    """The namespaces shared by the tests of one scope (a class, module, package or the session):
    one per distinct set of manifests, made at its first test and deleted when the scope ends (kept
    per the settings' policy if a test that used it failed). Use it as a context manager."""

    def __init__(self, cluster: Cluster, scope_id: str) -> None:
        self.cluster = cluster
        self.scope_id = scope_id
        self._made: dict[str, Namespace] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> SharedNamespaces:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get(self, markers: Sequence[ManifestMarker], base_dir: Path | None = None) -> tuple[Namespace, bool]:
        """The scope's namespace for these markers, and whether this call made it. It is made empty:
        call :meth:`Namespace.setup` with the same markers (once it is known to the caller, so that
        a failed setup can still be reported with the namespace's pods)."""
        key = repr((str(base_dir), [tuple(m) for m in markers]))
        ns = self._made.get(key)
        if ns is not None:
            return ns, False
        ns = self._stack.enter_context(
            self.cluster.namespace(self.scope_id, base_dir=base_dir, markers=markers)
        )
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
    cluster = Cluster(info, kube, settings, run, time.monotonic() - began, images_seconds, provider=provider)
    try:
        cluster.reaped = namespaces.reap_orphans(kube)
    except PodsError as exc:
        cluster.cleanup_problem = f"could not look for namespaces of runs that are gone: {exc}"
    if cluster.reaped:
        progress(
            f"deleting {len(cluster.reaped)} namespace(s) of runs that are gone: {', '.join(cluster.reaped)}"
        )
    try:
        yield cluster
    finally:
        try:
            cluster.drop_prepared()
        finally:
            kube.close()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises KeyboardInterrupt in the main thread (as SIGINT does), so that the
    run unwinds and deletes its namespaces before it exits. Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_if_started(run: Run, registry: Registry, settings: Settings, progress: Progress = silent) -> None:
    """End the run: with ``keep_cluster=False``, stop a cluster that this run started (never one it
    found running); then remove the run's marker files. Call it once, after every worker is done."""
    try:
        name = run.started_provider()
        if name is not None and not settings.keep_cluster and name in registry.names():
            registry.make(name, settings).stop(progress)
    finally:
        run.forget()
