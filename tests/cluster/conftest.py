"""Real-cluster tests: they run against the cluster of ``--pods-provider`` (auto: local here)
through the plugin's own fixtures. Nothing here stands in for the cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods import Cluster

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture
def existing_args(pods_cluster: Cluster) -> list[str]:
    """Options that point an inner pytest run at this same cluster through the existing provider."""
    args = [
        "-p",
        "no:cacheprovider",
        "--pods-provider=existing",
        f"--pods-kubeconfig={pods_cluster.info.kubeconfig}",
    ]
    if pods_cluster.info.context:
        args.append(f"--pods-context={pods_cluster.info.context}")
    return args


@pytest.fixture(autouse=True)
def _inner_runs_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs (pytester) keep their lock and marker files in a temporary directory."""
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(tmp_path / "inner-state"))
