"""Real-cluster tests: they run against the cluster of ``--pods-provider`` (auto: local here)
through the plugin's own fixtures. Nothing here stands in for the cluster."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import pytest_pods
from pytest_pods import Cluster
from pytest_pods.core.progress import Stopwatch
from pytest_pods.errors import ApiError
from pytest_pods.kube import Kube

MANIFESTS = Path(__file__).parent / "manifests"
ROOT = Path(pytest_pods.__file__).resolve().parent.parent
POD = ROOT / "examples" / "pods101" / "pods01.yaml"


def shell_pod(
    name: str, command: str, container: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    """A Pod of one debian container ``main`` that runs ``sh -c command`` (with ``container``'s extra
    fields), gone at once when deleted; ``spec`` adds to the pod's spec."""
    main = {"name": "main", "image": "debian", "command": ["sh", "-c", command], **(container or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [main], **spec},
    }


def workload(kind: str, name: str, template: dict[str, Any], replicas: int, **spec: Any) -> dict[str, Any]:
    """A Deployment or StatefulSet (``kind``) of ``replicas`` pods from ``template``, selected by its
    labels; ``spec`` adds to its spec (``serviceName``, ``volumeClaimTemplates``, ...)."""
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(template["metadata"]["labels"])},
            "template": template,
            **spec,
        },
    }


def delete_paths(kube: Kube, *paths: str) -> None:
    """Delete what a test made outside its namespace (best effort: some may be gone already)."""
    for path in paths:
        try:
            kube.request("DELETE", path, body={"propagationPolicy": "Background"})
        except ApiError as exc:
            if exc.status != 404:
                raise


def namespace_phase(cluster: Cluster, name: str) -> str:
    """Active, Terminating or Gone."""
    try:
        ns = cluster.kube.request("GET", f"/api/v1/namespaces/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return "Gone"
        raise
    return "Terminating" if (ns.get("metadata") or {}).get("deletionTimestamp") else "Active"


@pytest.fixture
def existing_args(pods_cluster: Cluster) -> list[str]:
    """Options that point an inner pytest run at this same cluster through the existing provider."""
    args = [
        "-p",
        "no:cacheprovider",
        "--pods-provider=existing",
        f"--pods-kubeconfig={pods_cluster.info.kubeconfig}",
    ]
    if pods_cluster.info.context:
        args.append(f"--pods-context={pods_cluster.info.context}")
    return args


@pytest.fixture
def same_provider_args(pods_cluster: Cluster) -> list[str]:
    """Options that make an inner pytest run use this session's provider (and so reuse its cluster)."""
    s = pods_cluster.settings
    args = ["-p", "no:cacheprovider", f"--pods-provider={pods_cluster.info.provider}"]
    for flag, value in (
        ("--pods-kubernetes-version", s.kubernetes_version),
        ("--pods-kind-image", s.kind_image),
        ("--pods-kind-config", s.kind_config),
        ("--pods-kind-binary", s.kind_binary),
    ):
        if value is not None:
            args.append(f"{flag}={value}")
    return args


def stand_in_registry(pods_cluster: Cluster) -> str:
    """``host:port`` of a registry serving the stand-in images: the local cluster's, or for kind the
    read-only one on the Docker gateway (the same storage)."""
    if pods_cluster.info.provider == "kind":
        from pytest_pods.core.paths import CachePaths
        from pytest_pods.core.progress import silent
        from pytest_pods.kindcluster import mirror

        return mirror.ensure_serving(CachePaths.default(), "pytest-pods", Stopwatch(silent))
    from pytest_pods.localcluster import LocalCluster

    return LocalCluster().config.registry_addr


@pytest.fixture(autouse=True)
def _real_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester points HOME at a temporary directory: inner runs keep using the real cache (kind,
    node images, the kind cluster's kubeconfig)."""
    from pytest_pods.core.paths import cache_root

    monkeypatch.setenv("PYTEST_PODS_CACHE", str(cache_root()))


@pytest.fixture(autouse=True)
def _inner_runs_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs (pytester) keep their lock and marker files in a temporary directory."""
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(tmp_path / "inner-state"))


HOLDER = """
import time
from pathlib import Path

def test_hold(pods_namespace):
    pods_namespace.apply({pod!r}, wait=True)
    Path({ready!r}).write_text(pods_namespace.name)
    while Path({hold!r}).exists():
        time.sleep(0.2)
"""


@dataclass
class Holder:
    """A pytest run that holds a namespace with a running nginx pod until ``hold`` is removed."""

    proc: subprocess.Popen[str]
    ready: Path
    hold: Path

    def namespace(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while not self.ready.exists():
            if self.proc.poll() is not None:
                out, _ = self.proc.communicate()
                raise AssertionError(f"the holding run ended early ({self.proc.returncode}):\n{out}")
            if time.monotonic() > deadline:
                raise AssertionError("the holding run did not get its pod Ready in time")
            time.sleep(0.2)
        return self.ready.read_text()


Start = Callable[..., Holder]  # (name, manifest=POD, host=None): a run holding ``manifest`` applied


@pytest.fixture
def start_holder(tmp_path: Path, existing_args: list[str]) -> Iterator[Start]:
    """Starts holding runs; any still running at the end is killed (its namespace is reaped below)."""
    made: list[Holder] = []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(tmp_path / "state")}

    def start(name: str, manifest: Path = POD, host: str | None = None) -> Holder:
        """A holding run; ``host``: the host identity it claims (``$PYTEST_PODS_HOST``)."""
        d = tmp_path / name
        d.mkdir()
        ready, hold = d / "ready", d / "hold"
        hold.touch()
        (d / "test_hold.py").write_text(HOLDER.format(pod=str(manifest), ready=str(ready), hold=str(hold)))
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", *existing_args, "test_hold.py"],
            cwd=d,
            env={**env, "PYTEST_PODS_HOST": host} if host else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        made.append(Holder(proc, ready, hold))
        return made[-1]

    yield start
    for holder in made:
        holder.hold.unlink(missing_ok=True)
        try:
            holder.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            holder.proc.kill()
            holder.proc.communicate()


def run(existing_args: list[str], where: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(where / "state")}
    return subprocess.run(
        [sys.executable, *extra], cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def wait_gone(cluster: Cluster, name: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while (state := namespace_phase(cluster, name)) != "Gone" and time.monotonic() < deadline:
        time.sleep(0.5)
    return state


def service_account_kubeconfig(
    kube: Kube, namespace: str, account: str, path: Path, *, seconds: int = 600
) -> Path:
    """A kubeconfig of its own for the token of ServiceAccount ``namespace/account`` (a TokenRequest of
    ``seconds``), on the server of ``kube``'s kubeconfig and context; a CA file there is carried as
    data, so the file stands alone. Written to ``path``, which is returned."""
    token = kube.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        },
    )["status"]["token"]
    assert kube.kubeconfig is not None
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    current = next(c for c in admin["contexts"] if c["name"] == (kube.context or admin["current-context"]))
    cluster = next(c for c in admin["clusters"] if c["name"] == current["context"]["cluster"])
    server = dict(cluster["cluster"])
    if "certificate-authority" in server:
        server["certificate-authority-data"] = base64.b64encode(
            Path(server.pop("certificate-authority")).read_bytes()
        ).decode()
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": cluster["name"], "cluster": server}],
                "users": [{"name": account, "user": {"token": token}}],
                "contexts": [{"name": account, "context": {"cluster": cluster["name"], "user": account}}],
                "current-context": account,
            }
        )
    )
    return path
