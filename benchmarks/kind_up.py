"""How fast the kind provider is, next to the local one.

    DOCKER_HOST=... sudo python benchmarks/kind_up.py [--runs 2] [--pod-runs 5]
        [--image pytest-pods/kind-node:v1.37.2] [--config .ci/kind-config.yaml]
        [--local-lock /tmp/pp-cluster.lock]

Prints:
  * seconds for creating the kind cluster (node image present; the cluster deleted before each run);
  * seconds for reusing it (same version, image and config);
  * seconds from applying the lab's pods03 to the pod being Ready (median, a new namespace each);
  * seconds for the reference suite (examples/) on kind and on local (each with its cluster already up),
    the local one under ``flock --local-lock`` when given (the local cluster is shared on dev machines).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import silent
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.kindcluster.cluster import KindCluster, KindSpec

ROOT = Path(__file__).resolve().parents[1]
PODS03 = ROOT / "examples" / "pods101" / "pods03.yaml"


def _timed(fn: object) -> float:
    began = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - began


def pods03_ready_seconds(kubeconfig: Path, kubectl: Path) -> float:
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig)]
    subprocess.run([*kc, "create", "namespace", ns], check=True, capture_output=True)
    try:
        began = time.perf_counter()
        subprocess.run([*kc, "-n", ns, "apply", "-f", str(PODS03)], check=True, capture_output=True)
        subprocess.run(
            [*kc, "-n", ns, "wait", "--for=condition=Ready", "pod", "--all", "--timeout=120s"],
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - began
    finally:
        subprocess.run([*kc, "delete", "namespace", ns, "--wait=false"], capture_output=True, check=False)


def suite_seconds(args: list[str], lock: str | None) -> tuple[float, str]:
    """The suite's wall time, not counting the wait for ``lock`` (taken here, held by the run)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "examples"]
    with contextlib.ExitStack() as stack:
        if lock:
            handle = stack.enter_context(open(lock, "a"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        began = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
    summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    return seconds, summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2, help="create runs (default 2)")
    ap.add_argument("--pod-runs", type=int, default=5, help="pods03 apply-to-Ready runs (default 5)")
    ap.add_argument("--image", default=f"pytest-pods/kind-node:{DEFAULT_KUBERNETES_VERSION}")
    ap.add_argument("--config", type=Path, default=ROOT / ".ci" / "kind-config.yaml")
    ap.add_argument("--local-lock", default=None, help="flock this file around the local suite run")
    args = ap.parse_args()

    spec = KindSpec(image=args.image, config=args.config)
    creates = []
    for _ in range(args.runs):
        KindCluster(spec).delete(silent)
        creates.append(_timed(lambda: KindCluster(spec).up(silent)))
    reuses = [_timed(lambda: KindCluster(spec).up(silent)) for _ in range(3)]
    cluster = KindCluster(spec)
    kubectl = CachePaths.default().bin_dir("kubernetes", DEFAULT_KUBERNETES_VERSION) / "kubectl"
    ready = [pods03_ready_seconds(cluster.kubeconfig, kubectl) for _ in range(args.pod_runs)]
    kind_args = [
        "--pods-provider=kind",
        f"--pods-kind-image={args.image}",
        f"--pods-kind-config={args.config}",
    ]
    kind_suite, kind_summary = suite_seconds(kind_args, None)
    local_suite, local_summary = suite_seconds(["--pods-provider=local"], args.local_lock)

    print(
        f"kind create cluster (node image present, median of {args.runs}): "
        f"{statistics.median(creates):7.2f} s   runs: {', '.join(f'{c:.1f}' for c in creates)}"
    )
    print(f"kind cluster reuse (median of 3):                      {statistics.median(reuses):7.2f} s")
    print(
        f"pods03 apply -> Ready on kind (median of {args.pod_runs}):           "
        f"{statistics.median(ready):7.2f} s   runs: {', '.join(f'{r:.1f}' for r in ready)}"
    )
    print(f"reference suite (examples/) on kind:                   {kind_suite:7.2f} s   {kind_summary}")
    print(f"reference suite (examples/) on local:                  {local_suite:7.2f} s   {local_summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
