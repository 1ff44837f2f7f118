"""How fast the local cluster starts and runs the lab's pods03, and how much memory it takes.

    sudo python benchmarks/cluster_up.py [--runs 3] [--pod-runs 5] [--kubernetes-version V]

Prints:
  * seconds for `up` with binaries and images already cached (the cluster stopped before each run);
  * seconds for `up` on a cluster that is already running;
  * seconds from applying pods03 to the pod being Ready (median of several runs, each in a new namespace);
  * the peak resident memory of all cluster processes together (sampled every 100 ms), and the
    cgroup's own peak (which also counts page cache).
The first `up` (which may build binaries and images) is reported apart and not counted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from kubernetes import client, config, watch

from pytest_pods.localcluster import cgroups
from pytest_pods.localcluster.cluster import ClusterConfig, LocalCluster
from pytest_pods.localcluster.versions import DEFAULT_KUBERNETES_VERSION

PODS03 = Path(__file__).resolve().parents[1] / "examples" / "pods03.yaml"


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3, help="cold-process `up` runs (default 3)")
    ap.add_argument("--pod-runs", type=int, default=5, help="pods03 apply-to-Ready runs (default 5)")
    ap.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION)
    args = ap.parse_args()

    cluster = LocalCluster(ClusterConfig(kubernetes_version=args.kubernetes_version))
    kubectl = cluster.cache.bin_dir("kubernetes", args.kubernetes_version) / "kubectl"
    print(
        f"Kubernetes {args.kubernetes_version}; first up (builds whatever is not cached yet) ...", flush=True
    )
    first = _timed(cluster.up)
    print(f"first up (not counted):                {first:7.2f} s", flush=True)

    sampler = RssSampler(cluster.config.cgroup_root)
    sampler.start()
    cached_up = []
    for _ in range(args.runs):
        cluster.down()
        cached_up.append(_timed(cluster.up))
    running_up = [_timed(cluster.up) for _ in range(5)]
    running_cli = [
        _timed(
            lambda: subprocess.run(
                ["pytest-pods", "cluster", "up", "--kubernetes-version", args.kubernetes_version],
                check=True,
                capture_output=True,
            )
        )
        for _ in range(5)
    ]
    ready = [pods03_ready_seconds(cluster, kubectl) for _ in range(args.pod_runs)]
    sampler.stop.set()
    sampler.join()
    cg_peak = Path(f"/sys/fs/cgroup/memory{cluster.config.cgroup_root}/memory.max_usage_in_bytes")

    print(
        f"up, binaries and images cached (median of {args.runs}): {statistics.median(cached_up):7.2f} s   "
        f"runs: {', '.join(f'{x:.2f}' for x in cached_up)}"
    )
    print(
        f"up, cluster already running (median of 5):   {statistics.median(running_up):7.2f} s in-process, "
        f"{statistics.median(running_cli):.2f} s as `pytest-pods cluster up`"
    )
    print(
        f"pods03 apply -> Ready (median of {args.pod_runs}):         {statistics.median(ready):7.2f} s   "
        f"runs: {', '.join(f'{x:.2f}' for x in ready)}"
    )
    print(f"peak RSS of all cluster processes:          {sampler.peak_kib / 1024:7.0f} MiB")
    if cg_peak.exists():
        print(
            f"peak of the cluster's memory cgroup:        {int(cg_peak.read_text()) / 2**20:7.0f} MiB "
            "(includes page cache; since the last up)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
