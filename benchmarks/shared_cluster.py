"""Many CI jobs on one cluster: three pytest runs at once, each claiming a host of its own
(``$PYTEST_PODS_HOST``), two of them with ``-n 2``; one of those is killed with ``kill -9`` (its whole
process group, as a cancelled CI job is) in the middle of a test. The survivors must pass; then
``pytest-pods gc``, run every ``--gc-every`` seconds from yet another host identity (as a CronJob
would), must leave nothing of the killed run within its Lease time plus one gc.

    python benchmarks/shared_cluster.py [--kubeconfig PATH] [--gc-every 10] [-- PYTEST PATHS...]

Each run is ``python -m pytest --pods-provider=existing`` of ``examples`` (or the paths after ``--``);
the killed one also runs a test that holds its namespace (a Ready pod, and a ClusterRole made outside
it) until it is killed. Prints the figures: runs, tests, failures, the killed run's objects, what was
left after each gc, and the time from the kill to the last of them gone. Exit 1 if a survivor failed
or anything of the killed run was left after its Lease time plus one gc.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_pods import namespaces  # noqa: E402
from pytest_pods.errors import ApiError  # noqa: E402
from pytest_pods.gc import LEASES_PATH  # noqa: E402
from pytest_pods.kube import Kube  # noqa: E402
from pytest_pods.session.lease import LEASE_SECONDS  # noqa: E402

HOLD = """
import time
from pathlib import Path

ROLE = '''
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: pp-soak-{tag}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
'''

def test_hold(pods_namespace):
    pods_namespace.apply({pod!r}, wait=True)
    pods_namespace.apply(ROLE)
    Path({ready!r}).write_text(pods_namespace.name)
    time.sleep(3600)
"""


def junit_counts(path: Path) -> tuple[int, int]:
    """(tests, failures and errors) of a JUnit XML report."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    return tests, bad


def left_of(kube: Kube, host: str) -> list[str]:
    """What is left of the runs that claimed ``host``: namespaces (any phase), what they made outside
    them (our ClusterRoles), and Leases."""
    left = []
    for ns in kube.request("GET", "/api/v1/namespaces", query={"labelSelector": namespaces.RUN_LABEL})[
        "items"
    ]:
        meta = ns["metadata"]
        if (meta.get("annotations") or {}).get(namespaces.HOST_ANNOTATION) == host:
            left.append(
                f"namespace {meta['name']}" + (" (Terminating)" if meta.get("deletionTimestamp") else "")
            )
    roles = kube.request(
        "GET",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        query={"labelSelector": namespaces.RUN_LABEL},
    )
    for role in roles["items"]:
        meta = role["metadata"]
        if (meta.get("annotations") or {}).get(namespaces.HOST_ANNOTATION) == host:
            left.append(f"clusterrole {meta['name']}")
    try:
        leases = kube.request("GET", LEASES_PATH)["items"]
    except ApiError:
        leases = []
    for lease in leases:
        if str((lease.get("spec") or {}).get("holderIdentity", "")).startswith(host + "/"):
            left.append(f"lease {lease['metadata']['name']}")
    return left


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeconfig", type=Path, default=Path("/var/lib/pytest-pods/local/kubeconfig"))
    ap.add_argument("--gc-every", type=float, default=10.0, help="seconds between two gc runs [10]")
    ap.add_argument("paths", nargs="*", default=["examples"])
    args = ap.parse_args()
    kube = Kube.from_kubeconfig(args.kubeconfig)
    work = Path(tempfile.mkdtemp(prefix="pp-shared-"))
    tag = str(int(time.time()))
    ready = work / "ready"
    (work / "hold").mkdir()
    (work / "hold" / "test_hold.py").write_text(
        HOLD.format(pod=str(ROOT / "examples" / "pods101" / "pods01.yaml"), ready=str(ready), tag=tag)
    )
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--pods-provider=existing",
            f"--pods-kubeconfig={args.kubeconfig}"]  # fmt: skip
    plans = {  # name: (host, extra args, paths)
        "a": (f"soak-a-{tag}", ["-n", "2"], [*args.paths, str(work / "hold")]),  # killed
        "b": (f"soak-b-{tag}", ["-n", "2"], args.paths),
        "c": (f"soak-c-{tag}", [], args.paths),
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    began = time.monotonic()
    for name, (host, extra, paths) in plans.items():
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_HOST": host,
               "PYTEST_PODS_STATE_DIR": str(work / f"state-{name}")}  # fmt: skip
        procs[name] = subprocess.Popen(
            [*base, *extra, f"--junitxml={work / f'{name}.xml'}", *paths],
            cwd=ROOT, env=env, stdout=(work / f"{name}.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    while not ready.exists():
        if procs["a"].poll() is not None or time.monotonic() - began > 600:
            print(f"the run to kill ended or never held its namespace: see {work / 'a.log'}")
            return 1
        time.sleep(0.5)
    time.sleep(2)  # mid-test: the other worker is in the examples
    before = left_of(kube, plans["a"][0])
    os.killpg(procs["a"].pid, signal.SIGKILL)
    killed_at = time.monotonic()
    procs["a"].wait()
    print(f"killed run a (host {plans['a'][0]}) {killed_at - began:.0f}s in; it held: {', '.join(before)}")

    bad_runs = 0
    for name in ("b", "c"):
        code = procs[name].wait()
        tests, bad = junit_counts(work / f"{name}.xml")
        bad_runs += bool(code or bad)
        how = " ".join(plans[name][1]) or "one process"
        print(f"run {name} ({how}): exit {code}, {tests} tests, {bad} failed")

    gc_env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_PODS_HOST": f"soak-gc-{tag}"}
    limit = LEASE_SECONDS + args.gc_every + 60  # its Lease, one gc, and the namespaces' own deletion
    gcs = 0
    while True:
        subprocess.run([sys.executable, "-m", "pytest_pods", "gc", f"--kubeconfig={args.kubeconfig}"],
                       env=gc_env, capture_output=True, check=True)  # fmt: skip
        gcs += 1
        left = left_of(kube, plans["a"][0])
        since = time.monotonic() - killed_at
        if not left or since > limit:
            break
        time.sleep(args.gc_every)
    outcome = "nothing left" if not left else "still left: " + ", ".join(left)
    print(f"gc every {args.gc_every:g}s: {gcs} runs; {since:.0f}s from the kill to {outcome}")
    print(f"(Lease {LEASE_SECONDS}s)")
    print(f"logs and reports in {work}")
    return 1 if bad_runs or left else 0


if __name__ == "__main__":
    sys.exit(main())
