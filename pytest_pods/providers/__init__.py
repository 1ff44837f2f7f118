"""Cluster providers: one module each behind the :class:`~pytest_pods.providers.base.Provider` Protocol.

A plugin adds one through the ``pytest_pods_make_provider`` and ``pytest_pods_provider_names`` hooks.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_pods.errors import ProviderError
from pytest_pods.providers.base import ClusterInfo, Provider
from pytest_pods.providers.existing import ExistingProvider
from pytest_pods.providers.kind import KindProvider, docker_unavailable, kind_binary
from pytest_pods.providers.local import LocalProvider, local_unavailable
from pytest_pods.settings import Settings

BUILTIN: dict[str, Callable[[Settings], Provider]] = {
    "existing": ExistingProvider,
    "kind": KindProvider,
    "local": LocalProvider,
}

__all__ = ["BUILTIN", "ClusterInfo", "Provider", "choose_auto", "make_builtin"]


def make_builtin(name: str, settings: Settings) -> Provider | None:
    factory = BUILTIN.get(name)
    return factory(settings) if factory else None


def choose_auto(settings: Settings) -> tuple[str, str]:
    """``(provider name, why)`` for ``auto``: kind where Docker answers and kind is installed, else
    local where this machine can run it; else :class:`ProviderError` saying what to install."""
    docker = docker_unavailable()
    kind_missing = kind_binary(settings) is None
    if docker is None and not kind_missing:
        return "kind", "a Docker engine answers"
    local = local_unavailable()
    if local is None:
        return "local", "no Docker engine answers" if docker else "kind is not installed"
    raise ProviderError(
        "no cluster provider can work on this machine:\n"
        f"  kind: {docker or 'kind is not on PATH'} -> install Docker and kind\n"
        f"  local: {local}\n"
        "  existing: point --pods-provider=existing --pods-kubeconfig PATH at a cluster you have"
    )
