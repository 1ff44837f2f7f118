from __future__ import annotations

from typing import Any

from pytest_pods import podstate
from tests.unit.podjson import cond, pod, running, terminated, waiting


def test_container_states_in_spec_order_init_first_unknown_without_status() -> None:
    p = pod(
        containers=("a", "b"),
        init=("i",),
        statuses=[running("b")],
        init_statuses=[terminated("i", 0, "Completed")],
    )
    states = podstate.container_states(p)
    assert [(s.name, s.init, s.state) for s in states] == [
        ("i", True, "terminated"),
        ("a", False, "unknown"),
        ("b", False, "running"),
    ]


def test_describe_container_with_last_state() -> None:
    (s,) = podstate.container_states(pod(statuses=[waiting("web", "CrashLoopBackOff", "back-off 10s", 3, 1)]))
    assert s.describe() == (
        "web: waiting (CrashLoopBackOff: back-off 10s), ready false, restarts 3, "
        "last terminated: Error exit code 1"
    )


def test_describe_terminated_shows_exit_code() -> None:
    (s,) = podstate.container_states(pod(statuses=[terminated("web", 2)]))
    assert "terminated (exit code 2, Error)" in s.describe()


def test_conditions_and_names() -> None:
    p = pod(containers=("a", "b"), init=("i",), conditions=[cond("Ready", "False", "ContainersNotReady")])
    assert podstate.conditions(p)["Ready"]["status"] == "False"
    assert podstate.describe_conditions(p) == ["Ready=False (ContainersNotReady)"]
    assert podstate.container_names(p) == ["a", "b"]
    assert podstate.container_names(p, init=True) == ["i", "a", "b"]


def test_events_sorted_by_best_time_and_limited() -> None:
    events: list[dict[str, Any]] = [
        {
            "reason": "B",
            "eventTime": "2026-01-01T00:00:03.000000Z",
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
        {
            "reason": "A",
            "firstTimestamp": "2026-01-01T00:00:01Z",
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
        {
            "reason": "C",
            "lastTimestamp": "2026-01-01T00:00:05Z",
            "count": 4,
            "involvedObject": {"kind": "Pod", "name": "p"},
        },
    ]
    lines = podstate.describe_events(events)
    assert [line.split()[1] for line in lines] == ["A", "B", "C"]
    assert "(x4)" in lines[2]
    assert len(podstate.describe_events(events, limit=1)) == 1


def test_summary() -> None:
    text = podstate.summary(
        pod(statuses=[waiting("web", "ErrImagePull")], conditions=[cond("PodScheduled", "True")])
    )
    assert text.splitlines() == [
        "phase: Pending",
        "conditions: PodScheduled=True",
        "container web: waiting (ErrImagePull), ready false, restarts 0",
    ]
