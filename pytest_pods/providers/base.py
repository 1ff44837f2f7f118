"""The one interface every cluster provider implements, and what starting a cluster gives back.

A third-party provider types against this module (and :mod:`pytest_pods.core`, where ``ClusterInfo``
and ``Progress`` live); it need not import any built-in provider's cluster package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from pytest_pods.core.info import ClusterInfo
from pytest_pods.core.progress import Progress

__all__ = ["ClusterInfo", "Progress", "ProgressFn", "Provider", "ProviderStatus"]

#: The one progress type (:class:`pytest_pods.core.progress.Progress`), under its older name.
ProgressFn = Progress


@dataclass(frozen=True)
class ProviderStatus:
    """What ``pytest-pods cluster status`` prints for a provider: a headline, whether the cluster is
    healthy (the command's exit status), and detail lines (components, problems)."""

    headline: str
    healthy: bool
    details: list[str] = field(default_factory=list)


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
        """Stop the cluster this provider made (nothing for a cluster it only found; say so through
        ``progress``)."""
        ...

    def status(self) -> ProviderStatus:
        """Whether the provider's cluster is there and healthy, without starting or changing it."""
        ...

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        """Make the images in these archives available to the cluster's nodes."""
        ...
