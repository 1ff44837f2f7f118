"""What the plugin costs a pytest session that uses no pods fixture: wall time of a one-test session.

    python benchmarks/idle_session.py [--runs 7] [--checkout PATH] [-- pytest args...]

Runs ``python -m pytest`` (not ``-q``: the report header is part of a session) on a file with one
plain test, ``--runs`` times, with the pytest_pods of ``--checkout`` (default: this one) first on
PYTHONPATH; prints the median and the spread. Compare two checkouts, or ``-p no:pods`` (the plugin
disabled), to see what the plugin adds.
``--existing-unreachable`` adds ``--pods-provider=existing`` with a kubeconfig whose API server does not
answer (127.0.0.1:9): what a session pays when its header probes the API server. ``--hanging-docker``
puts a ``docker`` first on PATH that never answers (as a wedged Docker daemon does): what a session pays
when something runs ``docker info``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    ap.add_argument("--existing-unreachable", action="store_true")
    ap.add_argument("--hanging-docker", action="store_true")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    times: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
        extra = list(args.pytest_args)
        if args.existing_unreachable:
            (Path(d) / "kubeconfig").write_text(KUBECONFIG)
            extra += ["--pods-provider=existing", "--pods-kubeconfig=kubeconfig", "--pods-context=c"]
        env = {
            **os.environ,
            "PYTHONPATH": str(args.checkout),
            "PYTEST_PODS_STATE_DIR": str(Path(d) / "state"),
        }
        if args.hanging_docker:
            bin_dir = Path(d) / "bin"
            bin_dir.mkdir()
            (bin_dir / "docker").write_text("#!/bin/sh\nexec sleep 60\n")
            (bin_dir / "docker").chmod(0o755)
            env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        for _ in range(args.runs):
            began = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-p",
                    "no:cacheprovider",
                    *extra,
                    "test_plain.py",
                ],
                cwd=d,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            times.append(time.perf_counter() - began)
            if done.returncode != 0:
                print(done.stdout + done.stderr, file=sys.stderr)
                return 1
    print(
        f"{args.checkout} {' '.join(extra)}: median {statistics.median(times):.2f}s "
        f"(min {min(times):.2f}s, max {max(times):.2f}s) over {args.runs} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
