"""The stand-in registry, for kind nodes: a second, read-only ``docker-registry`` over the local
cluster's registry storage (``~/.cache/pytest-pods/registry``), listening on the kind Docker
network's gateway address (an address Docker made on this machine), and the ``hosts.toml`` files
that send the node's containerd there.

Pushes (``--pods-preload-image``) go through a temporary push registry on 127.0.0.1 over the same
storage that takes only root's client certificate (:func:`.registry.writer`); the one on the gateway
never accepts a write.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import tarfile
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from pytest_pods import localcluster
from pytest_pods.core.paths import CachePaths, log_tail
from pytest_pods.core.progress import Stopwatch
from pytest_pods.kindcluster.errors import KindError
from pytest_pods.kindcluster.tools import docker_command, run, tail

NETWORK = "kind"
PORT = 5001
#: Where the node's containerd reads per-registry hosts.toml files (``config_path``).
NODE_HOSTS_DIR = "/etc/containerd/certs.d"
CONTAINERD_PATCH = f"""[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "{NODE_HOSTS_DIR}"
"""


def gateway(network: str = NETWORK) -> str:
    """The IPv4 gateway of a Docker network (the host's address on it)."""
    done = run(
        [docker_command() or "docker", "network", "inspect", network, "--format", "{{json .IPAM.Config}}"],
        timeout=30,
    )
    if done.returncode != 0:
        raise KindError(f"the Docker network {network!r} is missing: {tail(done, 2)}")
    for entry in json.loads(done.stdout or "[]") or []:
        address = str(entry.get("Gateway") or "")
        if address and ":" not in address:
            return address
    raise KindError(f"the Docker network {network!r} has no IPv4 gateway")


def _dir(cache: CachePaths, cluster: str) -> Path:
    return cache.root / "kind" / cluster / "registry"


def config(cache: CachePaths, addr: str) -> dict[str, object]:
    """The local registry's configuration, read-only, on ``addr``."""
    base = localcluster.Registry(
        cache.registry_storage, Path("/nonexistent"), "127.0.0.1:5000", read_only=True
    ).config()
    http = dict(base["http"])  # type: ignore[call-overload]
    http["addr"] = addr
    return {**base, "http": http}


def _pid(cache: CachePaths, cluster: str) -> int | None:
    try:
        pid = int((_dir(cache, cluster) / "pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _healthy(addr: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{addr}/v2/", timeout=1) as response:
            return int(response.status) == 200
    except OSError:
        return False


def ensure_serving(cache: CachePaths, cluster: str, clock: Stopwatch) -> str:
    """Start the read-only registry on the kind network's gateway unless it answers; returns its
    ``host:port``. It outlives the test session (a reused cluster keeps pulling from it) and is
    stopped by :func:`stop` (``pytest-pods cluster down``, ``--pods-keep-cluster=no``)."""
    addr = f"{gateway()}:{PORT}"
    where = _dir(cache, cluster)
    where.mkdir(parents=True, exist_ok=True)
    recorded = where / "addr"
    if _pid(cache, cluster) and recorded.is_file() and recorded.read_text() == addr and _healthy(addr):
        return addr
    stop(cache, cluster)
    cache.registry_storage.mkdir(parents=True, exist_ok=True)
    (where / "registry.yml").write_text(yaml.safe_dump(config(cache, addr), sort_keys=False))
    log = where / "registry.log"
    localcluster.require_tools(["docker-registry"], need_root=False)
    # posix_spawn, not Popen: the registry outlives this process, and no Popen is left to warn
    argv = ["docker-registry", "serve", str(where / "registry.yml")]
    pid = os.posix_spawnp(
        argv[0],
        argv,
        dict(os.environ),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    (where / "pid").write_text(str(pid))
    recorded.write_text(addr)
    deadline = time.monotonic() + 15
    while not _healthy(addr):
        if _exited(pid) or time.monotonic() > deadline:
            raise KindError(
                f"the read-only registry for kind did not start on {addr} (log {log}):\n{log_tail(log, 15)}"
            )
        time.sleep(0.1)
    clock(f"serving the stand-in images read-only on {addr} (the kind network's gateway)")
    return addr


def _exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not our child (started by an earlier run): ask the kernel
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        return False
    return done == pid


def stop(cache: CachePaths, cluster: str) -> None:
    pid = _pid(cache, cluster)
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if _exited(pid):
                break
            time.sleep(0.1)
    with contextlib.suppress(OSError):
        (_dir(cache, cluster) / "pid").unlink()


def hosts_tar(addr: str, registries: Iterable[str], *, all_registries: bool) -> bytes:
    """A tar of ``<registry>/hosts.toml`` files pointing at ``addr`` (for ``docker cp -``)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "certs.d"
        known: tuple[str, ...] | None = None if all_registries else ()
        if known is None:
            localcluster.write_containerd_hosts(root, addr, registries, loopback_only=False)
        else:
            localcluster.write_containerd_hosts(root, addr, registries, known=known, loopback_only=False)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(root, arcname="certs.d")
        return buffer.getvalue()


def serve_node(
    cache: CachePaths,
    cluster: str,
    node: str,
    clock: Stopwatch,
    *,
    all_registries: bool = False,
    registries: Sequence[str] = (),
) -> str:
    """Make ``node``'s containerd pull ``registries`` (or every registry) from the stand-in registry."""
    addr = ensure_serving(cache, cluster, clock)
    docker = docker_command() or "docker"
    payload = hosts_tar(addr, registries, all_registries=all_registries)
    done = run([docker, "cp", "-", f"{node}:{Path(NODE_HOSTS_DIR).parent}"], stdin=payload, timeout=60)
    if done.returncode != 0:
        raise KindError(f"cannot write the registry mirrors into the kind node {node}: {tail(done, 3)}")
    return addr


def push_archives(cache: CachePaths, archives: Sequence[Path], clock: Stopwatch) -> list[str]:
    """Push image archives into the stand-in registry storage (through a temporary registry on
    127.0.0.1); returns the upstream names they now serve."""
    refs: list[str] = []
    localcluster.require_tools(["skopeo", "docker-registry"], need_root=False)
    with localcluster.writer(cache.registry_storage) as registry:
        for archive in archives:
            with clock.step(f"pushing {archive} to the stand-in registry"):
                refs += localcluster.push_archive(Path(archive), registry)
    return refs
