"""Repository-wide test settings.

Tests marked ``disruptive`` stop or kill the shared local cluster (and start a new one, with new
certificates). They run last, so that every test sharing the session's cluster runs before them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
