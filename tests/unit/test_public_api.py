"""pytest_pods/__init__.py: a small public API, kept honest."""

from __future__ import annotations

import types

import pytest_pods


def test_public_api_is_sorted_and_honest() -> None:
    assert pytest_pods.__all__ == sorted(pytest_pods.__all__)
    public = {
        n
        for n, v in vars(pytest_pods).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public == set(pytest_pods.__all__)
    for name in pytest_pods.__all__:
        # each name is the package's own object, re-exported (not something of a dependency)
        assert getattr(pytest_pods, name).__module__.startswith("pytest_pods."), name
