"""A whole pytest-pods session from a plain script, without pytest.

The session layer (:mod:`pytest_pods.session`) is what the pytest fixtures wrap. One object,
:class:`~pytest_pods.Session`, chooses the provider, starts (or reuses) its cluster and ends the run;
the script makes a namespace, applies a manifest and uses the pod. Run it as::

    python3 examples/session_without_pytest.py                      # --provider auto
    python3 examples/session_without_pytest.py --provider existing --kubeconfig ~/.kube/kind-config

It prints what it checked and exits 0, or prints the error and exits 1. CI runs it
(``tests/cluster/test_session_script.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pytest_pods import Session, Settings
from pytest_pods.core.progress import Stopwatch, to_stderr
from pytest_pods.errors import PodsError

HERE = Path(__file__).resolve().parent


def check_webserver(settings: Settings) -> list[str]:
    """Apply the lab's pods01.yaml into a fresh namespace and check the pod; return what was seen."""
    seen: list[str] = []
    with Session(settings, progress=Stopwatch(to_stderr)) as cluster:
        seen.append(f"cluster: {cluster.info.description}, Kubernetes {cluster.info.kubernetes_version}")
        with cluster.namespace("examples/session_without_pytest.py::webserver", base_dir=HERE) as ns:
            ns.apply("pods101/pods01.yaml", wait=True)
            pod = ns.pod("webserver")
            seen.append(f"pod {ns.name}/webserver: {pod.phase}, ip {pod.ip}")
            seen.append("exec: " + pod.exec(["nginx", "-v"]).stderr.strip())
            answer = pod.http_get(80)  # port-forwarded, once nginx accepts on port 80
            if "Welcome to nginx!" not in answer.text:
                raise AssertionError(f"unexpected page through the port-forward: {answer.text[:200]!r}")
            seen.append(f"port-forward: HTTP {answer.status}, the nginx welcome page")
    if cluster.ledger.cleanup_problem:
        raise AssertionError(cluster.ledger.cleanup_problem)
    seen.append("namespace deleted")
    return seen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--provider", default="auto", help="auto, local, kind or existing [auto]")
    ap.add_argument("--kubeconfig", type=Path, help="kubeconfig of the existing provider")
    ap.add_argument("--context", help="context in that kubeconfig")
    args = ap.parse_args(argv)
    settings = Settings(provider=args.provider, kubeconfig=args.kubeconfig, context=args.context)
    try:
        for line in check_webserver(settings):
            print(line)
    except (PodsError, AssertionError) as exc:
        print(f"session_without_pytest: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print("pytest imported:", "pytest" in sys.modules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
