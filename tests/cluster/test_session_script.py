"""examples/session_without_pytest.py runs, as a plain script without pytest, against this cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pytest_pods
from pytest_pods import Cluster

ROOT = Path(pytest_pods.__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "session_without_pytest.py"

pytestmark = pytest.mark.cluster


def test_a_plain_script_drives_a_whole_session(pods_cluster: Cluster, tmp_path: Path) -> None:
    args = [sys.executable, str(SCRIPT), "--provider=existing"]
    args.append(f"--kubeconfig={pods_cluster.info.kubeconfig}")
    if pods_cluster.info.context:
        args.append(f"--context={pods_cluster.info.context}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("cluster: ") and "Kubernetes v1." in lines[0]
    assert any(line.startswith("pod pp-webserver-") and ": Running, ip " in line for line in lines), lines
    assert any(line.startswith("exec: nginx version: nginx/") for line in lines), lines
    assert "port-forward: HTTP 200, the nginx welcome page" in lines
    assert "namespace deleted" in lines
    assert lines[-1] == "pytest imported: False"
    assert not list((tmp_path / "state").glob("*.json")), "the run's marker files outlived it"
