"""The one watch loop's rules, on scripted watch events: what it watches, how long each watch runs,
when a target settles, and what a deletion, a stop and a timeout make of a wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest

from pytest_pods.errors import ApiError, PodNotReadyError, PodsError, WorkloadNotReadyError
from pytest_pods.kube import Kube, WatchEvent
from pytest_pods.waits import kubectl
from pytest_pods.waits.hold import REPORT_LAG
from pytest_pods.waits.loop import (
    MIN_WATCH,
    Target,
    pod_target,
    stream_of,
    up_target,
    wait,
    wait_pod,
    watch_bound,
)
from tests.unit.podjson import CLUSTER_ROLE, DEPLOYMENT, JOB, POD, cond, pod, running


class Scripted:
    """A client whose watches yield the scripted events, one list per watch; events and logs read
    as empty. Only the loop's decisions are under test here, not the API."""

    def __init__(self, *watches: list[WatchEvent]) -> None:
        self.watches = list(watches)
        self.watched: list[tuple[str, dict[str, Any], float]] = []

    def watch(
        self, path: str, *, query: Mapping[str, Any] | None = None, timeout: float
    ) -> Iterator[WatchEvent]:
        self.watched.append((path, dict(query or {}), timeout))
        if self.watches:
            yield from self.watches.pop(0)

    def request(self, method: str, path: str, **_: Any) -> dict[str, Any]:
        if path.endswith("/events"):
            return {"items": []}
        raise ApiError(method, path, 404, {"reason": "NotFound"})

    def text(self, path: str, **_: Any) -> str:
        return ""


def listed(*objs: dict[str, Any]) -> WatchEvent:
    return WatchEvent("LISTED", {"items": list(objs), "metadata": {"resourceVersion": "1"}})


def ready() -> dict[str, Any]:
    return pod(phase="Running", statuses=[running("web")], conditions=[cond("Ready", "True")])


def client(*watches: list[WatchEvent]) -> tuple[Scripted, Kube]:
    fake = Scripted(*watches)
    return fake, cast(Kube, fake)


def test_one_pod_is_watched_by_name_and_several_targets_through_the_namespaces_pods() -> None:
    assert stream_of("ns", [pod_target("p")]) == (
        "/api/v1/namespaces/ns/pods",
        {"fieldSelector": "metadata.name=p"},
    )
    deploy = Target(DEPLOYMENT, "web", kubectl.met_when(lambda o: True))
    assert stream_of("ns", [deploy])[0] == "/apis/apps/v1/namespaces/ns/deployments"
    assert stream_of("ns", [pod_target("p"), up_target(DEPLOYMENT, "web")]) == (
        "/api/v1/namespaces/ns/pods",
        {},
    )
    assert stream_of("ns", [up_target(JOB, "j")]) == ("/api/v1/namespaces/ns/pods", {})
    role = Target(CLUSTER_ROLE, "reader", kubectl.met_when(lambda o: True))
    assert stream_of("ns", [role]) == (  # cluster-scoped: not in the namespace
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {"fieldSelector": "metadata.name=reader"},
    )
    with pytest.raises(ValueError, match="only Pods stream beside other targets"):
        stream_of("ns", [pod_target("p"), deploy])


def test_a_watch_ends_at_the_poll_or_the_window_but_never_runs_shorter_than_the_floor() -> None:
    assert watch_bound(30.0, poll=None, windows=[]) == 30.0
    assert watch_bound(30.0, poll=1.0, windows=[]) == 1.0
    assert watch_bound(30.0, poll=1.0, windows=[0.4, 2.0]) == 0.4
    assert watch_bound(0.5, poll=None, windows=[]) == 0.5
    assert watch_bound(0.001, poll=1.0, windows=[0.0]) == MIN_WATCH


def test_a_ready_pod_is_returned_as_last_seen() -> None:
    fake, kube = client([listed(ready())])
    assert wait_pod(kube, "ns", "p", timeout=5)["metadata"]["name"] == "p"
    assert fake.watched[0][:2] == ("/api/v1/namespaces/ns/pods", {"fieldSelector": "metadata.name=p"})


def test_a_pod_that_does_not_exist_yet_is_waited_for() -> None:
    _, kube = client([listed(), WatchEvent("ADDED", pod()), WatchEvent("MODIFIED", ready())])
    assert wait_pod(kube, "ns", "p", timeout=5)["status"]["phase"] == "Running"


def test_the_deletion_of_a_waited_pod_fails_the_wait() -> None:
    _, kube = client([listed(pod()), WatchEvent("DELETED", pod())])
    with pytest.raises(PodNotReadyError) as info:
        wait_pod(kube, "ns", "p", timeout=5)
    assert info.value.reason == "Deleted"
    assert "the pod was deleted while waiting for it to be Ready" in str(info.value)


def test_a_reason_that_never_heals_fails_at_once() -> None:
    crashed = pod(phase="Failed", statuses=[{"name": "web", "state": {"terminated": {"exitCode": 3}}}])
    _, kube = client([listed(crashed)])
    with pytest.raises(PodNotReadyError) as info:
        wait_pod(kube, "ns", "p", timeout=5)
    assert info.value.reason == "Error"


def test_time_running_out_names_what_was_waited_for_and_the_phase() -> None:
    _, kube = client(*[[listed(pod())]] * 3)
    with pytest.raises(PodNotReadyError) as info:
        wait_pod(kube, "ns", "p", timeout=0.01, what="Running")
    assert info.value.reason == "Timeout"
    assert "not Running after 0.01s (phase: Pending)" in str(info.value)


def test_a_workload_that_does_not_exist_times_out_naming_it() -> None:
    _, kube = client()
    with pytest.raises(WorkloadNotReadyError) as info:
        wait(kube, "ns", [up_target(DEPLOYMENT, "web")], timeout=0.01)
    assert (info.value.reason, info.value.kind, info.value.name) == ("Timeout", "Deployment", "web")
    assert "Deployment web does not exist" in str(info.value)


def test_a_stop_that_is_set_cancels_the_wait() -> None:
    stop = threading.Event()
    stop.set()
    _, kube = client()
    with pytest.raises(PodsError, match="was cancelled"):
        wait(kube, "ns", [pod_target("p")], timeout=5, stop=stop)


def test_a_cancellable_wait_watches_at_most_a_poll_at_a_time() -> None:
    fake, kube = client([listed(pod())], [listed(ready())])
    wait(kube, "ns", [pod_target("p")], timeout=5, stop=threading.Event())
    assert [timeout <= 1.0 for _, _, timeout in fake.watched] == [True, True]


def test_an_object_of_a_listing_is_given_its_kind() -> None:
    role = {"metadata": {"name": "reader"}, "rules": []}  # a listing's items carry no kind
    _, kube = client([listed(role)])
    got = kubectl.wait_for(kube, "ns", CLUSTER_ROLE, "reader", timeout=5)  # --for=create
    assert (got["kind"], got["apiVersion"]) == ("ClusterRole", "rbac.authorization.k8s.io/v1")
    assert got["metadata"] == role["metadata"]


def test_an_object_that_never_comes_times_out_naming_its_kind() -> None:
    _, kube = client()
    with pytest.raises(WorkloadNotReadyError, match=r"--for=create not met after 0\.01s") as info:
        kubectl.wait_for(kube, "ns", CLUSTER_ROLE, "reader", timeout=0.01)
    assert "ClusterRole reader does not exist" in str(info.value) and info.value.namespace == ""


def test_kubectl_delete_is_met_once_the_object_is_gone() -> None:
    _, kube = client([listed(ready()), WatchEvent("DELETED", ready())])
    assert kubectl.wait_for(kube, "ns", POD, "p", delete=True, timeout=5) == {}


def test_a_deleted_pod_of_another_uid_is_gone_and_its_namesake_does_not_count() -> None:
    mine, namesake = ready(), ready()
    mine["metadata"]["uid"], namesake["metadata"]["uid"] = "u1", "u2"
    _, kube = client([listed(mine), WatchEvent("MODIFIED", namesake)])
    kubectl.wait_deleted(kube, "ns", "p", "u1", timeout=5)  # returns: the pod of uid u1 is gone


class Steady(Scripted):
    """A client whose every watch lists the pods as they are now (``states`` gives the next one at
    each watch) and then runs out its time with no event, as a real watch does; attach is refused,
    so Ready holds on the status alone."""

    def __init__(self, *states: dict[str, Any]) -> None:
        super().__init__()
        self.states = list(states)

    def watch(
        self, path: str, *, query: Mapping[str, Any] | None = None, timeout: float
    ) -> Iterator[WatchEvent]:
        self.watched.append((path, dict(query or {}), timeout))
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        yield listed(state)
        time.sleep(timeout)

    def attach(self, namespace: str, pod: str, container: str, *, tty: bool = False) -> Any:
        raise ApiError("GET", "attach", 403, {"reason": "Forbidden"})


def test_a_hold_window_bounds_the_watch_and_settles_on_a_state_read_after_it_closed() -> None:
    fake = Steady(ready())
    began = time.monotonic()
    wait_pod(cast(Kube, fake), "ns", "p", timeout=10, stable=0.2)
    took = time.monotonic() - began
    window = 0.2 + REPORT_LAG  # no stream: the status proves the container alive REPORT_LAG late
    assert window <= took < window + 1
    first, then, last = (timeout for _, _, timeout in fake.watched)
    assert first == pytest.approx(10, abs=0.1)  # nothing to wait for yet: the whole time
    assert then <= window  # the window's rest: it ends the watch with no event
    assert last == MIN_WATCH  # the window has passed: one fresh listing settles it


def test_a_restart_inside_the_hold_window_fails_with_its_reason() -> None:
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 3, "reason": "Error"}})
    restarted = pod(phase="Running", statuses=[again], conditions=[cond("Ready", "True")])
    with pytest.raises(PodNotReadyError) as info:
        wait_pod(cast(Kube, Steady(ready(), restarted)), "ns", "p", timeout=10, stable=0.2)
    assert info.value.reason == "Error"
    assert "exited 3 (Error) just after the pod was Ready (restarts 1)" in str(info.value)
