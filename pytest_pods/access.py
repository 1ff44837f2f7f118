"""What the plugin may do on the cluster: the permissions every run needs, checked once when the session
starts (``SelfSubjectAccessReview``, one per permission), so that a missing one is named in one error
(:class:`~pytest_pods.errors.PermissionsError`) instead of a 403 in every test.

The Leases are not checked here: a run that may not hold one falls back to host-local reaping and
says so (:mod:`pytest_pods.session.lease`). The kinds a test applies are not either (they are the
tests' own): an apply the identity may not do fails with the API server's 403, naming the kind.
``deploy/pytest-pods-role.yaml`` grants all of it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pytest_pods.errors import ApiError, PermissionsError
from pytest_pods.kube import Kube

ROLE_FILE = "deploy/pytest-pods-role.yaml"
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class Permission:
    """One verb on one resource (``pods/exec``: resource and subresource), in ``namespace`` (""
    means every namespace: the tests' namespaces are made at run time)."""

    verb: str
    resource: str
    group: str = ""
    namespace: str = ""

    @property
    def text(self) -> str:
        """``create pods/exec in every namespace``."""
        where = f"in namespace {self.namespace}" if self.namespace else "in every namespace"
        if self.resource == "namespaces":
            where = "(cluster-wide)"
        group = f".{self.group}" if self.group else ""
        return f"{self.verb} {self.resource}{group} {where}"

    def review(self) -> dict[str, object]:
        resource, _, subresource = self.resource.partition("/")
        attributes = {
            "verb": self.verb,
            "group": self.group,
            "resource": resource,
            "namespace": self.namespace,
        }
        if subresource:
            attributes["subresource"] = subresource
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }


#: What every run does: make, label, watch and delete its namespaces (and their default ServiceAccount),
#: run pods in them, exec, attach, read logs, forward ports, and read events for its reports.
NEEDED = (
    Permission("create", "namespaces"),
    Permission("patch", "namespaces"),
    Permission("list", "namespaces"),
    Permission("watch", "namespaces"),
    Permission("delete", "namespaces"),
    Permission("create", "serviceaccounts"),
    Permission("create", "pods"),
    Permission("patch", "pods"),
    Permission("list", "pods"),
    Permission("watch", "pods"),
    Permission("deletecollection", "pods"),
    Permission("create", "pods/exec"),
    Permission("create", "pods/attach"),
    Permission("get", "pods/log"),
    Permission("create", "pods/portforward"),
    Permission("list", "events"),
)


def missing(kube: Kube, needed: tuple[Permission, ...] = NEEDED) -> list[str]:
    """The texts of the permissions in ``needed`` that the kubeconfig's identity lacks, in order. A
    review the server does not answer (an old server, a stand-in) counts as allowed: the check only
    says what it knows."""

    def allowed(permission: Permission) -> bool:
        try:
            answer = kube.request("POST", REVIEWS, body=permission.review())
        except ApiError:
            return True
        status = answer.get("status")
        return not isinstance(status, dict) or bool(status.get("allowed", True))

    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(allowed, needed))
    return [p.text for p, ok in zip(needed, verdicts, strict=True) if not ok]


def check(kube: Kube, needed: tuple[Permission, ...] = NEEDED) -> None:
    """Raise :class:`~pytest_pods.errors.PermissionsError` naming every permission that is missing."""
    lacking = missing(kube, needed)
    if lacking:
        raise PermissionsError(lacking, ROLE_FILE)
