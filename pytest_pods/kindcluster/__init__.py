"""The kind provider's whole lifecycle, usable without pytest: the Docker and kind command lines,
kind itself built from the Go module proxy, an offline kind node image assembled from the local
cluster's Kubernetes build and Debian packages, the stand-in registry mirror, and the cluster
(create, reuse, delete) with pytest-kind's handle of it.

This module is the package's one public face: the ``kind`` provider and the ``pytest-pods`` command
import from here, never from the modules inside. It imports nothing of the plugin but
:mod:`pytest_pods.core` and the local cluster's face (:mod:`pytest_pods.localcluster`, for the
builds, images, registry and add-ons it shares), and raises its own :class:`KindError` (the builds
it shares raise the local cluster's errors). The names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_pods.core.lazy import lazy_face

if TYPE_CHECKING:
    from pytest_pods.kindcluster.cluster import CLUSTER_NAME as CLUSTER_NAME
    from pytest_pods.kindcluster.cluster import KindCluster as KindCluster
    from pytest_pods.kindcluster.cluster import KindInfo as KindInfo
    from pytest_pods.kindcluster.cluster import KindSpec as KindSpec
    from pytest_pods.kindcluster.cluster import describe as describe
    from pytest_pods.kindcluster.errors import KindError as KindError
    from pytest_pods.kindcluster.handle import OfflineKindHandle as OfflineKindHandle
    from pytest_pods.kindcluster.node import build_node_image as build_node_image
    from pytest_pods.kindcluster.tools import KIND_VERSION as KIND_VERSION
    from pytest_pods.kindcluster.tools import docker_unavailable as docker_unavailable
    from pytest_pods.kindcluster.tools import find_kind as find_kind
    from pytest_pods.kindcluster.tools import go_install as go_install
    from pytest_pods.kindcluster.tools import install_kind as install_kind

#: Each public name -> (the module inside that defines it, its name there).
_EXPORTS: dict[str, tuple[str, str]] = {
    "CLUSTER_NAME": ("cluster", "CLUSTER_NAME"),
    "KIND_VERSION": ("tools", "KIND_VERSION"),
    "KindCluster": ("cluster", "KindCluster"),
    "KindError": ("errors", "KindError"),
    "KindInfo": ("cluster", "KindInfo"),
    "KindSpec": ("cluster", "KindSpec"),
    "OfflineKindHandle": ("handle", "OfflineKindHandle"),
    "build_node_image": ("node", "build_node_image"),
    "describe": ("cluster", "describe"),
    "docker_unavailable": ("tools", "docker_unavailable"),
    "find_kind": ("tools", "find_kind"),
    "go_install": ("tools", "go_install"),
    "install_kind": ("tools", "install_kind"),
}

__all__ = [
    "CLUSTER_NAME",
    "KIND_VERSION",
    "KindCluster",
    "KindError",
    "KindInfo",
    "KindSpec",
    "OfflineKindHandle",
    "build_node_image",
    "describe",
    "docker_unavailable",
    "find_kind",
    "go_install",
    "install_kind",
]

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
