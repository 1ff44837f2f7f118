"""One test's namespace (:class:`Namespace`), the rule that keeps it, and the key that names the
namespace of a test or a scope (:func:`namespace_key`)."""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from pytest_pods import manifests, waits
from pytest_pods.core.progress import Progress, silent
from pytest_pods.discovery import Resolver, Resource
from pytest_pods.errors import ChartTestError, PodsApiWarning
from pytest_pods.kube import JSON, Kube
from pytest_pods.manifests import ManifestSource
from pytest_pods.markers import ManifestMarker
from pytest_pods.namespaces import Owner
from pytest_pods.pods import Pod
from pytest_pods.providers.base import ClusterInfo
from pytest_pods.render import helm
from pytest_pods.render.helm import Chart, ChartTest
from pytest_pods.settings import Settings
from pytest_pods.workloads import Workload

#: Runs ``wait(objs, timeout, stop=..., kube=...)`` in a background thread (see :mod:`.ahead`).
Background = Callable[[Callable[..., None], list[JSON], float | None], Future[None]]


def should_keep(policy: str, failed: bool) -> bool:
    """``--pods-keep-namespace``: keep a namespace ``always``, or ``on-failure`` of a test that used it."""
    return policy == "always" or (policy == "on-failure" and failed)


def namespace_key(owner: str, base_dir: Path | None, markers: Sequence[ManifestMarker]) -> str:
    """The one key of a namespace: the node id that owns it (a test, or the scope its markers share),
    the directory its relative manifest paths are taken from, and its markers. A namespace made
    ahead is taken by the test whose key is the same; a scope shares one namespace per key."""
    return repr((owner, str(base_dir), [tuple(m) for m in markers]))


def warn(warned: Sequence[PodsApiWarning]) -> None:
    """Warn each of the API server's warnings with :func:`warnings.warn`: under pytest, the running
    test's warning (in its summary; an error under ``-W error::pytest_pods.PodsApiWarning``)."""
    for warning in warned:
        warnings.warn(warning, stacklevel=3)


class Namespace:
    """One test's namespace: apply manifests into it and get handles on its pods. It is given what it
    needs of the session (its cluster's ``info``, the ``timeout``, ``ready_stable`` and
    ``keep_namespace`` settings); :meth:`Cluster.namespace` makes it."""

    def __init__(
        self,
        kube: Kube,
        name: str,
        info: ClusterInfo,
        *,
        base_dir: Path | None = None,
        resources: manifests.ResourceMap | None = None,
        timeout: float = Settings.timeout,
        ready_stable: float = Settings.ready_stable,
        keep_namespace: str = Settings.keep_namespace,
        owner: Owner | None = None,
        progress: Progress = silent,
    ) -> None:
        self.kube = kube
        self.name = name
        self.info = info
        self.base_dir = base_dir
        self.resources = resources if resources is not None else manifests.ResourceMap(kube)
        self.timeout = timeout
        self.ready_stable = ready_stable
        self.keep_namespace = keep_namespace
        #: What its tests made outside it, theirs (labelled, recorded, deleted with it); None: not
        #: tracked (objects outside it are applied as they are, and left).
        self.owner = owner
        self.progress = progress  # Helm's first build reports here
        self.timings: dict[str, float] = {"apply": 0.0, "ready": 0.0}
        self.applied: list[JSON] = []
        self.failures: list[str] = []  # the tests that failed while using it (they decide keeping it)
        self._set_up = False
        self._setup_error: BaseException | None = None
        self._ahead: dict[str, list[JSON]] = {}  # what apply_ahead applied, by source
        self._ahead_warnings: dict[str, list[PodsApiWarning]] = {}  # the server's warnings about it
        self._held: list[PodsApiWarning] | None = None  # while applying ahead: its warnings, held
        self._waiting: dict[str, Future[None]] = {}  # its waits, running in the background
        self._chart_tests: dict[str, list[manifests.Document]] = {}  # each release's helm test hooks

    def __repr__(self) -> str:
        return f"<Namespace {self.name}>"

    def kept(self) -> bool:
        """Whether it is kept when its use is over: :func:`should_keep` with the ``keep_namespace``
        policy and whether a test that used it failed (:attr:`failures`)."""
        return should_keep(self.keep_namespace, bool(self.failures))

    @property
    def resolver(self) -> Resolver:
        """The cluster's kinds (:class:`~pytest_pods.discovery.Resolver`, shared by its namespaces)."""
        return self.resources.resolver

    def _time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds

    def load(self, manifest: ManifestSource) -> list[manifests.Document]:
        """Load and check a manifest offline (YAML, required fields, schema) without applying it; a
        :class:`Chart` is rendered for this namespace (see :meth:`apply_chart`)."""
        if isinstance(manifest, Chart):
            docs = self._render(manifest)
        else:
            docs = manifests.load(manifest, base_dir=self.base_dir)
        manifests.check(docs, kubernetes_version=self.info.kubernetes_version)
        return docs

    # --- Helm charts (issue 21) ----------------------------------------------------------------------
    def _render(self, chart: Chart) -> list[manifests.Document]:
        """``helm template`` for this namespace and its cluster's version and API versions; the
        ``helm test`` hooks are kept apart for :meth:`chart_tests`."""
        served = self.resolver.served()
        apis = sorted({r.api_version for r in served} | {f"{r.api_version}/{r.kind}" for r in served})
        rendered = helm.render(
            chart,
            namespace=self.name,
            kube_version=self.info.kubernetes_version,
            api_versions=apis,
            base_dir=self.base_dir,
            progress=self.progress,
        )
        self._chart_tests[rendered.release] = [
            doc for source, text in rendered.tests for doc in manifests.rendered(text, source)
        ]
        return [doc for source, text in rendered.documents for doc in manifests.rendered(text, source)]

    def apply_chart(
        self,
        chart: str | os.PathLike[str],
        *,
        release: str | None = None,
        values: Mapping[str, Any] | None = None,
        values_files: Sequence[str | os.PathLike[str]] = (),
        set: Mapping[str, Any] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> list[JSON]:
        """Render a Helm chart (a directory or a ``.tgz``) with ``helm template`` for this namespace
        (``.Release.Namespace``) and this cluster's version and API versions (``.Capabilities``),
        then check, apply and (with ``wait``) wait for it as any manifest, CRDs of ``crds/`` first.
        ``release`` defaults to the chart's name; ``values`` (a mapping), ``values_files`` and ``set``
        (``--set-json``: types kept) are Helm's. Bad values, a template error or a
        ``values.schema.json`` violation raise :class:`ChartError` (Helm's message and the file)
        before any cluster work; so do a remote chart and a dependency not vendored under
        ``charts/``. Its ``helm test`` pods are run by :meth:`chart_tests`."""
        source = Chart(chart, release, values, tuple(values_files), set)
        return self.apply(source, wait=wait, timeout=timeout)

    def chart_tests(
        self, release: str, *, check: bool = True, timeout: float | None = None
    ) -> list[ChartTest]:
        """Run the ``helm test`` pods (``helm.sh/hook: test``) of a release applied into this
        namespace, one after another as ``helm test`` does, each to its end; return each one's
        :class:`ChartTest` (outcome and log). With ``check`` (the default), a test pod that failed
        raises :class:`ChartTestError` with its log. A pod that can never run (its image cannot be
        pulled, say) fails at once as :class:`PodNotReadyError`."""
        if release not in self._chart_tests:
            known = ", ".join(sorted(self._chart_tests)) or "none"
            raise ValueError(f"no chart release {release!r} was applied into {self.name} (releases: {known})")
        limit = self.timeout if timeout is None else timeout
        outcomes: list[ChartTest] = []
        for doc in self._chart_tests[release]:
            if doc.kind != "Pod":
                self.apply([doc.obj])
                continue
            pod = self.pod(doc.name)
            pod.delete()  # a test run before (helm's hook-delete-policy before-hook-creation)
            self.apply([doc.obj])
            obj = waits.wait_pod(
                self.kube,
                self.name,
                doc.name,
                timeout=limit,
                classify=waits.classify_finished,
                what="finished",
            )
            phase = str((obj.get("status") or {}).get("phase", ""))
            outcomes.append(ChartTest(doc.name, phase == "Succeeded", phase, pod.logs()))
        failed = next((t for t in outcomes if not t.passed), None)
        if check and failed is not None:
            raise ChartTestError(self.name, failed.name, release, failed.log, outcomes)
        return outcomes

    def dry_run(self, manifest: ManifestSource) -> list[JSON]:
        """Check a manifest offline and with a server-side dry-run; nothing is created. The API
        server's warnings are warned (:func:`warn`)."""
        warned: list[PodsApiWarning] = []
        objs = manifests.apply(
            self.kube,
            self.load(manifest),
            self.name,
            resources=self.resources,
            dry_run=True,
            warned=warned,
            owner=self.owner,
        )
        warn(warned)
        return objs

    def apply(
        self, manifest: ManifestSource, *, wait: bool = False, timeout: float | None = None
    ) -> list[JSON]:
        """Check, then server-side apply a manifest (a path, YAML text, a dict or a list of dicts)
        into this namespace; return the objects as stored. With ``wait``, wait until every object
        with a notion of up is up (see :meth:`wait_up`). Each warning of the API server about an
        object is warned as a :class:`PodsApiWarning` (:func:`warn`)."""
        began = time.monotonic()
        warned: list[PodsApiWarning] = []
        docs = self.load(manifest)
        objs = manifests.apply(
            self.kube, docs, self.name, resources=self.resources, warned=warned, owner=self.owner
        )
        self._time("apply", time.monotonic() - began)
        self.applied += objs
        if any(o.get("kind") == "CustomResourceDefinition" for o in objs):
            self.resolver.forget()  # its kind is served (or changed): read discovery anew
        if self._held is not None:  # applied ahead: warned by the test that uses it (see setup)
            self._held += warned
        else:
            warn(warned)
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
        ReplicaSet, StatefulSet and DaemonSet is rolled out, each Job is Complete, each PVC is
        Bound, each CRD is Established and each custom resource is up (kstatus' generic rules, see
        :func:`pytest_pods.waits.kinds.generic_verdict`); fail at once naming the object, the pod
        and the reason on a reason that never heals (:class:`PodNotReadyError` for a Pod,
        :class:`WorkloadNotReadyError` for the others). A ``stop`` that is set cancels the wait
        (see :func:`pytest_pods.waits.wait`); ``kube``: another client than the namespace's (one
        per thread)."""
        targets: list[tuple[Resource, str]] = []
        for o in objs:
            resource = self.resolver.of(o, kube=kube)
            if (
                resource is not None
                and waits.waited(resource)
                and (o.get("metadata") or {}).get("namespace", self.name) == self.name
            ):
                targets.append((resource, str(o["metadata"]["name"])))
        if not targets:
            return
        began = time.monotonic()
        waits.wait_up(
            kube or self.kube,
            self.name,
            targets,
            timeout=self.timeout if timeout is None else timeout,
            stable=self.ready_stable,
            stop=stop,
        )
        self._time("ready", time.monotonic() - began)

    def applied_groups(self) -> list[str]:
        """The API groups of the objects applied into it and of the CRDs among them, the latest
        first: a name that several groups serve means the kind this test applied or defined (see
        :meth:`Resolver.resolve`)."""
        groups: list[str] = []
        for o in reversed(self.applied):
            if o.get("kind") == "CustomResourceDefinition":
                groups.append(str((o.get("spec") or {}).get("group", "")))
            groups.append(str(o.get("apiVersion", "")).rpartition("/")[0])
        return list(dict.fromkeys(groups))

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
        """Wait for any object of this namespace (or a cluster-scoped one), like ``kubectl wait
        --for=condition=Available``, ``--for=jsonpath='{.status.phase}'=Running``, ``--for=delete``,
        or with none of them until it exists (``--for=create``); return it as last seen. ``kind``
        is anything kubectl takes (``Deployment``, ``deploy``, ``deployments.apps``, a custom
        resource's); :class:`UnknownKindError` names near matches for one the cluster does not
        serve."""
        return waits.wait_for(
            self.kube,
            self.name,
            self.resolver.resolve(kind, prefer=self.applied_groups()),
            name,
            condition=condition,
            jsonpath=jsonpath,
            delete=delete,
            timeout=self.timeout if timeout is None else timeout,
        )

    def workload(self, kind: str, name: str) -> Workload:
        """A handle on a workload of this namespace, e.g. ``ns.workload("Deployment", "web").pods()``
        (``kind`` as :meth:`wait_for` takes it)."""
        return Workload(
            self.kube,
            self.name,
            self.resolver.resolve(kind, prefer=self.applied_groups()),
            name,
            timeout=self.timeout,
            stable=self.ready_stable,
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
                    ahead = self._ahead.pop(repr(source), None)
                    waiting = self._waiting.pop(repr(source), None)
                    warn(self._ahead_warnings.pop(repr(source), []))  # now, in the test that uses it
                    if ahead is None:
                        self.apply(source, wait=marker.wait, timeout=marker.timeout)
                    elif waiting is not None:  # applied and waited for ahead: its outcome
                        waiting.result()
                    elif marker.wait:  # applied ahead, not waited for: only the wait is left
                        self.wait_up(ahead, marker.timeout)
        except BaseException as exc:
            self._setup_error = exc
            raise

    def apply_ahead(self, markers: Sequence[ManifestMarker], background: Background) -> None:
        """Apply the markers' manifests now, ahead of the test that will use the namespace, and start
        the waits they ask for with ``background``; :meth:`setup` takes what was done (the wait's
        outcome, or the wait itself if none was started). A manifest that fails to apply raises
        (:class:`PodsError`), and stops applying: :meth:`setup` applies the rest, and reports it."""
        for marker in markers:
            for source in marker.manifests:
                key = repr(source)
                if key not in self._ahead:
                    # its warnings are held for the test that will use it (setup warns them)
                    self._held = self._ahead_warnings[key] = []
                    try:
                        self._ahead[key] = objs = self.apply(source)
                    except BaseException:
                        del self._ahead_warnings[key]  # setup applies it again, warning anew
                        raise
                    finally:
                        self._held = None
                    if marker.wait:
                        self._waiting[key] = background(self.wait_up, objs, marker.timeout)

    def pod(self, name: str) -> Pod:
        """A handle on a pod of this namespace (it need not exist yet)."""
        return Pod(
            self.kube,
            self.name,
            name,
            timeout=self.timeout,
            ready_stable=self.ready_stable,
            on_timing=self._time,
        )

    def pods(self) -> list[Pod]:
        """Handles on every pod in the namespace now."""
        items = self.kube.request("GET", f"/api/v1/namespaces/{self.name}/pods").get("items") or []
        return [self.pod(p["metadata"]["name"]) for p in items]
