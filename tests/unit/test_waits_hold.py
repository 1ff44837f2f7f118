"""Ready that holds: when a hold window closes, by the status alone or with the attach witness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from pytest_pods.waits.hold import (
    RECHECK_SECONDS,
    REPORT_LAG,
    STARTED_AT_SLACK,
    Hold,
    Key,
    Sight,
    pod_that_broke,
)
from tests.unit.podjson import cond, labelled, pod, running, terminated


def _started(seconds_ago: float, wall: float, restarts: int = 0) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(int(wall - seconds_ago), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "name": "web",
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": stamp}},
    }


def _ready(status: dict[str, Any]) -> dict[str, Any]:
    return pod(phase="Running", statuses=[status], conditions=[cond("Ready", "True")])


def test_hold_on_the_status_alone_adds_the_kubelets_report_lag() -> None:
    """Without a witness, a status read at t proves a container alive only until t - REPORT_LAG."""
    wall = 1_800_000_000.0
    hold = Hold(1.0)
    p = _ready(_started(0.3, wall))
    assert hold.until(p, now=100.0, wall=wall) == pytest.approx(101.0 + REPORT_LAG)
    # later reads do not move the start: the window counts from the first sight
    assert hold.until(p, now=100.9, wall=wall + 0.9) == pytest.approx(101.0 + REPORT_LAG)


def test_hold_of_a_container_running_for_a_while_is_over_at_once() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    # started 10 s ago (on the node's clock, this machine's for local and kind): held already, and
    # the status alone proves it, so no stream is opened
    assert Hold(1.0, witness).until(_ready(_started(10, wall)), now=100.0, wall=wall) <= 100.0
    assert witness.asked == []
    # started 3 s ago: the kubelet reported it by startedAt + STARTED_AT_SLACK; the rest is left
    until = Hold(1.0).until(_ready(_started(3, wall)), now=100.0, wall=wall)
    assert until == pytest.approx(100.0 - 3 + STARTED_AT_SLACK + 1.0 + REPORT_LAG)


def test_hold_starts_anew_after_a_restart_and_waits_while_not_running() -> None:
    wall = 1_800_000_000.0
    hold = Hold(1.0)
    assert hold.until(_ready(_started(0, wall)), now=100.0, wall=wall) == pytest.approx(101.0 + REPORT_LAG)
    restarted = _ready(_started(0, wall + 2, restarts=1))
    assert hold.until(restarted, now=102.0, wall=wall + 2) == pytest.approx(103.0 + REPORT_LAG)
    stopped = pod(phase="Running", statuses=[terminated("web", 3)])
    assert hold.until(stopped, now=104.0, wall=wall + 4) == pytest.approx(105.0)
    assert Hold(0).until(_ready(_started(0, wall)), now=104.0, wall=wall) == 104.0


class FakeWitness:
    """A witness whose sights the test sets (the real one attaches to the container)."""

    def __init__(self) -> None:
        self.sights: dict[str, Sight] = {}
        self.asked: list[tuple[str, str, str, bool]] = []
        self.closed = False

    def sight(self, key: Key, namespace: str, pod: str, container: str, *, tty: bool = False) -> Sight:
        self.asked.append((namespace, pod, container, tty))
        return self.sights.setdefault(container, Sight())

    def close(self) -> None:
        self.closed = True


def test_a_container_seen_alive_by_its_stream_holds_without_the_report_lag() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    hold = Hold(1.0, witness)
    p = _ready(_started(0, wall))
    # the stream is still opening: look again soon, never later than the status alone would allow
    assert hold.until(p, now=100.0, wall=wall) == pytest.approx(101.0)
    assert witness.asked == [("ns", "p", "web", False)]
    # open since 100.02 and seen alive until 100.6 only: look again at the window's end
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=100.6)
    assert hold.until(p, now=100.6, wall=wall + 0.6) == pytest.approx(101.0)
    # at its end, not seen alive through it yet: look again a moment later (never after the status)
    assert hold.until(p, now=101.0, wall=wall + 1.0) == pytest.approx(101.0 + RECHECK_SECONDS)
    # seen alive through the window: held at its end, not REPORT_LAG later
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=101.01)
    assert hold.until(p, now=101.03, wall=wall + 1.03) == pytest.approx(101.0)


def test_a_stream_that_ended_or_was_refused_leaves_the_status_to_decide() -> None:
    wall = 1_800_000_000.0
    for why in ("the attach stream ended", "attach failed: forbidden"):
        witness = FakeWitness()
        witness.sights["web"] = Sight("lost", why=why)
        assert Hold(1.0, witness).until(_ready(_started(0, wall)), now=100.0, wall=wall) == pytest.approx(
            101.0 + REPORT_LAG
        )


def test_a_container_applied_ahead_holds_once_its_stream_opens() -> None:
    """Started 4 s ago: the status proves it alive only until 1.2 s ago, the open stream since it
    opened, which closes the window (it began at startedAt + STARTED_AT_SLACK at the latest)."""
    wall = 1_800_000_000.0
    witness = FakeWitness()
    hold = Hold(1.0, witness)
    p = _ready(_started(4, wall))
    witness.sights["web"] = Sight("open", opened_at=100.02, alive_through=100.03)
    assert hold.until(p, now=100.05, wall=wall + 0.05) == pytest.approx(100.02)


def test_the_witness_is_told_a_tty_container_and_closed_with_the_hold() -> None:
    wall = 1_800_000_000.0
    witness = FakeWitness()
    p = _ready(_started(0, wall))
    p["spec"] = {"containers": [{"name": "web", "tty": True}]}
    with Hold(1.0, witness) as hold:
        hold.until(p, now=100.0, wall=wall)
    assert witness.asked == [("ns", "p", "web", True)] and witness.closed


def test_held_finds_a_pod_that_restarted_since_it_was_up() -> None:
    up = labelled(pod(phase="Running", statuses=[running("web")]), "web-1")
    baseline = {"web-1": {"web": 0}}
    assert pod_that_broke(baseline, [up]) is None
    again = running("web")
    again.update(restartCount=1, lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
    found = pod_that_broke(baseline, [labelled(pod(phase="Running", statuses=[again]), "web-1")])
    assert found is not None and found[1].reason == "OOMKilled"
