"""The ``kind`` provider, through pytest-kind: the default where a Docker engine answers.

Offline it never downloads: it uses ``kind`` from PATH or ``--pods-kind-binary``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_pods.errors import ProviderError
from pytest_pods.kube import Kube
from pytest_pods.providers.base import ClusterInfo, ProgressFn
from pytest_pods.settings import Settings

CLUSTER_NAME = "pytest-pods"


def docker_unavailable(timeout: float = 10.0) -> str | None:
    """None if ``docker info`` succeeds within ``timeout`` seconds, else why not."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker command on PATH"
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`docker info` did not answer within {timeout:g}s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"`docker info` failed (exit {done.returncode}): {last}"
    return None


def kind_binary(settings: Settings) -> Path | None:
    if settings.kind_binary is not None:
        return settings.kind_binary
    found = shutil.which("kind")
    return Path(found) if found else None


class KindProvider:
    """A kind cluster named ``pytest-pods``, created if missing and reused if present."""

    name = "kind"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cluster: Any = None

    def unavailable(self) -> str | None:
        docker = docker_unavailable()
        if docker:
            return (
                f"kind needs a Docker engine, and {docker}: install and start Docker, "
                "or use --pods-provider=local (no Docker needed)"
            )
        if kind_binary(self.settings) is None:
            return (
                "kind is not on PATH: install kind (https://kind.sigs.k8s.io) or pass --pods-kind-binary PATH"
            )
        return None

    def describe(self) -> str:
        version = self.settings.kubernetes_version or "of kind's default node image"
        return f"kind cluster {CLUSTER_NAME!r} (reused when present), Kubernetes {version}"

    def _get(self) -> Any:
        if self._cluster is None:
            problem = self.unavailable()
            if problem:
                raise ProviderError(problem)
            from pytest_kind import KindCluster

            from pytest_pods.localcluster.paths import cache_root

            binary = kind_binary(self.settings)
            kubeconfig = cache_root() / "kind" / CLUSTER_NAME / "kubeconfig"
            kubeconfig.parent.mkdir(parents=True, exist_ok=True)
            version = self.settings.kubernetes_version
            self._cluster = KindCluster(
                name=CLUSTER_NAME,
                kubeconfig=kubeconfig,
                image=f"kindest/node:{version}" if version else None,
                kind_path=binary,
            )
        return self._cluster

    def start(self, progress: ProgressFn) -> ClusterInfo:
        cluster = self._get()
        existing = subprocess.run(
            [str(cluster.kind_path), "get", "clusters"], capture_output=True, text=True, check=False
        ).stdout.split()
        reused = CLUSTER_NAME in existing
        progress("reusing kind cluster" if reused else "creating kind cluster (pulls the node image once)")
        try:
            cluster.create()
        except subprocess.CalledProcessError as exc:
            raise ProviderError(f"kind could not create the cluster: {exc}") from exc
        kube = Kube.from_kubeconfig(Path(cluster.kubeconfig_path))
        try:
            version = kube.server_version()
        finally:
            kube.close()
        return ClusterInfo(
            self.name,
            Path(cluster.kubeconfig_path),
            None,
            version,
            f"kind cluster {CLUSTER_NAME!r}" + (", reused" if reused else ""),
            reused,
        )

    def stop(self, progress: ProgressFn) -> None:
        progress(f"deleting kind cluster {CLUSTER_NAME}")
        self._get().delete()

    def load_images(self, archives: Sequence[Path], progress: ProgressFn) -> None:
        cluster = self._get()
        for archive in archives:
            progress(f"loading {archive} into kind")
            subprocess.run(
                [str(cluster.kind_path), "load", "image-archive", "--name", CLUSTER_NAME, str(archive)],
                check=True,
            )
