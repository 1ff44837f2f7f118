"""How fast the local cluster starts and runs the lab's pods03, and how much memory it takes,
with its add-ons (kube-proxy, CoreDNS, local-path storage) and without them, in the same run.

    sudo python benchmarks/cluster_up.py [--runs 3] [--pod-runs 5] [--kubernetes-version V]
    flock /tmp/pp-cluster.lock python3 benchmarks/cluster_up.py --baseline-checkout main [--up-only]

Prints:
  * with ``--baseline-checkout REF``: ``cluster down`` then ``python -m pytest_pods cluster up`` as a
    command, with this checkout's code and with REF's (a ``git archive`` of it), alternating, ``--runs``
    times each; the median of each, their ratio, each phase's median (from the progress lines) and the
    load average next to each run. ``--up-only`` stops there;
  * seconds for `up` with binaries and images cached (the cluster stopped before each run), with and
    without the add-ons (the runs alternate, so both see the same machine), and the median time of
    each phase of `up` (from its progress lines);
  * seconds for `up` on a cluster that is already running;
  * seconds from applying pods03 to the pod being Ready (median of several runs, each in a new namespace);
  * the peak resident memory of all cluster processes together (sampled every 100 ms) with and
    without the add-ons, and the cgroup's own peak (which also counts page cache).
The first `up` (which may build binaries and images) is reported apart and not counted.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from kubernetes import client, config, watch

from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.localcluster import ClusterConfig, LocalCluster, cgroups

ROOT = Path(__file__).resolve().parents[1]
PODS03 = ROOT / "examples" / "pods101" / "pods03.yaml"


class RssSampler(threading.Thread):
    """Sums VmRSS over every process in the cluster's cgroup, keeping the peak."""

    def __init__(self, cgroup_root: str) -> None:
        super().__init__(daemon=True)
        self.cgroup_root = cgroup_root
        self.peak_kib = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            total = 0
            for pid in cgroups.pids(self.cgroup_root):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
                except OSError:
                    continue
            self.peak_kib = max(self.peak_kib, total)


class Phases:
    """Collects `up`'s progress lines: each step's duration ("X: done in 1.2s") and the moment each
    component became healthy ("etcd: running" at [  3.4s])."""

    STEP = re.compile(r"^\[\s*([\d.]+)s\] (.+): done in ([\d.]+)s$")
    STATE = re.compile(r"^\[\s*([\d.]+)s\] ([\w-]+): running$")
    CHECK = re.compile(r"^\[\s*([\d.]+)s\] (.+): ok$")
    LINKED = re.compile(r"^\[\s*([\d.]+)s\] containerd's kept image store \w+ linked into its root$")
    READY = re.compile(r"^\[\s*([\d.]+)s\] add-ons ready: ")

    def __init__(self) -> None:
        self.runs: list[dict[str, float]] = []

    def sink(self) -> tuple[dict[str, float], Callable[[str], None]]:
        found: dict[str, float] = {}

        def progress(message: str) -> None:
            if m := self.STEP.match(message):
                found[m.group(2)[:70]] = float(m.group(3))
            elif m := self.STATE.match(message):
                found[f"{m.group(2)} healthy at"] = float(m.group(1))
            elif m := self.LINKED.match(message):
                found["image store linked in at"] = float(m.group(1))
            elif m := self.CHECK.match(message):
                found[f"{m.group(2)} at"] = float(m.group(1))
            elif m := self.READY.match(message):
                found["add-ons ready at"] = float(m.group(1))

        self.runs.append(found)
        return found, progress

    def report(self) -> list[str]:
        names: list[str] = []
        for run in self.runs:
            names += [n for n in run if n not in names]
        return [
            f"    {name:<72} {statistics.median(r[name] for r in self.runs if name in r):6.2f} s"
            for name in names
        ]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def baseline_checkout(ref: str) -> Path:
    """REF's files (``git archive``) in a new temporary directory."""
    where = Path(tempfile.mkdtemp(prefix="pytest-pods-baseline-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    return where


def cli_up(checkout: Path, phases: Phases, version: str) -> float:
    """``cluster down`` (this checkout), then ``python -m pytest_pods cluster up`` with ``checkout``'s
    code; its wall time (the command's whole life, interpreter start included)."""
    cli = [sys.executable, "-m", "pytest_pods", "cluster"]
    subprocess.run(
        [*cli, "down"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, capture_output=True
    )
    _, progress = phases.sink()
    began = time.perf_counter()
    proc = subprocess.run(
        [*cli, "up", "--kubernetes-version", version],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
    )
    took = time.perf_counter() - began
    if proc.returncode != 0:
        sys.exit(f"cluster up ({checkout}) failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    for line in proc.stderr.splitlines():
        progress(line)
    return took


def compare_with_baseline(ref: str, runs: int, version: str) -> None:
    base = baseline_checkout(ref)
    print(f"baseline: {ref} in {base}; this checkout: {ROOT}", flush=True)
    # One untimed up of each (the first may build what the other's cache lacks, e.g. the image store).
    for checkout in (ROOT, base):
        cli_up(checkout, Phases(), version)
    ours, theirs = Phases(), Phases()
    new: list[float] = []
    old: list[float] = []
    for i in range(runs):
        load_before = _load()
        new.append(cli_up(ROOT, ours, version))
        old.append(cli_up(base, theirs, version))
        print(
            f"round {i + 1}: this checkout {new[-1]:.2f} s, baseline {old[-1]:.2f} s "
            f"(load average before {load_before}, after {_load()})",
            flush=True,
        )

    def runs_of(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    n, o = statistics.median(new), statistics.median(old)
    print(f"`cluster up` after `down`, this checkout (median of {runs}): {n:7.2f} s   runs: {runs_of(new)}")
    print(
        f"`cluster up` after `down`, {ref} (median of {runs}):{' ' * max(1, 14 - len(ref))}{o:7.2f} s   "
        f"runs: {runs_of(old)}"
    )
    print(f"ratio this/baseline: {n / o:.2f}")
    print("phases of up, this checkout (median; 'at' = seconds since up began):")
    print("\n".join(ours.report()))
    print(f"phases of up, {ref}:")
    print("\n".join(theirs.report()))


def _timed(fn: object) -> float:
    began = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - began


def pods03_ready_seconds(cluster: LocalCluster, kubectl: Path) -> float:
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    with config.new_client_from_config(str(cluster.kubeconfig)) as api_client:
        core = client.CoreV1Api(api_client)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        # The namespace's default ServiceAccount must exist before a pod can be created.
        w = watch.Watch()
        for _ in w.stream(core.list_namespaced_service_account, ns, timeout_seconds=30):
            w.stop()
        began = time.perf_counter()
        subprocess.run(
            [str(kubectl), f"--kubeconfig={cluster.kubeconfig}", "-n", ns, "apply", "-f", str(PODS03)],
            check=True,
            capture_output=True,
        )
        w = watch.Watch()
        ready_at = None
        for event in w.stream(
            core.list_namespaced_pod, ns, field_selector="metadata.name=mc1", timeout_seconds=120
        ):
            conds = event["object"].status.conditions or []
            if any(c.type == "Ready" and c.status == "True" for c in conds):
                ready_at = time.perf_counter()
                w.stop()
        core.delete_namespace(ns)
    if ready_at is None:
        raise RuntimeError("pods03 did not become Ready within 120 s")
    return ready_at - began


def _up_cold(cluster: LocalCluster, phases: Phases) -> float:
    """`up` after `down`: binaries and images cached, nothing running."""
    cluster.down()
    _, progress = phases.sink()
    began = time.perf_counter()
    cluster.up(progress)
    return time.perf_counter() - began


def _peak_rss(cluster: LocalCluster, seconds: float = 5.0) -> float:
    """The peak summed RSS (MiB) of the cluster's processes over `up` and a few idle seconds."""
    cluster.down()
    sampler = RssSampler(cluster.config.cgroup_root)
    sampler.start()
    cluster.up()
    time.sleep(seconds)
    sampler.stop.set()
    sampler.join()
    return sampler.peak_kib / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="cold-process `up` runs of each kind (default 3)")
    ap.add_argument("--pod-runs", type=int, default=5, help="pods03 apply-to-Ready runs (default 5)")
    ap.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION)
    ap.add_argument("--baseline-checkout", metavar="REF", help="also time `cluster up` of this git ref")
    ap.add_argument("--up-only", action="store_true", help="only the comparison with --baseline-checkout")
    args = ap.parse_args()

    if args.baseline_checkout:
        compare_with_baseline(args.baseline_checkout, args.runs, args.kubernetes_version)
        if args.up_only:
            return 0

    cluster = LocalCluster(ClusterConfig(kubernetes_version=args.kubernetes_version))
    bare = LocalCluster(ClusterConfig(kubernetes_version=args.kubernetes_version, with_addons=False))
    kubectl = cluster.cache.bin_dir("kubernetes", args.kubernetes_version) / "kubectl"
    print(
        f"Kubernetes {args.kubernetes_version}; first up (builds whatever is not cached yet) ...", flush=True
    )
    first = _timed(cluster.up)
    print(f"first up (not counted):                {first:7.2f} s", flush=True)

    with_phases, bare_phases = Phases(), Phases()
    with_up: list[float] = []
    bare_up: list[float] = []
    for _ in range(args.runs):
        bare_up.append(_up_cold(bare, bare_phases))
        with_up.append(_up_cold(cluster, with_phases))
    bare_rss = _peak_rss(bare)
    with_rss = _peak_rss(cluster)
    running_up = [_timed(cluster.up) for _ in range(5)]
    running_cli = [
        _timed(
            lambda: subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pytest_pods",
                    "cluster",
                    "up",
                    "--kubernetes-version",
                    args.kubernetes_version,
                ],
                check=True,
                capture_output=True,
            )
        )
        for _ in range(5)
    ]
    ready = [pods03_ready_seconds(cluster, kubectl) for _ in range(args.pod_runs)]
    cg_peak = Path(f"/sys/fs/cgroup/memory{cluster.config.cgroup_root}/memory.max_usage_in_bytes")

    def runs(xs: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in xs)

    w, b = statistics.median(with_up), statistics.median(bare_up)
    print(f"up, cached, with add-ons (median of {args.runs}):    {w:7.2f} s   runs: {runs(with_up)}")
    print(f"up, cached, without add-ons (median of {args.runs}): {b:7.2f} s   runs: {runs(bare_up)}")
    print(f"add-ons cost:                             {w - b:+7.2f} s")
    print("phases of up with add-ons (median; 'at' = seconds since up began):")
    print("\n".join(with_phases.report()))
    print("phases of up without add-ons:")
    print("\n".join(bare_phases.report()))
    print(
        f"up, cluster already running (median of 5):   {statistics.median(running_up):7.2f} s in-process, "
        f"{statistics.median(running_cli):.2f} s as `python -m pytest_pods cluster up`"
    )
    print(
        f"pods03 apply -> Ready (median of {args.pod_runs}):         {statistics.median(ready):7.2f} s   "
        f"runs: {runs(ready)}"
    )
    print(f"peak RSS of all cluster processes, with add-ons:    {with_rss:7.0f} MiB")
    print(f"peak RSS of all cluster processes, without add-ons: {bare_rss:7.0f} MiB")
    print(f"add-ons cost:                                       {with_rss - bare_rss:+7.0f} MiB")
    if cg_peak.exists():
        print(
            f"peak of the cluster's memory cgroup:        {int(cg_peak.read_text()) / 2**20:7.0f} MiB "
            "(includes page cache; since the last up)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
