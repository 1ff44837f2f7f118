"""Pods101, step 2 (pods02.yaml): ``webserver`` with a ``webwatcher`` sidecar in the same pod.

Two containers share the pod's network: the watcher reads nginx's page over localhost and counts
the letter n in it. ``-c`` addresses one container by name. Every test only looks, so they share one
namespace, applied once for the module.
"""

from __future__ import annotations

import re

import pytest

from pytest_pods import Namespace, assert_hosts_entry
from pytest_pods.errors import ContainerNotFoundError

pytestmark = [pytest.mark.cluster, pytest.mark.pods_manifest("pods02.yaml", scope="module")]


def test_both_containers_are_ready_2_of_2(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    assert pod.phase == "Running"
    assert sorted((c.name, c.ready) for c in pod.container_statuses) == [
        ("webserver", True),
        ("webwatcher", True),
    ]
    assert pod.get()["spec"]["containers"][1]["image"] == "afakharany/watcher:latest"


def test_exec_into_the_watcher_by_name(pods_namespace: Namespace) -> None:
    result = pods_namespace.pod("webserver").exec(
        ["/bin/bash", "-c", "echo $HOSTNAME"], container="webwatcher"
    )
    assert result.stdout.strip() == "webserver"  # the pod's hostname, seen from the sidecar


def test_the_watchers_etc_hosts_is_kubernetes_managed_and_names_the_pod(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    text = pod.read_file("/etc/hosts", container="webwatcher")
    assert text.startswith("# Kubernetes-managed hosts file")
    assert_hosts_entry(pod, "localhost", "127.0.0.1", container="webwatcher")
    assert_hosts_entry(pod, "webserver", pod.ip, container="webwatcher")


def test_the_watcher_counts_the_letter_n_on_nginxs_page_over_localhost(pods_namespace: Namespace) -> None:
    pod = pods_namespace.pod("webserver")
    line = pod.wait_for_log(r"There are \d+ occurrences of 'n'", container="webwatcher", timeout=30)
    page = pod.exec(["cat", "/usr/share/nginx/html/index.html"], container="webserver").stdout
    count = int(re.search(r"There are (\d+)", line).group(1))  # type: ignore[union-attr]
    assert count == page.count("n")
    # ... and nginx logged the watcher's requests, which came from 127.0.0.1
    pod.wait_for_log(r'^127\.0\.0\.1 .*"GET / HTTP/1\.1" 200', container="webserver", timeout=10)


def test_a_container_that_does_not_exist_is_a_clear_error(pods_namespace: Namespace) -> None:
    with pytest.raises(ContainerNotFoundError) as error:
        pods_namespace.pod("webserver").exec(["true"], container="webwatch")
    assert error.value.available == ["webserver", "webwatcher"]
    assert "webwatch" in str(error.value) and "webwatcher" in str(error.value)
