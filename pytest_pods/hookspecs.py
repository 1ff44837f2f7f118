"""pytest-pods' own hook, for plugins (or a conftest.py) that add a cluster provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_pods.providers import ProviderFactory


def pytest_pods_providers() -> Mapping[str, ProviderFactory]:  # type: ignore[empty-body]
    """The providers this plugin adds: name -> factory (called with the session's
    :class:`~pytest_pods.settings.Settings`; a class satisfying
    :class:`~pytest_pods.providers.base.Provider` is one). Each name becomes a valid
    ``--pods-provider`` value; a plugin's name wins over a built-in's. Called once, at
    ``pytest_configure``.
    """
