"""pytest-pods' own hooks, for plugins (or a conftest.py) that add a cluster provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_pods.providers.base import Provider
    from pytest_pods.settings import Settings


def pytest_pods_provider_names() -> list[str]:  # type: ignore[empty-body]
    """Names of the providers this plugin adds, so that ``--pods-provider`` accepts them."""


@pytest.hookspec(firstresult=True)
def pytest_pods_make_provider(name: str, settings: Settings) -> Provider | None:
    """Make the provider called ``name`` (an object satisfying
    :class:`~pytest_pods.providers.base.Provider`), or return None to leave it to others.

    Called with the resolved name (``auto`` already decided); the built-in providers answer last.
    """
