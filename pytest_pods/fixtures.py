"""Fixtures, as thin wrappers over context managers that also work outside pytest.

=====================  ========  ===========================  ===================================
fixture                scope     type                         default / what it gives
=====================  ========  ===========================  ===================================
``pods_defaults``      session   ``dict[str, object]``        ``{}``: the lowest settings layer;
                                                              override it in a conftest.py
``pods_settings``      session   :class:`Settings`            options > ini > ``pods_defaults``
``pods_cluster``       session   :class:`Cluster`             the one cluster of the run (shared by
                                                              xdist workers through a file lock)
``pods_namespace``     function  :class:`Namespace`           a fresh, labelled namespace
``pods_apply``         function  ``Callable[..., list]``      ``pods_namespace.apply``
=====================  ========  ===========================  ===================================
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import urllib3
from filelock import FileLock

from pytest_pods import manifests, namespaces, workloads
from pytest_pods.errors import PodsError, ProviderError
from pytest_pods.kube import JSON, Kube
from pytest_pods.manifests import ManifestSource
from pytest_pods.pods import Pod
from pytest_pods.providers import choose_auto
from pytest_pods.providers.base import ClusterInfo, ProgressFn, Provider
from pytest_pods.settings import BUILTIN_PROVIDERS, Settings, from_config
from pytest_pods.workloads import Workload

NAMESPACE_KEY = pytest.StashKey["Namespace"]()
PHASE_REPORTS_KEY = pytest.StashKey[dict[str, pytest.TestReport]]()
RUN_ID_KEY = pytest.StashKey[str]()
CLUSTER_KEY = pytest.StashKey["Cluster"]()
KEPT_LABEL = f"{namespaces.LABEL_PREFIX}/kept"
DELETE_WAIT_SECONDS = 60.0


def lock_dir() -> Path:
    """Where the cluster lock and the run's state files live: shared by xdist workers and by
    concurrent runs of the same user."""
    path = Path(tempfile.gettempdir()) / f"pytest-pods-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def started_file(run_id: str) -> Path:
    """Exists when this run started the cluster (so that ``--pods-keep-cluster=no`` may stop it)."""
    return lock_dir() / f"started-{run_id}.json"


@dataclass
class Cluster:
    """The session's cluster: how to reach it, and the run's identity."""

    info: ClusterInfo
    kube: Kube
    settings: Settings
    run_id: str
    worker: str
    start_seconds: float
    images_seconds: float = 0.0
    resources: manifests.ResourceMap = field(init=False)
    deleted: set[str] = field(default_factory=set)
    kept: list[str] = field(default_factory=list)
    cleanup_problem: str = ""
    totals: dict[str, float] = field(default_factory=dict)
    namespaces_made: int = 0

    def __post_init__(self) -> None:
        self.resources = manifests.ResourceMap(self.kube)

    @contextlib.contextmanager
    def namespace(
        self, nodeid: str, *, base_dir: Path | None = None, keep: Callable[[], bool] = lambda: False
    ) -> Iterator[Namespace]:
        """A fresh namespace for one test; deleted in the background afterwards unless ``keep()``."""
        name = namespaces.namespace_name(nodeid)
        labels = namespaces.namespace_labels(nodeid, self.run_id, self.worker)
        namespaces.create(self.kube, name, labels, {namespaces.NODEID_ANNOTATION: nodeid})
        ns = Namespace(self, name, base_dir)
        self.namespaces_made += 1
        try:
            yield ns
        finally:
            for phase, seconds in ns.timings.items():
                self.totals[phase] = self.totals.get(phase, 0.0) + seconds
            if keep():
                self.kept.append(name)
                with contextlib.suppress(PodsError, OSError, urllib3.exceptions.HTTPError):
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
        """Wait (bounded) for the namespaces this session deleted; return those still there."""
        if not self.deleted:
            return []
        selector = (
            f"{namespaces.RUN_LABEL}={namespaces.label_value(self.run_id)},{namespaces.WORKER_LABEL}="
            f"{namespaces.label_value(self.worker)},!{KEPT_LABEL}"
        )
        return namespaces.wait_gone(self.kube, selector, timeout)


class Namespace:
    """One test's namespace: apply manifests into it and get handles on its pods."""

    def __init__(self, cluster: Cluster, name: str, base_dir: Path | None = None) -> None:
        self.cluster = cluster
        self.name = name
        self.base_dir = base_dir
        self.kube = cluster.kube
        self.timings: dict[str, float] = {"apply": 0.0, "ready": 0.0}
        self.applied: list[JSON] = []

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
    def wait_up(self, objs: list[JSON], timeout: float | None = None) -> None:
        """Wait, in one watch loop, until each Pod is Ready (and Ready holds), each Deployment,
        ReplicaSet, StatefulSet and DaemonSet is rolled out, each Job is Complete and each PVC is
        Bound; fail at once naming the object, the pod and the reason on a reason that never heals
        (:class:`PodNotReadyError` for a Pod, :class:`WorkloadNotReadyError` for the others)."""
        targets = [
            (str(o.get("kind")), str(o["metadata"]["name"]))
            for o in objs
            if o.get("kind") in workloads.WAITED_KINDS
            and workloads.KINDS[str(o.get("kind"))][0] == o.get("apiVersion")
            and (o.get("metadata") or {}).get("namespace", self.name) == self.name
        ]
        if not targets:
            return
        began = time.monotonic()
        settings = self.cluster.settings
        workloads.wait_all(
            self.kube,
            self.name,
            targets,
            timeout=settings.timeout if timeout is None else timeout,
            stable=settings.ready_stable,
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
        return workloads.wait_for(
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


@contextlib.contextmanager
def cluster_session(
    settings: Settings,
    provider: Provider,
    *,
    run_id: str,
    worker: str = "main",
    progress: ProgressFn = lambda message: None,
) -> Iterator[Cluster]:
    """Start (or find) the cluster under a file lock, load the preload images once per run, and
    yield a :class:`Cluster`; on exit wait (bounded) for this session's namespace deletions."""
    began = time.monotonic()
    problem = provider.unavailable()
    if problem:
        raise ProviderError(f"provider {provider.name!r} cannot work here: {problem}")
    with FileLock(str(lock_dir() / f"cluster-{provider.name}.lock")):
        info = provider.start(progress)
        marker = lock_dir() / f"images-{run_id}"
        images_began = time.monotonic()
        if settings.preload_images and not marker.exists():
            provider.load_images(settings.preload_images, progress)
            marker.touch()
        images_seconds = time.monotonic() - images_began
        if not info.reused and not started_file(run_id).exists():
            started_file(run_id).write_text(json.dumps({"provider": provider.name}))
    kube = Kube.from_kubeconfig(info.kubeconfig, info.context)
    cluster = Cluster(info, kube, settings, run_id, worker, time.monotonic() - began, images_seconds)
    try:
        yield cluster
    finally:
        try:
            left = cluster.wait_deletions()
            if left:
                waited = f"{DELETE_WAIT_SECONDS:g}s"
                cluster.cleanup_problem = f"namespaces still being deleted after {waited}: {', '.join(left)}"
        except (PodsError, OSError, urllib3.exceptions.HTTPError) as exc:
            cluster.cleanup_problem = f"could not confirm the namespace deletions: {exc}"
        finally:
            kube.close()


# --- pytest glue ---------------------------------------------------------------------------------


def provider_names(config: pytest.Config) -> list[str]:
    extra = [n for names in config.hook.pytest_pods_provider_names() for n in names]
    return sorted({*BUILTIN_PROVIDERS, *extra})


def make_provider(config: pytest.Config, settings: Settings) -> tuple[Provider, str]:
    """The provider for these settings (``auto`` decided) and why it was chosen."""
    name, why = settings.provider, "asked for"
    if name == "auto":
        name, why = choose_auto(settings)
        why = f"auto: {why}"
    provider = config.hook.pytest_pods_make_provider(name=name, settings=settings)
    if provider is None:
        raise pytest.UsageError(
            f"pytest-pods: no plugin makes provider {name!r}; valid: {', '.join(provider_names(config))}"
        )
    return provider, why


def worker_id(config: pytest.Config) -> str:
    workerinput: Mapping[str, Any] | None = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


def terminal_progress(config: pytest.Config) -> ProgressFn:
    """Progress lines through the terminal reporter, with the time since the first one; capture
    is suspended while writing, so the lines show even inside a test's setup."""
    from pytest_pods.localcluster.progress import Stopwatch

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
    return from_config(request.config, pods_defaults, provider_names(request.config))


@pytest.fixture(scope="session")
def pods_cluster(request: pytest.FixtureRequest, pods_settings: Settings) -> Iterator[Cluster]:
    """Scope: session. Type: :class:`Cluster`. Default: the cluster of ``--pods-provider`` (auto).

    Started (or reused) once per run; under pytest-xdist all workers share it through a file lock.
    Progress shows through the terminal reporter while it starts.
    """
    config = request.config
    progress = terminal_progress(config)
    provider, why = make_provider(config, pods_settings)
    progress(f"provider {provider.name} ({why}): starting the cluster")
    with cluster_session(
        pods_settings, provider, run_id=config.stash[RUN_ID_KEY], worker=worker_id(config), progress=progress
    ) as cluster:
        progress(
            f"cluster ready in {cluster.start_seconds:.1f}s: {cluster.info.description}, "
            f"Kubernetes {cluster.info.kubernetes_version}"
        )
        config.stash[CLUSTER_KEY] = cluster
        yield cluster


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(PHASE_REPORTS_KEY, {})
    return any(r.failed for r in reports.values())


def keep_namespace(settings: Settings, item: pytest.Item) -> bool:
    return settings.keep_namespace == "always" or (settings.keep_namespace == "on-failure" and _failed(item))


@pytest.fixture
def pods_namespace(request: pytest.FixtureRequest, pods_cluster: Cluster) -> Iterator[Namespace]:
    """Scope: function. Type: :class:`Namespace`. Default: a new namespace ``pp-<test>-<random>``
    labelled ``pytest-pods/test``, ``/run`` and ``/worker``; deleted in the background after the
    test unless ``--pods-keep-namespace`` says to keep it. Relative manifest paths are taken from
    the test file's directory."""
    item = request.node
    base_dir = Path(str(item.path)).parent if getattr(item, "path", None) else None
    with pods_cluster.namespace(
        item.nodeid, base_dir=base_dir, keep=lambda: keep_namespace(pods_cluster.settings, item)
    ) as ns:
        item.stash[NAMESPACE_KEY] = ns
        yield ns
    item.user_properties.append(("pods_cluster_seconds", round(pods_cluster.start_seconds, 3)))
    if pods_cluster.settings.preload_images:
        item.user_properties.append(("pods_images_seconds", round(pods_cluster.images_seconds, 3)))
    for phase, seconds in ns.timings.items():
        item.user_properties.append((f"pods_{phase}_seconds", round(seconds, 3)))


@pytest.fixture
def pods_apply(pods_namespace: Namespace) -> Callable[..., list[JSON]]:
    """Scope: function. Type: ``Callable[[manifest, *, wait=False, timeout=None], list[dict]]``.
    Default: :meth:`Namespace.apply` of ``pods_namespace``."""
    return pods_namespace.apply


def validate_pods_manifest(
    *manifests: ManifestSource, wait: bool = True, timeout: float | None = None
) -> tuple[tuple[ManifestSource, ...], bool, float | None]:
    """The signature of ``@pytest.mark.pods_manifest(*manifests, wait=True, timeout=None)``: called
    with the marker's arguments, so Python itself reports a wrong one."""
    if not manifests:
        raise TypeError("pods_manifest() needs at least one manifest: a path, YAML text or a dict")
    if not isinstance(wait, bool):
        raise TypeError(f"pods_manifest(wait=...) must be True or False, not {wait!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise TypeError(f"pods_manifest(timeout=...) must be a number of seconds > 0, not {timeout!r}")
    return manifests, wait, timeout


@pytest.fixture(autouse=True)
def _pods_manifest_marker(request: pytest.FixtureRequest) -> None:
    """Applies each ``pods_manifest`` marker (outermost first) into ``pods_namespace`` before the test."""
    markers = list(request.node.iter_markers("pods_manifest"))
    if not markers:
        return
    checked = []
    for marker in reversed(markers):
        try:
            checked.append(validate_pods_manifest(*marker.args, **marker.kwargs))
        except TypeError as exc:
            raise pytest.UsageError(f"{request.node.nodeid}: @pytest.mark.pods_manifest: {exc}") from None
    ns: Namespace = request.getfixturevalue("pods_namespace")
    for sources, wait, timeout in checked:
        for source in sources:
            ns.apply(source, wait=wait, timeout=timeout)
