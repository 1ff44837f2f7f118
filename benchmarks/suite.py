"""Every speed figure of the fast loop in one run, each against a baseline measured in the same run.

    flock /tmp/pp-cluster.lock python3 benchmarks/suite.py [--runs 3] [--baseline-ref REF] [--cold] [--up]

Run it from the repository root, under the cluster lock (it runs suites against the shared local
cluster). Prints:
  * the warm reference suite (``python3 -m pytest examples``, cluster already up): this checkout
    against ``--baseline-ref`` (a checkout of that commit, run the same way; default: main before
    issue 10, where every test applied its manifest into a namespace of its own), alternating;
  * ``-n 2`` (``--dist load`` and ``--dist loadscope``) against serial, alternating: the xdist speed-up;
  * with ``--cold``: ``cluster down``, then the suite (which starts the cluster): the cold suite time
    (the cluster is up again afterwards);
  * with ``--up``: ``cluster down`` then ``cluster up`` as the CLI prints it, with its progress lines
    (the per-phase breakdown);
  * pods03 from apply to Ready (``benchmarks/cluster_up.py``'s measure);
  * one test's work against plain kubectl (``benchmarks/overhead.py``'s a/b ratio).
The machine is shared and noisy: each figure is a median, and the ratios compare runs of the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REF = "f53f21b"  # main before issue 10: a namespace per test, a 5 s wait at the session's end


def run(
    cmd: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None, check: bool = True
) -> tuple[float, str]:
    """Run ``cmd``; return its wall time and output. A failing command stops the benchmark if ``check``."""
    began = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - began
    if check and proc.returncode != 0:
        sys.exit(
            f"benchmark: {' '.join(cmd)} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        )
    return took, proc.stdout + proc.stderr


FAILURES: list[str] = []  # suite runs that did not pass all their tests: printed with the figures


def suite(root: Path, *extra: str) -> float:
    """One run of the reference suite in ``root``, with that checkout's code; its wall time."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "pytest", "examples", "-q", "-p", "no:cacheprovider", *extra]
    took, out = run(cmd, root, env, check=False)
    summary = (re.findall(r"^=* ?(\d+ \w+.* in [\d.]+s.*?) ?=*$", out, re.M) or ["no summary"])[-1]
    if not re.fullmatch(r"\d+ passed in .*", summary):
        FAILURES.append(f"{root.name} {' '.join(extra)}: {summary}")
        print(f"  not all passed: {summary}; failures: {re.findall(r'^FAILED .*', out, re.M)}", flush=True)
    return took


def baseline_checkout(ref: str) -> Path:
    where = Path(tempfile.mkdtemp(prefix="pytest-pods-baseline-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs):6.2f} s  (runs: {', '.join(f'{x:.1f}' for x in xs)})"


def cluster_cli(*args: str) -> tuple[float, str]:
    return run([sys.executable, "-m", "pytest_pods", "cluster", *args])


def pods03_ready(runs: int) -> list[float]:
    spec = importlib.util.spec_from_file_location("cluster_up", ROOT / "benchmarks" / "cluster_up.py")
    assert spec and spec.loader
    cluster_up = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cluster_up)
    from pytest_pods.localcluster import LocalCluster

    cluster = LocalCluster()
    kubectl = cluster.cache.bin_dir("kubernetes", cluster.config.kubernetes_version) / "kubectl"
    return [float(cluster_up.pods03_ready_seconds(cluster, kubectl)) for _ in range(runs)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="runs of each warm suite (default 3)")
    ap.add_argument(
        "--baseline-ref", default=BASELINE_REF, help=f"git commit of the baseline [{BASELINE_REF}]"
    )
    ap.add_argument("--cold", action="store_true", help="also the cold suite (stops the shared cluster once)")
    ap.add_argument("--up", action="store_true", help="also `cluster down` + `cluster up` with its breakdown")
    ap.add_argument("--pod-runs", type=int, default=5)
    ap.add_argument("--overhead-runs", type=int, default=7)
    args = ap.parse_args()

    cluster_cli("up")  # warm: the cluster is up before any timed run
    base = baseline_checkout(args.baseline_ref)
    print(f"baseline: {args.baseline_ref} in {base}; this checkout: {ROOT}", flush=True)
    suite(base)  # one untimed run of each, so that the first timed one is not the one that pulls images
    suite(ROOT)
    new: list[float] = []
    old: list[float] = []
    load: list[float] = []
    loadscope: list[float] = []
    for i in range(args.runs):
        new.append(suite(ROOT))
        old.append(suite(base))
        load.append(suite(ROOT, "-n", "2", "--dist", "load"))
        loadscope.append(suite(ROOT, "-n", "2", "--dist", "loadscope"))
        print(
            f"round {i + 1}: serial {new[-1]:.1f} s, baseline {old[-1]:.1f} s, -n 2 load {load[-1]:.1f} s, "
            f"loadscope {loadscope[-1]:.1f} s",
            flush=True,
        )

    # measured on the warm cluster, before the cold steps restart it
    ready = pods03_ready(args.pod_runs)
    _, overhead = run(  # with this checkout's code (a script's sys.path starts at benchmarks/)
        [sys.executable, str(ROOT / "benchmarks" / "overhead.py"), "--runs", str(args.overhead_runs)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    cold = up_lines = None
    if args.cold:
        cluster_cli("down")
        cold = suite(ROOT)
    if args.up:
        down_seconds, _ = cluster_cli("down")
        up_seconds, out = cluster_cli("up")
        up_lines = (down_seconds, up_seconds, [line for line in out.splitlines() if line.strip()])

    m_new, m_old = statistics.median(new), statistics.median(old)
    print()
    print(f"warm reference suite, this checkout:          {fmt(new)}")
    print(f"warm reference suite, baseline {args.baseline_ref}:     {fmt(old)}")
    print(f"  speed-up against the baseline:              {m_old / m_new:6.2f}x")
    print(f"-n 2 --dist load:                             {fmt(load)}")
    print(f"-n 2 --dist loadscope:                        {fmt(loadscope)}")
    print(f"  xdist speed-up against serial (load):       {m_new / statistics.median(load):6.2f}x")
    print(f"  xdist speed-up against serial (loadscope):  {m_new / statistics.median(loadscope):6.2f}x")
    if cold is not None:
        print(
            f"cold reference suite (after `cluster down`):  {cold:6.2f} s  ({cold / m_new:.1f}x the warm one)"
        )
    if up_lines is not None:
        down_seconds, up_seconds, lines = up_lines
        print(
            f"`cluster down`: {down_seconds:.1f} s; `cluster up` from the cache: {up_seconds:.1f} s; "
            "as it printed:"
        )
        for line in lines:
            print(f"    {line}")
    print(f"pods03 apply -> Ready (median of {args.pod_runs}):        {fmt(ready)}")
    for line in overhead.splitlines():
        if line.startswith(("(a)", "(a0)", "(b)", "a/b", "a0/b")):
            print(f"overhead.py {line}")
    for failure in FAILURES:
        print(f"NOT ALL PASSED: {failure}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
