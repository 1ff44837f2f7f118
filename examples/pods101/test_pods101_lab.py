"""The Pods101 lab as its authors publish it (``shared/seed/kubelabs-pods101/`` beside the repository),
run unchanged with ``--pods-labs`` against this session's cluster, and what each step gives (the
README's table): the steps that pass, the drift in their shown output, and the three steps that
cannot work as written.

By hand: ``pytest --pods-labs ../shared/seed/kubelabs-pods101/``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_pods import Cluster
from pytest_pods.core.paths import cache_root

pytestmark = pytest.mark.cluster
pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
#: Read before pytester gives the inner run a HOME of its own (which would hide the cache).
CACHE = cache_root()

#: The steps that cannot work as written, and why (each a bug of the lab, not of the cluster).
FAILS = {
    # an illustration of the workflow: there is no pod.yaml
    "line-37 kubectl apply -f pod.yaml": "`kubectl apply -f pod.yaml` exited with 1",
    # right after the pod's delete: the lab's own bug
    "line-216 kubectl logs webserver": "`kubectl logs webserver` exited with 1",
    # pods105.yaml is not in pods101/
    "line-514 kubectl apply -f pods105.yaml": "`kubectl apply -f pods105.yaml` exited with 1",
}
#: Drift: where the 2019 output differs from what kubectl and the images print now.
DRIFT = {
    "line-75 kubectl describe po webserver": [
        "line 79: PriorityClassName: shown '<none>', now '(not printed)'"
    ],
    "line-185 cat /etc/os-release": [
        "line 186: line: shown 'PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"', "
        "now 'PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"'",
        "line 188: line: shown 'VERSION_ID=\"10\"', now 'VERSION_ID=\"12\"'",
        "line 189: line: shown 'VERSION=\"10 (buster)\"', now 'VERSION=\"12 (bookworm)\"'",
        "line 190: line: shown 'VERSION_CODENAME=buster', now 'VERSION_CODENAME=bookworm'",
    ],
    "line-260 kubectl get po -o wide": [
        "line 262: webserver READY: shown '0/2', now '2/2'",
        "line 262: webserver STATUS: shown 'ContainerCreating', now 'Running'",
    ],
    "line-266 kubectl get po,svc,deploy": [
        "line 270: row service/kubernetes: shown "
        "'service/kubernetes  ClusterIP  10.12.0.1  <none>  443/TCP  107m', now '(not printed)'"
    ],
    "line-404 kubectl get po,svc": [
        "line 406: row po/mc1: shown 'po/mc1  2/2  Running  0  11s', now '(not printed)'",
        "line 409: row svc/kubernetes: shown 'svc/kubernetes  ClusterIP  10.15.240.1  <none>  443/TCP  1h', "
        "now '(not printed)'",
    ],
}


def pods101() -> Path:
    # the seed lies beside the repository (../shared) or beside its parent (a clone in a worktree)
    for base in HERE.parents[2:4]:
        folder = base / "shared" / "seed" / "kubelabs-pods101"
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"shared/seed/kubelabs-pods101 is not beside {HERE.parents[1]}")


def test_pods101_as_published_step_by_step(
    pytester: pytest.Pytester, pods_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytester's own HOME hides the cache: the inner run's kubectl is the one of this cluster's version
    monkeypatch.setenv("PYTEST_PODS_CACHE", str(CACHE))
    args = [
        "-p",
        "no:cacheprovider",
        "--pods-provider=existing",
        f"--pods-kubeconfig={pods_cluster.info.kubeconfig}",
    ]
    if pods_cluster.info.context:
        args.append(f"--pods-context={pods_cluster.info.context}")
    xml = pytester.path / "pods101.xml"
    result = pytester.runpytest(*args, "--pods-labs", str(pods101()), f"--junitxml={xml}")
    cases = {str(case.get("name")): case for case in ET.parse(xml).iter("testcase")}
    assert len(cases) == 24, sorted(cases)
    failed = {name: case.find("failure") for name, case in cases.items() if case.find("failure") is not None}
    assert sorted(failed) == sorted(FAILS), result.stdout.str()
    for name, failure in failed.items():
        assert failure is not None and FAILS[name] in (failure.get("message") or ""), name
    assert not [c for c in cases.values() if c.find("skipped") is not None or c.find("error") is not None]
    drift = {
        name: [str(p.get("value")) for p in case.iter("property") if p.get("name") == "pods-lab drift"]
        for name, case in cases.items()
    }
    # the delete's lines name the namespace, whose name changes each run
    deleted = drift.pop("line-207 kubectl delete -f pods01.yaml")
    assert [d.split(", now")[0] for d in deleted] == [
        "line 208: line: shown 'pod \"webserver\" deleted'",
        "line 211: line: shown 'No resources found.'",
    ]
    assert {name: found for name, found in drift.items() if found} == DRIFT
    result.stdout.fnmatch_lines(
        ["*pytest-pods: lab drift*", "*deploy-your-first-nginx-pod.md: 12 difference(s)"]
    )
