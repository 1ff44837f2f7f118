"""The kind node's base image, offline: the local cluster's ``debootstrap`` base (Debian bookworm),
Debian's systemd, containerd, runc and CNI plugins, and kind's own node files (entrypoint, systemd
units, containerd config, ``/kind/bin``) read from kind's module in the Go module cache.

The result is ``docker import``-ed as ``pytest-pods/kind-base:<key>``, the key hashing everything
that goes in, so it is built once per change.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from filelock import FileLock

from pytest_pods import localcluster
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Stopwatch
from pytest_pods.kindcluster.tools import KIND_VERSION, docker_command, kind_source, run, tail

#: Bump when the steps below change in a way the inputs do not show.
BASE_RECIPE = "1"
BASE_REPO = "pytest-pods/kind-base"
#: What kind's images/base/Dockerfile installs, with Debian's container runtime in place of the
#: containerd/runc/CNI builds it compiles (Debian's ctr has no `info`, which only `kind build` needs).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "containerd",
    "runc",
    "containernetworking-plugins",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "e2fsprogs",
    "bash",
    "ca-certificates",
    "jq",
    "procps",
)

#: Run in the chroot after kind's files are in place: what kind's Dockerfile RUN steps do.
SETUP = r"""set -eu
chmod 755 /kind /kind/bin /usr/local/bin/entrypoint /usr/local/bin/clean-install /kind/bin/*.sh
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init
# Debian's runtime where kind's units and config expect its own builds
ln -sf /usr/bin/containerd /usr/local/bin/containerd
ln -sf /usr/bin/containerd-shim-runc-v2 /usr/local/bin/containerd-shim-runc-v2
ln -sf /usr/bin/ctr /usr/local/bin/ctr
ln -sf /usr/sbin/runc /usr/local/sbin/runc
mkdir -p /opt/cni/bin
for plugin in /usr/lib/cni/*; do ln -sf "$plugin" /opt/cni/bin/; done
hook='{"path": "/kind/bin/mount-product-files.sh"}'
ctr oci spec \
  | jq ".hooks.createContainer[.hooks.createContainer | length] |= . + $hook" \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests /etc/containerd/certs.d
"""

#: ``docker import`` takes no STOPSIGNAL: ``docker stop`` of a node waits its 10 s and kills it.
IMPORT_CHANGES = (
    "ENV container=docker",
    "LABEL io.pytest-pods.kind-base=true",
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
)


def base_files(kind_dir: Path) -> Path:
    return kind_dir / "images" / "base" / "files"


def base_image_key(mirror: str, kind_dir: Path) -> str:
    digest = hashlib.sha256(
        f"kind-base {BASE_RECIPE} {KIND_VERSION} {localcluster.base_key(mirror)}\n".encode()
    )
    digest.update(" ".join(PACKAGES).encode() + SETUP.encode())
    for path in sorted(base_files(kind_dir).rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(kind_dir)}\n".encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def image_exists(ref: str) -> bool:
    docker = docker_command() or "docker"
    return run([docker, "image", "inspect", "--format", "{{.Id}}", ref], timeout=30).returncode == 0


def build_base_image(cache: CachePaths, watch: Stopwatch) -> str:
    """The reference of the base image, built (as root: debootstrap and chroot) when missing."""
    kind_dir = kind_source(cache, watch)
    mirror = localcluster.debian_mirror()
    ref = f"{BASE_REPO}:{base_image_key(mirror, kind_dir)}"
    if image_exists(ref):
        watch(f"base image {ref}: present")
        return ref
    localcluster.require_tools(["debootstrap", "tar", "chroot"], need_root=True)
    cache.images.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache.images / ".build.lock")):
        base_tar = localcluster.build_base(cache, mirror, localcluster.base_key(mirror), watch)
    what = f"the kind base image {ref}"
    with localcluster.base_rootfs(base_tar, cache.root / "kind" / "build", "kind-base-", what) as rootfs:
        with localcluster.networked_chroot(rootfs):
            with watch.step(
                f"kind base: apt-get install {len(PACKAGES)} packages (systemd, containerd, ...)"
            ):
                localcluster.apt_install(rootfs, PACKAGES, what)
            with watch.step("kind base: kind's node files, units and containerd runtime spec"):
                _copy_tree(base_files(kind_dir), rootfs)
                script = rootfs / "tmp" / "kind-base-setup.sh"
                script.write_text(SETUP)
                localcluster.chroot(rootfs, ["/bin/sh", "/tmp/kind-base-setup.sh"], what)
                localcluster.chroot(
                    rootfs, ["/bin/sh", "-c", "apt-get clean; rm -rf /var/lib/apt/lists/* /tmp/*"], what
                )
        localcluster.empty_dir(rootfs / "dev")
        with watch.step(f"kind base: docker import {ref}"):
            packed = rootfs.parent / "rootfs.tar"
            localcluster.pack_rootfs(rootfs, packed, what)
            changes = [arg for change in IMPORT_CHANGES for arg in ("--change", change)]
            docker = docker_command() or "docker"
            done = run([docker, "import", *changes, str(packed), ref], timeout=900, what=what)
            if done.returncode != 0:
                raise localcluster.BuildError(what, f"docker import exited {done.returncode}", tail(done))
    return ref


def _copy_tree(source: Path, rootfs: Path) -> None:
    """kind's files (read-only in the module cache) into the rootfs, writable and root-owned."""
    for path in sorted(source.rglob("*")):
        target = rootfs / path.relative_to(source)
        if path.is_dir():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copyfile(path, target)
            target.chmod(0o644)
