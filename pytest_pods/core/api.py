"""What the cluster builders ask a new cluster's API before they hand it over: a read-only GET over
the standard library, and the checks that say a cluster is usable (what a test's first pod needs).

The plugin's own client is :class:`pytest_pods.kube.Kube`; the builders (:mod:`pytest_pods.localcluster`,
:mod:`pytest_pods.kindcluster`) do not import it, and use this instead. A GET that gets no answer,
or an HTTP error other than 404, raises ``OSError`` (``urllib.error.URLError`` is one); a kubeconfig
that cannot be read or lacks what is needed raises :class:`KubeconfigError`.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

#: A GET of an API path: the decoded JSON object, or None on 404.
Get = Callable[[str], "dict[str, Any] | None"]


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be read, or that lacks the server or credentials to reach it."""

    def __init__(self, kubeconfig: Path, cause: str) -> None:
        self.kubeconfig = kubeconfig
        self.cause = cause
        super().__init__(f"cannot use the kubeconfig {kubeconfig}: {cause}")


class ApiReader:
    """GETs from one API server with a client certificate (what the builders' kubeconfigs hold)."""

    def __init__(self, server: str, context: ssl.SSLContext) -> None:
        self.server = server.rstrip("/")
        self._context = context

    @classmethod
    def from_files(cls, server: str, ca: Path, cert: Path, key: Path) -> ApiReader:
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        return cls(server, context)

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, context: str | None = None) -> ApiReader:
        """From a kubeconfig whose context's cluster and user embed their certificates (``*-data``)."""
        try:
            doc = yaml.safe_load(kubeconfig.read_text()) or {}
            name = context or doc["current-context"]
            ctx = _named(doc["contexts"], name)["context"]
            cluster = _named(doc["clusters"], ctx["cluster"])["cluster"]
            user = _named(doc["users"], ctx["user"])["user"]
            server = str(cluster["server"])
            ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
            cert = base64.b64decode(user["client-certificate-data"])
            key = base64.b64decode(user["client-key-data"])
        except OSError as exc:
            raise KubeconfigError(kubeconfig, f"cannot read it: {exc}") from exc
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise KubeconfigError(kubeconfig, f"{type(exc).__name__}: {exc}") from exc
        ssl_context = ssl.create_default_context(cadata=ca)
        with tempfile.TemporaryDirectory(prefix="pytest-pods-api-") as tmp:  # ssl reads a chain from files
            chain = Path(tmp) / "client.pem"
            fd = os.open(chain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(cert.rstrip(b"\n") + b"\n" + key)
            try:
                ssl_context.load_cert_chain(str(chain))
            except ssl.SSLError as exc:
                raise KubeconfigError(kubeconfig, f"its client certificate: {exc}") from exc
        return cls(server, ssl_context)

    def get(
        self, path: str, timeout: float = 3.0, query: Mapping[str, str] | None = None
    ) -> dict[str, Any] | None:
        """The object at ``path``; None on 404; ``OSError`` on no answer or another HTTP error."""
        url = self.server + path + (f"?{urllib.parse.urlencode(query)}" if query else "")
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=self._context) as resp:
                data = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            e.close()  # it holds the open response (an SSL socket)
            if e.code == 404:
                return None
            raise
        except ValueError as exc:  # not JSON: a proxy's page, say
            raise OSError(f"GET {path}: the answer is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise OSError(f"GET {path}: the answer is not a JSON object")
        return data

    def server_version(self, timeout: float = 10.0) -> str:
        """The API server's ``gitVersion``."""
        return str((self.get("/version", timeout=timeout) or {}).get("gitVersion", "unknown"))


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for item in items:
        if item.get("name") == name:
            return item
    raise KeyError(name)


# --- what "usable" means --------------------------------------------------------------------------


def node_ready(node: Mapping[str, Any] | None) -> bool:
    """Whether a Node object says Ready."""
    if node is None:
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def schedulable(node: Mapping[str, Any]) -> bool:
    """A Ready node that takes pods: no NoSchedule or NoExecute taint."""
    taints = [
        t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") != "PreferNoSchedule"
    ]
    return node_ready(node) and not taints


def dns_ready(slices: Mapping[str, Any] | None) -> bool:
    """Whether an EndpointSlice listing has an endpoint whose pod is ready (``ready`` unset means
    ready, as the API documents)."""
    return any(
        (endpoint.get("conditions") or {}).get("ready", True) is not False
        for item in (slices or {}).get("items", [])
        for endpoint in item.get("endpoints") or []
    )


def usable_checks(get: Get, node: str | None = None) -> dict[str, Callable[[], bool]]:
    """The checks a new cluster passes before a test's first pod: a node that takes pods (``node``, or
    any node), and the default ServiceAccount and root CA ConfigMap published. Each is named for the
    progress line and the error that says which one never passed."""
    checks: dict[str, Callable[[], bool]] = {}
    if node is None:
        checks["a Ready node without taints"] = lambda: any(
            schedulable(n) for n in (get("/api/v1/nodes") or {}).get("items", [])
        )
    else:
        checks[f"node {node} Ready"] = lambda: node_ready(get(f"/api/v1/nodes/{node}"))
    checks["ServiceAccount default/default"] = lambda: (
        get("/api/v1/namespaces/default/serviceaccounts/default") is not None
    )
    checks["ConfigMap default/kube-root-ca.crt"] = lambda: (
        get("/api/v1/namespaces/default/configmaps/kube-root-ca.crt") is not None
    )
    return checks
