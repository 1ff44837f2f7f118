"""Which versions the local cluster builds, and what was found about each on this kind of machine.

Tried here (2-core VM, kernel 6.18, cgroup v1, Debian containerd 1.6.20, runc 1.1.5, CNI 1.1.1):
  v1.34.4  default: builds with Go 1.26 through the module proxy; kubelet runs on cgroup v1 with
           failCgroupV1=false and containerd 1.6.20.
Newer minors (v1.35.4, v1.36.x, v1.37.2) are served by the proxy; see README "Kubernetes versions"
for what happened when each was tried.
"""

from __future__ import annotations

import re

DEFAULT_KUBERNETES_VERSION = "v1.34.4"
DEFAULT_ETCD_VERSION = "v3.6.16"
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
