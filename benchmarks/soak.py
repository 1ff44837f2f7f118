"""Run the real-cluster suites N times in a row and count every test that ever failed.

    python benchmarks/soak.py [--runs 20] [--hog] [--junit-dir DIR] [-- PYTEST ARGS...]

Each run is one ``python -m pytest`` of ``examples`` and ``tests/cluster`` (or the paths after ``--``)
with a JUnit XML report; the reports are read back, so a test that failed, errored or was skipped is
counted by its node id. With ``--hog`` one busy process per core runs for the whole soak (bounded: they
end with it), to bring out the races that a loaded CI machine brings out.

Prints one line per run, then every test that did not pass every time with its counts, then the
totals. The exit code is 1 if any run had a failure or an error, so a soak can gate a change.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ["examples", "tests/cluster"]


def _burn(stop_at: float) -> None:
    """A busy loop, bounded in time even if the parent dies."""
    while time.monotonic() < stop_at:
        pass


def outcomes(junit: Path) -> dict[str, str]:
    """Each test's outcome in one JUnit XML report: passed, failed, error or skipped."""
    result: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                break
        result[name] = outcome
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--hog", action="store_true", help="keep every core busy during the soak")
    ap.add_argument("--junit-dir", type=Path, help="keep the JUnit reports here (default: a temp dir)")
    ap.add_argument("--max-hours", type=float, default=3.0, help="stop starting runs after this long")
    ap.add_argument("pytest_args", nargs="*", help="after --: paths and options for pytest")
    args = ap.parse_args()

    paths = args.pytest_args or DEFAULT_PATHS
    junit_dir = args.junit_dir or Path(tempfile.mkdtemp(prefix="pytest-pods-soak-"))
    junit_dir.mkdir(parents=True, exist_ok=True)
    counts: dict[str, Counter[str]] = {}
    failed_runs = 0
    began = time.monotonic()

    hogs: list[multiprocessing.Process] = []
    if args.hog:
        stop_at = time.monotonic() + args.max_hours * 3600
        hogs = [
            multiprocessing.Process(target=_burn, args=(stop_at,), daemon=True)
            for _ in range(os.cpu_count() or 1)
        ]
        for hog in hogs:
            hog.start()
    print(f"soak: {args.runs} runs of pytest {' '.join(paths)}" + (f", {len(hogs)} CPU hogs" if hogs else ""))
    try:
        for run in range(1, args.runs + 1):
            if time.monotonic() - began > args.max_hours * 3600:
                print(f"soak: stopping after {run - 1} runs (--max-hours {args.max_hours:g})")
                break
            junit = junit_dir / f"run-{run:03d}.xml"
            started = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--junitxml={junit}",
                    *paths,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            took = time.monotonic() - started
            if not junit.exists():
                print(
                    f"run {run:3d}: exit {proc.returncode} in {took:.0f}s, no report:\n{proc.stdout[-2000:]}"
                )
                failed_runs += 1
                continue
            results = outcomes(junit)
            for name, outcome in results.items():
                counts.setdefault(name, Counter())[outcome] += 1
            bad = sorted(n for n, o in results.items() if o in ("failed", "error"))
            failed_runs += bool(bad) or proc.returncode not in (0,)
            print(
                f"run {run:3d}: exit {proc.returncode} in {took:.0f}s, {len(results)} tests"
                + (f", not passed: {', '.join(bad)}" if bad else "")
            )
    finally:
        for hog in hogs:
            hog.terminate()

    unsteady = {n: c for n, c in counts.items() if set(c) != {"passed"}}
    print(f"\nsoak: reports in {junit_dir}")
    if unsteady:
        print("tests that did not pass every time (passed/failed/error/skipped):")
        for name, c in sorted(unsteady.items()):
            print(f"  {name}: {c['passed']}/{c['failed']}/{c['error']}/{c['skipped']}")
    else:
        print("every test passed in every run")
    total = sum(sum(c.values()) for c in counts.values())
    failures = sum(c["failed"] + c["error"] for c in counts.values())
    print(f"soak: {failed_runs} failed runs; {failures} failures in {total} test runs")
    return 1 if failed_runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
