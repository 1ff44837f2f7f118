"""A single-node Kubernetes made of host processes: no Docker, no outside registry.

Usable without pytest: ``LocalCluster(ClusterConfig()).up()``. This module is the package's one
public face: the ``local`` provider, the ``pytest-pods`` command and the kind lifecycle
(:mod:`pytest_pods.kindcluster`, which builds its node image from the same binaries and images)
import from here, never from the modules inside. It imports nothing of the plugin but
:mod:`pytest_pods.core`, and raises its own errors (:class:`LocalClusterError` and below).

The names load on first use (the build, the certificates and the supervisor are not imported by a
session that starts no local cluster).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pods.core.lazy import lazy_face

if TYPE_CHECKING:
    from pytest_pods.localcluster.addons import AddonSettings as AddonSettings
    from pytest_pods.localcluster.addons import coredns_image as coredns_image
    from pytest_pods.localcluster.addons import local_path_provisioner_image as local_path_provisioner_image
    from pytest_pods.localcluster.addons import manifests as addon_manifests
    from pytest_pods.localcluster.build import GoBuilder as GoBuilder
    from pytest_pods.localcluster.build import coredns_binary as coredns_binary
    from pytest_pods.localcluster.build import etcd_binary as etcd_binary
    from pytest_pods.localcluster.build import kubernetes_binaries as kubernetes_binaries
    from pytest_pods.localcluster.build import local_path_provisioner_binary as local_path_provisioner_binary
    from pytest_pods.localcluster.cluster import ClusterConfig as ClusterConfig
    from pytest_pods.localcluster.cluster import ClusterStatus as ClusterStatus
    from pytest_pods.localcluster.cluster import LocalCluster as LocalCluster
    from pytest_pods.localcluster.configs import Network as Network
    from pytest_pods.localcluster.errors import BuildError as BuildError
    from pytest_pods.localcluster.errors import ClusterError as ClusterError
    from pytest_pods.localcluster.errors import ComponentError as ComponentError
    from pytest_pods.localcluster.errors import LocalClusterError as LocalClusterError
    from pytest_pods.localcluster.errors import PreflightError as PreflightError
    from pytest_pods.localcluster.host import Preflight as Preflight
    from pytest_pods.localcluster.images import RECIPES as IMAGE_RECIPES
    from pytest_pods.localcluster.images import BinaryImage as BinaryImage
    from pytest_pods.localcluster.images import apt_install as apt_install
    from pytest_pods.localcluster.images import base_key as base_key
    from pytest_pods.localcluster.images import base_rootfs as base_rootfs
    from pytest_pods.localcluster.images import binary_image as binary_image
    from pytest_pods.localcluster.images import build_and_push as build_and_push
    from pytest_pods.localcluster.images import build_base as build_base
    from pytest_pods.localcluster.images import build_image as build_image
    from pytest_pods.localcluster.images import chroot as chroot
    from pytest_pods.localcluster.images import debian_mirror as debian_mirror
    from pytest_pods.localcluster.images import empty_dir as empty_dir
    from pytest_pods.localcluster.images import layout_digest as layout_digest
    from pytest_pods.localcluster.images import layout_path as layout_path
    from pytest_pods.localcluster.images import networked_chroot as networked_chroot
    from pytest_pods.localcluster.images import pack as pack_rootfs
    from pytest_pods.localcluster.images import preflight as require_tools
    from pytest_pods.localcluster.images import push_archive as push_archive
    from pytest_pods.localcluster.images import recipe_key as recipe_key
    from pytest_pods.localcluster.images import save_docker_archive as save_docker_archive
    from pytest_pods.localcluster.paths import StatePaths as StatePaths
    from pytest_pods.localcluster.registry import Registry as Registry
    from pytest_pods.localcluster.registry import write_containerd_hosts as write_containerd_hosts
    from pytest_pods.localcluster.registry import writer as writer

#: Each public name -> (the module inside that defines it, its name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "AddonSettings": ("addons", "AddonSettings"),
    "BinaryImage": ("images", "BinaryImage"),
    "BuildError": ("errors", "BuildError"),
    "ClusterConfig": ("cluster", "ClusterConfig"),
    "ClusterError": ("errors", "ClusterError"),
    "ClusterStatus": ("cluster", "ClusterStatus"),
    "ComponentError": ("errors", "ComponentError"),
    "GoBuilder": ("build", "GoBuilder"),
    "IMAGE_RECIPES": ("images", "RECIPES"),
    "LocalCluster": ("cluster", "LocalCluster"),
    "LocalClusterError": ("errors", "LocalClusterError"),
    "Network": ("configs", "Network"),
    "Preflight": ("host", "Preflight"),
    "PreflightError": ("errors", "PreflightError"),
    "Registry": ("registry", "Registry"),
    "StatePaths": ("paths", "StatePaths"),
    "addon_manifests": ("addons", "manifests"),
    "apt_install": ("images", "apt_install"),
    "base_key": ("images", "base_key"),
    "base_rootfs": ("images", "base_rootfs"),
    "binary_image": ("images", "binary_image"),
    "build_and_push": ("images", "build_and_push"),
    "build_base": ("images", "build_base"),
    "build_image": ("images", "build_image"),
    "chroot": ("images", "chroot"),
    "coredns_binary": ("build", "coredns_binary"),
    "coredns_image": ("addons", "coredns_image"),
    "debian_mirror": ("images", "debian_mirror"),
    "empty_dir": ("images", "empty_dir"),
    "etcd_binary": ("build", "etcd_binary"),
    "kubernetes_binaries": ("build", "kubernetes_binaries"),
    "layout_digest": ("images", "layout_digest"),
    "layout_path": ("images", "layout_path"),
    "local_path_provisioner_binary": ("build", "local_path_provisioner_binary"),
    "local_path_provisioner_image": ("addons", "local_path_provisioner_image"),
    "networked_chroot": ("images", "networked_chroot"),
    "pack_rootfs": ("images", "pack"),
    "push_archive": ("images", "push_archive"),
    "recipe_key": ("images", "recipe_key"),
    "require_tools": ("images", "preflight"),
    "save_docker_archive": ("images", "save_docker_archive"),
    "write_containerd_hosts": ("registry", "write_containerd_hosts"),
    "writer": ("registry", "writer"),
}

__all__ = [
    "IMAGE_RECIPES",
    "AddonSettings",
    "BinaryImage",
    "BuildError",
    "ClusterConfig",
    "ClusterError",
    "ClusterStatus",
    "ComponentError",
    "GoBuilder",
    "LocalCluster",
    "LocalClusterError",
    "Network",
    "Preflight",
    "PreflightError",
    "Registry",
    "StatePaths",
    "addon_manifests",
    "apt_install",
    "base_key",
    "base_rootfs",
    "binary_image",
    "build_and_push",
    "build_base",
    "build_image",
    "chroot",
    "coredns_binary",
    "coredns_image",
    "debian_mirror",
    "empty_dir",
    "etcd_binary",
    "kubernetes_binaries",
    "layout_digest",
    "layout_path",
    "local_path_provisioner_binary",
    "local_path_provisioner_image",
    "networked_chroot",
    "pack_rootfs",
    "push_archive",
    "recipe_key",
    "require_tools",
    "save_docker_archive",
    "write_containerd_hosts",
    "writer",
]

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
