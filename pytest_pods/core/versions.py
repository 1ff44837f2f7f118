"""Which versions pytest-pods builds (for the local cluster, and for kind's offline node image from the
same build), and what was found about each on this kind of machine.

Tried here (2 cores, kernel 6.18, cgroup v1, Debian containerd 1.6.20, runc 1.1.5, CNI 1.1.1, Go 1.26.8),
each built from the Go module proxy, started with `pytest-pods cluster up --kubernetes-version V`,
then the lab's pods03 applied, exec'd into and read:

  v1.37.2  works: the default (newest served). Cold build of the five binaries 6m01s.
           Needed: the controller-manager's default controller list (1.37 dropped the name
           "cloud-node-lifecycle"), failCgroupV1=false, restrict_oom_score_adj in containerd.
  v1.35.4  works. Cold-ish build 7m24s (Go caches shared with 1.34).
  v1.34.4  works: the first one brought up; cold build 4m51s with empty Go caches.
  v1.36.x  not tried (v1.36.1 and v1.36.3 are served); expected to behave like 1.35 and 1.37.
Served by the proxy: v1.34.0-4, v1.35.4, v1.36.1, v1.36.3, v1.37.2. etcd: v3.6.16 (26 s to build).
"""

from __future__ import annotations

import re

DEFAULT_KUBERNETES_VERSION = "v1.37.2"
DEFAULT_ETCD_VERSION = "v3.6.16"
#: kubeadm 1.37's CoreDNSVersion; its image is registry.k8s.io/coredns/coredns:<this>.
DEFAULT_COREDNS_VERSION = "v1.14.6"
#: v0.0.34 is refused by the module proxy; v0.0.30 builds.
DEFAULT_LOCAL_PATH_PROVISIONER_VERSION = "v0.0.30"
MIN_KUBERNETES_MINOR = 34

_VERSION = re.compile(r"^v?1\.(\d+)\.(\d+)$")


def normalize_kubernetes_version(value: str) -> str:
    """``1.34.4`` or ``v1.34.4`` -> ``v1.34.4``; rejects anything else and minors below 1.34."""
    m = _VERSION.match(value.strip())
    if not m:
        raise ValueError(f"not a Kubernetes version: {value!r} (expected e.g. {DEFAULT_KUBERNETES_VERSION})")
    if int(m.group(1)) < MIN_KUBERNETES_MINOR:
        raise ValueError(f"Kubernetes {value} is older than 1.{MIN_KUBERNETES_MINOR}, the oldest supported")
    return f"v1.{m.group(1)}.{m.group(2)}"


def minor_of(version: str) -> int:
    m = _VERSION.match(version)
    if not m:
        raise ValueError(f"not a Kubernetes version: {version!r}")
    return int(m.group(1))
