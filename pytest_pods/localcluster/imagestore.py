"""containerd's image store, kept in the cache across ``down`` and ``up``.

Pulling the stand-ins and the add-on images into a fresh containerd (fetching them from the local
registry and unpacking every layer into an overlayfs snapshot) took about 7 s of every ``up``. They
never change for a given build, so the first ``up`` of a build fills a store once, with a private
containerd that runs no CRI and no container, and every ``up`` links that store into the cluster's
containerd root before containerd starts (a few dozen links, not a copy)::

    ~/.cache/pytest-pods/containerd/<key>/
        io.containerd.content.v1.content/        blobs: hard-linked (containerd writes a blob to an
                                                 ingest file and renames it; never in place)
        io.containerd.snapshotter.v1.overlayfs/  unpacked layers: snapshots/<id> symbolically linked (a
                                                 committed layer is only ever an overlay lower dir, and
                                                 removing one removes the link); metadata.db copied
        io.containerd.metadata.v1.bolt/meta.db   image records: copied (containerd writes it)
        images.json                              what it holds: reference -> manifest digest

``<key>`` hashes containerd's version, the snapshotter and each image's reference and manifest
digest, so a rebuilt stand-in or add-on gets a new store, and the next ``up`` removes the older ones. ``down``
removes the cluster's root (the links), never the store. containerd never writes to a blob or a
committed layer, so the store stays as it was filled (``tests/localcluster`` checks it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from pytest_pods.core.paths import log_tail
from pytest_pods.core.progress import Progress, Stopwatch, silent
from pytest_pods.localcluster.errors import ComponentError
from pytest_pods.localcluster.registry import Registry, write_containerd_hosts

if TYPE_CHECKING:
    from pytest_pods.localcluster.images import PlannedImage

#: Bump when what a store holds, or how it is made, changes in a way the key does not show.
STORE_VERSION = "1"
SNAPSHOTTER = "overlayfs"
NAMESPACE = "k8s.io"  # the CRI plugin's
CONTENT = "io.containerd.content.v1.content"
SNAPSHOTS = f"io.containerd.snapshotter.v1.{SNAPSHOTTER}"
METADATA = "io.containerd.metadata.v1.bolt"
#: Files containerd writes in place: copied, never linked.
_DATABASES = (f"{METADATA}/meta.db", f"{SNAPSHOTS}/metadata.db")
_INDEX = "images.json"
_START_TIMEOUT = 30.0
_PULL_TIMEOUT = 300.0


def containerd_version() -> str:
    out = subprocess.run(["containerd", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or f"unknown ({out.stderr.strip()[:100]})"


def store_key(images: Sequence[PlannedImage], version: str) -> str:
    digest = hashlib.sha256(f"image-store {STORE_VERSION}\n{version}\n{SNAPSHOTTER}\n".encode())
    for image in sorted(images, key=lambda i: i.ref):
        digest.update(f"{image.ref} {image.digest}\n".encode())
    return digest.hexdigest()[:16]


class ImageStore:
    """The kept stores under ``root`` (``CachePaths.image_store``), one directory per key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    def ready(self, key: str) -> bool:
        """A complete store for ``key`` (the index is written last, after containerd has stopped)."""
        return (self.path(key) / _INDEX).is_file()

    def images(self, key: str) -> dict[str, str]:
        """Reference -> manifest digest of what the store holds."""
        data: dict[str, str] = json.loads((self.path(key) / _INDEX).read_text())
        return data

    def fill(
        self,
        key: str,
        images: Sequence[PlannedImage],
        registry: Registry,
        run_dir: Path,
        progress: Progress = silent,
    ) -> Path:
        """Pull ``images`` from ``registry`` into a new store with a private containerd. ``run_dir``
        holds that containerd's socket and state meanwhile. Older stores stay (a running cluster may
        use one): ``prune`` removes them."""
        watch = Stopwatch.of(progress)
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / ".lock")):
            if self.ready(key):
                return self.path(key)
            work = self.root / f".{key}.partial"
            shutil.rmtree(work, ignore_errors=True)
            hosts = run_dir / "certs.d"
            write_containerd_hosts(hosts, registry.addr)
            with (
                watch.step(f"pulling {len(images)} images into the kept image store ({key})"),
                _private_containerd(work, run_dir) as address,
            ):
                _pull_all(address, hosts, [i.ref for i in images], run_dir / "containerd.log")
            for name in os.listdir(work):  # what a running containerd adds; the cluster's makes its own
                if name not in (CONTENT, SNAPSHOTS, METADATA):
                    _remove(work / name)
            (work / _INDEX).write_text(json.dumps({i.ref: i.digest for i in images}, indent=2))
            work.rename(self.path(key))
            return self.path(key)

    def restore(self, key: str, containerd_root: Path) -> None:
        """Put the store into an empty containerd root (containerd not running): the blobs hard-linked,
        each unpacked layer's directory a symbolic link, the databases containerd writes copied."""
        src = self.path(key)
        containerd_root.mkdir(parents=True, exist_ok=True)
        if any(containerd_root.iterdir()):
            raise ComponentError(
                "containerd", f"{containerd_root} is not empty; run `pytest-pods cluster down`"
            )
        subprocess.run(["cp", "-a", "--link", str(src / CONTENT), str(containerd_root)], check=True)
        for directory in (METADATA, f"{SNAPSHOTS}/snapshots"):
            (containerd_root / directory).mkdir(mode=0o700, parents=True)
        for name in _DATABASES:
            shutil.copy2(src / name, containerd_root / name)
        for layer in (src / SNAPSHOTS / "snapshots").iterdir():
            (containerd_root / SNAPSHOTS / "snapshots" / layer.name).symlink_to(
                layer, target_is_directory=True
            )

    def prune(self, keep: str) -> None:
        """Remove every store but ``keep``. Only ``up`` calls it, when the machine's one cluster is
        about to use ``keep`` (the one before it is gone): a cluster's layers link into its store."""
        for old in self.root.iterdir():
            if old.name != keep and not old.name.startswith("."):
                _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def _private_containerd(root: Path, run_dir: Path) -> Iterator[Path]:
    """A containerd of our own on ``root``: no CRI plugin, no network, gone after the block."""
    run_dir.mkdir(parents=True, exist_ok=True)
    address = run_dir / "containerd.sock"
    config = run_dir / "containerd.toml"
    config.write_text(
        f"""version = 2
root = "{root}"
state = "{run_dir / "state"}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{address}"

[ttrpc]
  address = "{address}.ttrpc"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{run_dir / "opt"}"
"""
    )
    log = run_dir / "containerd.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            ["containerd", f"--config={config}"], stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(address):
            if proc.poll() is not None or time.monotonic() > deadline:
                what = (
                    f"exited {proc.returncode}"
                    if proc.poll() is not None
                    else f"no socket after {_START_TIMEOUT:g}s"
                )
                raise ComponentError("containerd (image store)", what, str(log), log_tail(log))
            time.sleep(0.05)
        yield address
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(address: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(str(address))
    except OSError:
        return False
    finally:
        s.close()
    return True


def _pull_all(address: Path, hosts: Path, refs: Sequence[str], log: Path) -> None:
    argv = [
        "ctr",
        f"--address={address}",
        f"--namespace={NAMESPACE}",
        "images",
        "pull",
        f"--hosts-dir={hosts}",
        f"--snapshotter={SNAPSHOTTER}",
    ]
    pulls = [
        (ref, subprocess.Popen([*argv, ref], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for ref in refs
    ]
    failed = []
    for ref, proc in pulls:
        try:
            _, err = proc.communicate(timeout=_PULL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        if proc.returncode != 0:
            failed.append(f"{ref}: {err.decode(errors='replace').strip()[-300:]}")
    if failed:
        raise ComponentError(
            "containerd (image store)", "could not pull: " + "; ".join(failed), str(log), log_tail(log)
        )
