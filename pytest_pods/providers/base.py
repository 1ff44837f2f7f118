"""The one interface every cluster provider implements, and what starting a cluster gives back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from pytest_pods.core.info import ClusterInfo
from pytest_pods.core.progress import Progress

__all__ = ["ClusterInfo", "Progress", "ProgressFn", "Provider"]

#: The one progress type (:class:`pytest_pods.core.progress.Progress`), under its older name.
ProgressFn = Progress


@runtime_checkable
class Provider(Protocol):
    """A source of clusters. ``start`` is idempotent (under pytest-xdist every worker calls it, one at
    a time, behind a file lock); ``stop`` undoes only what ``start`` created."""

    name: str

    def unavailable(self) -> str | None:
        """None if the provider can work here, else what is missing and how to get it."""
        ...

    def describe(self) -> str:
        """For the report header, before anything starts: which cluster, and which Kubernetes
        version is (or will be) in force, from the settings alone: no subprocess, no network."""
        ...

    def start(self, progress: Progress) -> ClusterInfo:
        """Make or find the cluster and return how to reach it."""
        ...

    def stop(self, progress: Progress) -> None:
        """Stop the cluster this provider made (nothing for a cluster it only found)."""
        ...

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        """Make the images in these archives available to the cluster's nodes."""
        ...
