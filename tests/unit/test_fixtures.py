"""fixtures.py: the marker's signature and the keep-namespace rule (pure)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pytest_pods.fixtures import PHASE_REPORTS_KEY, keep_namespace
from pytest_pods.markers import validate_pods_manifest
from pytest_pods.settings import Settings


def test_marker_signature() -> None:
    assert validate_pods_manifest("a.yaml", wait=False, timeout=3) == (("a.yaml",), False, 3)
    with pytest.raises(TypeError, match="at least one manifest"):
        validate_pods_manifest()
    with pytest.raises(TypeError, match="unexpected keyword argument 'wiat'"):
        validate_pods_manifest("a.yaml", wiat=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="timeout"):
        validate_pods_manifest("a.yaml", timeout="soon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "failed", "kept"),
    [
        ("never", True, False),
        ("on-failure", True, True),
        ("on-failure", False, False),
        ("always", False, True),
    ],
)
def test_keep_namespace_rule(when: str, failed: bool, kept: bool) -> None:
    item = SimpleNamespace(stash={PHASE_REPORTS_KEY: {"call": SimpleNamespace(failed=failed)}})
    assert keep_namespace(Settings(keep_namespace=when), item) is kept  # type: ignore[arg-type]
