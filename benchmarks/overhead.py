"""What one test's worth of work costs through pytest-pods, against plain kubectl, on one running cluster.

    python benchmarks/overhead.py [--runs 7] [--kubeconfig PATH]

Each run does the same work both ways, in a fresh namespace:
  (a) the plugin:  Cluster.namespace() -> Namespace.apply(pods01, wait=True) -> Pod.exec(["true"])
                   -> leave the namespace (deleted in the background, as after a test);
  (b) kubectl:     create namespace -> apply -f pods01.yaml -> wait --for=condition=Ready
                   -> exec webserver -- true -> delete namespace --wait=false.
and (a0), the plugin with Ready's hold off (``--pods-ready-stable=0``): the same wait as kubectl's, which
does not check that Ready holds. The three alternate (a, a0, b, ...) so that none gets a quieter
machine. Prints the medians, a/b and a0/b.
The cluster is the local one (started or reused) unless --kubeconfig names another.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from pytest_pods.localcluster import LocalCluster
from pytest_pods.providers.existing import ExistingProvider
from pytest_pods.session import Run, cluster_session
from pytest_pods.settings import Settings

POD = Path(__file__).resolve().parents[1] / "examples" / "pods101" / "pods01.yaml"


def kubectl_run(kubectl: Path, kubeconfig: Path) -> float:
    ns = f"bench-kubectl-{uuid.uuid4().hex[:8]}"

    def k(*args: str) -> None:
        subprocess.run([str(kubectl), f"--kubeconfig={kubeconfig}", *args], check=True, capture_output=True)

    began = time.perf_counter()
    k("create", "namespace", ns)
    k("apply", "-n", ns, "-f", str(POD))
    k("wait", "-n", ns, "--for=condition=Ready", "pod/webserver", "--timeout=120s")
    k("exec", "-n", ns, "webserver", "--", "true")
    k("delete", "namespace", ns, "--wait=false")
    return time.perf_counter() - began


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--kubeconfig", type=Path, help="a cluster's kubeconfig (default: the local cluster's)")
    ap.add_argument(
        "--kubectl", type=Path, help="kubectl to compare with (default: the one the local cluster built)"
    )
    args = ap.parse_args()

    local = LocalCluster()
    kubeconfig = args.kubeconfig or local.up().kubeconfig
    kubectl = args.kubectl or local.cache.bin_dir("kubernetes", local.config.kubernetes_version) / "kubectl"
    settings = Settings(provider="existing", kubeconfig=kubeconfig)
    no_hold = Settings(provider="existing", kubeconfig=kubeconfig, ready_stable=0)
    plugin_times: list[float] = []
    no_hold_times: list[float] = []
    kubectl_times: list[float] = []
    with (
        cluster_session(settings, ExistingProvider(settings), run=Run()) as cluster,
        cluster_session(no_hold, ExistingProvider(no_hold), run=Run()) as cluster_no_hold,
    ):
        kubectl_run(kubectl, kubeconfig)  # warm-up, not counted: the first pull of the image
        for i in range(args.runs):
            for session, times in ((cluster, plugin_times), (cluster_no_hold, no_hold_times)):
                began = time.perf_counter()
                with session.namespace(f"benchmarks/overhead.py::run{i}") as ns:
                    ns.apply(POD, wait=True)
                    ns.pod("webserver").exec(["true"])
                times.append(time.perf_counter() - began)
            kubectl_times.append(kubectl_run(kubectl, kubeconfig))
    a, a0, b = (statistics.median(t) for t in (plugin_times, no_hold_times, kubectl_times))

    def runs(times: list[float]) -> str:
        return ", ".join(f"{x:.2f}" for x in times)

    print(f"runs: {args.runs} of each, alternating, on {kubeconfig}")
    print(f"(a) pytest-pods:             median {a:.3f} s   runs: {runs(plugin_times)}")
    print(f"(a0) pytest-pods, no hold:   median {a0:.3f} s   runs: {runs(no_hold_times)}")
    print(f"(b) kubectl:                 median {b:.3f} s   runs: {runs(kubectl_times)}")
    print(f"a/b = {a / b:.2f} (Ready held {Settings().ready_stable:g} s; kubectl's wait does not hold)")
    print(f"a0/b = {a0 / b:.2f}  (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
