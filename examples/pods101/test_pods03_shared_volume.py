"""Pods101, step 3 (pods03.yaml): ``mc1``, where ``2nd`` (debian) appends ``date`` to index.html
every second in an emptyDir, and ``1st`` (nginx) serves that same file. The tests that read share
the module's namespace; the one that deletes and re-creates the pod has its own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest

from pytest_pods import Namespace, Pod

pytestmark = [pytest.mark.cluster, pytest.mark.pods_manifest("pods03.yaml", scope="module")]

NGINX_VIEW = "/usr/share/nginx/html/index.html"  # the volume as 1st mounts it
WRITER_VIEW = "/html/index.html"  # the volume as 2nd mounts it


def lines_at_least(pod: Pod, count: int, timeout: float = 15) -> list[dt.datetime]:
    """The file's dates once it has ``count`` lines (the writer adds one a second)."""
    deadline = time.monotonic() + timeout
    while len(seen := dates(pod.read_file(WRITER_VIEW, container="2nd"))) < count:
        assert time.monotonic() < deadline, f"{len(seen)} lines after {timeout}s, waiting for {count}"
        time.sleep(0.25)
    return seen


def dates(text: str) -> list[dt.datetime]:
    """The `date` lines of the file (e.g. ``Wed Jan  8 08:59:14 UTC 2020``)."""
    return [
        dt.datetime.strptime(" ".join(line.split()), "%a %b %d %H:%M:%S %Z %Y") for line in text.splitlines()
    ]


def test_both_containers_see_the_same_file_through_their_own_mounts(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("mc1")
    from_nginx = pod.read_file(NGINX_VIEW, container="1st")
    from_writer = pod.read_file(WRITER_VIEW, container="2nd")
    # The writer may append between the two reads: the earlier read is a prefix of the later one.
    assert from_writer.startswith(from_nginx)
    assert dates(from_nginx)


def test_the_file_grows_by_one_date_line_about_every_second(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("mc1")
    before = dates(pod.read_file(WRITER_VIEW, container="2nd"))
    after = lines_at_least(pod, max(len(before) + 1, 3))  # a new line, and three to measure the pace
    assert after[: len(before)] == before
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(after)]
    assert all(0 <= s <= 2 for s in steps), steps
    # one line a second on average, over the pod's whole life so far
    assert 0.5 <= (after[-1] - after[0]).total_seconds() / (len(after) - 1) <= 1.5, after


def test_an_http_get_returns_the_date_lines(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("mc1")
    answer = pod.http_get(80)
    assert answer.status == 200
    body = answer.text
    served = dates(body)
    assert served
    assert pod.read_file(NGINX_VIEW, container="1st").startswith(body)


def test_get_po_svc_lists_the_pod_beside_the_kubernetes_service(pods_namespace: Namespace) -> None:
    """The lab's ``kubectl get po,svc``: ``po/mc1 2/2 Running`` and ``svc/kubernetes ClusterIP ...
    443/TCP``. The lab works in ``default``, where the ``kubernetes`` Service lives; here the pod has
    a namespace of its own, so the Service is looked up in ``default``."""
    (pod,) = pods_namespace.pods()
    assert pod.name == "mc1" and pod.phase == "Running"
    assert [c.ready for c in pod.container_statuses] == [True, True]  # 2/2
    svc = pods_namespace.kube.request("GET", "/api/v1/namespaces/default/services/kubernetes")
    assert svc["spec"]["type"] == "ClusterIP"
    assert [(p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [(443, "TCP")]
    # and the cluster's DNS gives the pod that Service's address by name
    found = pod.exec(["getent", "hosts", "kubernetes.default.svc.cluster.local"], container="2nd")
    assert found.stdout.split()[0] == svc["spec"]["clusterIP"]


@pytest.mark.pods_manifest("pods03.yaml")
def test_a_recreated_pod_starts_with_an_empty_volume(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("mc1")
    old = lines_at_least(pod, 3)
    pod.delete(grace_period=0)  # the writer's shell ignores SIGTERM: no point waiting 30 s for it
    recreated = time.monotonic()
    pods_namespace.apply("pods03.yaml", wait=True)
    new = dates(pod.read_file(WRITER_VIEW, container="2nd"))
    alive = time.monotonic() - recreated
    # The new file holds only what the new writer wrote: at most one line a second since the pod was
    # created again, and none of the old file's lines (`date` has one-second resolution, so the old
    # pod's last line may share its second with the new pod's first; the first old lines cannot).
    assert 1 <= len(new) <= alive + 1, (len(new), alive)
    assert old[0] not in new and old[1] not in new, (old, new)
