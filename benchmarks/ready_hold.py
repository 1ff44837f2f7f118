"""What "Ready that holds" costs a healthy pod, and how soon each reason that never heals fails a wait.

    python benchmarks/ready_hold.py [--runs 5] [--part 1|2|both] [--catch-runs N] [--kubeconfig PATH]

(1) Healthy-pod overhead: in a fresh namespace each, apply a pod and wait with ``wait_ready()``
    (the default) or ``wait_ready(stable=0)`` (the check off), timed from just before the apply to the
    wait's return. The two alternate (1, 0, 1, 0, ...) in the same run; prints both medians and their
    difference, for three pods: examples/pods101/pods01.yaml (nginx, no probe: Ready as soon as it runs), the
    same with a readiness probe from 2 s after the start (Ready comes after it runs), and
    pods01 waited for 4 s after its apply (a pod applied ahead, as a prepared namespace's is).
(2) Time to fail: for each reason, ``apply(manifest, wait=True)`` with the default settings, timed from
    just before the apply to the error; prints the reason the error named and the seconds.
(3) With ``--catch-runs N``: the pods that are Ready for an instant (exit 3, OOM kill, one-shot) N times
    each, counting how many the default rule failed with the right reason (the rest passed the wait).
The cluster is the local one (started or reused) unless --kubeconfig names another.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from pytest_pods.errors import PodsError
from pytest_pods.localcluster import LocalCluster
from pytest_pods.providers.existing import ExistingProvider
from pytest_pods.session import Run, cluster_session
from pytest_pods.settings import Settings

POD = Path(__file__).resolve().parents[1] / "examples" / "pods101" / "pods01.yaml"
DEFAULT = Settings().ready_stable
NEVER_READY = {"readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}}


def pod(name: str, command: str, container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    main = {"name": "main", "image": "debian", "command": ["sh", "-c", command], **(container or {})}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [main], **spec},
    }


def deployment(name: str, command: str) -> dict[str, Any]:
    p = pod(name, command)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": p["spec"]},
        },
    }


CASES: dict[str, dict[str, Any]] = {
    "crash loop (exit 3, no probe)": pod("crash", "echo about-to-fail; exit 3"),
    "OOMKilled (64Mi, tail /dev/zero)": pod(
        "oom", "tail /dev/zero", {"resources": {"limits": {"memory": "64Mi"}}}
    ),
    "one-shot exits 0 (Never)": pod("once", "echo done; exit 0", restartPolicy="Never"),
    "Init:Error": pod(
        "init",
        "sleep 600",
        initContainers=[{"name": "setup", "image": "debian", "command": ["sh", "-c", "exit 2"]}],
    ),
    "exit 4 under Never": pod("never", "exit 4", NEVER_READY, restartPolicy="Never"),
    "DeadlineExceeded (3s)": pod("deadline", "sleep 600", NEVER_READY, activeDeadlineSeconds=3),
    "ErrImageNeverPull": {
        **pod("np", "true"),
        "spec": {"containers": [{"name": "main", "image": "nope.invalid/x:1", "imagePullPolicy": "Never"}]},
    },
    "StartError (no such command)": {
        **pod("nocmd", "true"),
        "spec": {"containers": [{"name": "main", "image": "debian", "command": ["/no/such/binary"]}]},
    },
    "ErrImagePull": {
        **pod("pull", "true"),
        "spec": {"containers": [{"name": "main", "image": "pytest-pods.invalid/nope:1"}]},
    },
    "CreateContainerConfigError": pod(
        "cfg",
        "sleep 600",
        {"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "missing", "key": "k"}}}]},
    ),
    "Evicted (emptyDir sizeLimit 1Mi)": pod(
        "evicted",
        "dd if=/dev/zero of=/s/f bs=1M count=8; sleep 600",
        {**NEVER_READY, "volumeMounts": [{"name": "s", "mountPath": "/s"}]},
        volumes=[{"name": "s", "emptyDir": {"sizeLimit": "1Mi"}}],
    ),
    "Deployment crash loop": deployment("web", "echo about-to-fail; exit 3"),
}


PROBED = yaml.safe_load(POD.read_text())
PROBED["spec"]["containers"][0]["readinessProbe"] = {
    "exec": {"command": ["true"]},
    "initialDelaySeconds": 2,
    "periodSeconds": 1,
}
HEALTHY = [
    ("pods01 (no probe)", POD, 0.0),
    ("pods01 with a readiness probe (initialDelaySeconds 2)", PROBED, 0.0),
    ("pods01 waited for 4 s after its apply", POD, 4.0),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--part", choices=("1", "2", "both"), default="both", help="only (1) or only (2)")
    ap.add_argument("--catch-runs", type=int, default=0, help="(3): runs of each Ready-for-an-instant pod")
    ap.add_argument("--kubeconfig", type=Path, help="a cluster's kubeconfig (default: the local cluster's)")
    args = ap.parse_args()
    kubeconfig = args.kubeconfig or LocalCluster().up().kubeconfig
    settings = Settings(provider="existing", kubeconfig=kubeconfig)
    with cluster_session(settings, ExistingProvider(settings), run=Run()) as cluster:
        with cluster.namespace("benchmarks/ready_hold.py::warmup") as ns:
            ns.apply(POD, wait=True)  # the first pull of the image, not counted
        for label, manifest, after in HEALTHY if args.part != "2" and args.runs > 0 else ():
            times: dict[float, list[float]] = {DEFAULT: [], 0.0: []}
            for i in range(args.runs):
                for stable in (DEFAULT, 0.0):
                    with cluster.namespace(f"benchmarks/ready_hold.py::healthy{i}") as ns:
                        began = time.perf_counter()
                        ns.apply(manifest)
                        time.sleep(after)
                        ns.pod("webserver").wait_ready(stable=stable)
                        times[stable].append(time.perf_counter() - began)
            print(f"(1) {label}, apply -> wait_ready, {args.runs} runs each, alternating, on {kubeconfig}")
            for stable, runs in times.items():
                name = f"stable={stable:g} (default)" if stable else "stable=0 (off)      "
                each = ", ".join(f"{x:.2f}" for x in runs)
                print(f"    {name} median {statistics.median(runs):.3f} s   runs: {each}")
            overhead = statistics.median(times[DEFAULT]) - statistics.median(times[0.0])
            print(f"    overhead of the default: {overhead:+.3f} s (target: about 1 s at most)", flush=True)
        if args.part != "1":
            print("(2) time from apply to the failed wait, default settings")
        for label, manifest in CASES.items() if args.part != "1" else ():
            with cluster.namespace("benchmarks/ready_hold.py::fail") as ns:
                began = time.perf_counter()
                try:
                    ns.apply(manifest, wait=True, timeout=120)
                    outcome = "DID NOT FAIL"
                except PodsError as exc:
                    outcome = str(exc).splitlines()[0][:110]
                print(f"    {label:34} {time.perf_counter() - began:6.2f} s   {outcome}")
        flickers = {
            "crash loop (exit 3, no probe)": "Error",
            "OOMKilled (64Mi, tail /dev/zero)": "OOMKilled",
            "one-shot exits 0 (Never)": "Completed",
        }
        for label, wanted in flickers.items() if args.catch_runs else ():
            caught, took = 0, []
            for i in range(args.catch_runs):
                with cluster.namespace(f"benchmarks/ready_hold.py::catch{i}") as ns:
                    began = time.perf_counter()
                    try:
                        ns.apply(CASES[label], wait=True, timeout=120)
                    except PodsError as exc:
                        caught += getattr(exc, "reason", "") == wanted
                    took.append(time.perf_counter() - began)
            print(
                f"(3) {label}: {caught}/{args.catch_runs} failed with {wanted}; "
                f"median {statistics.median(took):.2f} s, max {max(took):.2f} s from apply",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
