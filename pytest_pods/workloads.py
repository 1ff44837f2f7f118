"""A handle on a workload of a namespace: the object, its status, its pods, and its wait."""

from __future__ import annotations

from collections.abc import Callable

from pytest_pods import waits
from pytest_pods.discovery import Resource
from pytest_pods.kube import JSON, Kube
from pytest_pods.pods import Pod
from pytest_pods.waits import Verdict


class Workload:
    """A handle on a workload (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, a custom
    resource, ...) of a namespace, by its resolved ``resource``
    (:meth:`pytest_pods.discovery.Resolver.resolve`): the object, its status, its pods as
    :class:`Pod` handles, and waits."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        resource: Resource,
        name: str,
        *,
        timeout: float = 120.0,
        stable: float = waits.READY_STABLE,
        pod: Callable[[str], Pod] | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.resource = resource
        self.kind = resource.kind
        self.name = name
        self.timeout = timeout
        self.stable = stable
        self._pod = pod or (lambda n: Pod(kube, namespace, n, timeout=timeout, ready_stable=stable))

    def __repr__(self) -> str:
        return f"<Workload {self.kind} {self.namespace}/{self.name}>"

    def get(self) -> JSON:
        """The object as the API server has it now."""
        return self.kube.request("GET", self.resource.path(self.namespace, self.name))

    @property
    def status(self) -> JSON:
        """The object's ``status`` now."""
        return dict(self.get().get("status") or {})

    @property
    def selector(self) -> str:
        """Its pod selector, as a label-selector string."""
        return waits.label_selector((self.get().get("spec") or {}).get("selector") or {})

    def pods(self) -> list[Pod]:
        """Handles on the pods it selects now (by its spec.selector), sorted by name; pods being
        deleted are left out."""
        selector = self.selector
        if not selector:
            return []
        items = (
            self.kube.request(
                "GET", f"/api/v1/namespaces/{self.namespace}/pods", query={"labelSelector": selector}
            ).get("items")
            or []
        )
        names = sorted(
            str(p["metadata"]["name"])
            for p in items
            if not (p.get("metadata") or {}).get("deletionTimestamp")
        )
        return [self._pod(n) for n in names]

    def verdict(self) -> Verdict:
        """The verdict on its state now (its kind's in :data:`pytest_pods.waits.UP`, or the generic
        one of a custom resource)."""
        up = waits.up_of(self.resource)
        return up.verdict(self.get(), waits.ApiFacts(self.kube, self.namespace))

    def wait(self, timeout: float | None = None, *, stable: float | None = None) -> Workload:
        """Wait until it is up (rolled out, Complete, Bound, Established, Ready; see
        :func:`pytest_pods.waits.wait`)."""
        waits.wait_up(
            self.kube,
            self.namespace,
            [(self.resource, self.name)],
            timeout=self.timeout if timeout is None else timeout,
            stable=self.stable if stable is None else stable,
        )
        return self
