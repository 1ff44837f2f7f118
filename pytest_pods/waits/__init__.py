"""Waits that stop early: one watch loop (:mod:`.loop`) given targets and their classifiers.

- :mod:`.verdicts`: :class:`Verdict`, ``fail``/``pending``, :data:`FAIL_FAST` and the pod
  classifiers (pure);
- :mod:`.kinds`: when each kind is up (:data:`UP`, :func:`up_of`; pure); where a kind lives is
  resolved by the callers (:mod:`pytest_pods.discovery`);
- :mod:`.claims`: the PVC verdict and a pod's claims;
- :mod:`.hold`: Ready that holds, and the attach witness;
- :mod:`.report`: the failure report and the errors that carry it;
- :mod:`.kubectl`: ``kubectl wait`` (condition, jsonpath, delete) and a pod's deletion.
"""

from pytest_pods.waits.hold import READY_STABLE
from pytest_pods.waits.kinds import (
    GENERIC,
    UP,
    Up,
    label_selector,
    up_of,
    waited,
)
from pytest_pods.waits.kubectl import wait_deleted, wait_for
from pytest_pods.waits.loop import ApiFacts, Target, wait, wait_pod, wait_up
from pytest_pods.waits.report import read_log
from pytest_pods.waits.verdicts import (
    FAIL_FAST,
    HINTS,
    Verdict,
    classify_finished,
    classify_ready,
    classify_running,
    fail_fast_table,
)

__all__ = [
    "FAIL_FAST",
    "GENERIC",
    "HINTS",
    "READY_STABLE",
    "UP",
    "ApiFacts",
    "Target",
    "Up",
    "Verdict",
    "classify_finished",
    "classify_ready",
    "classify_running",
    "fail_fast_table",
    "label_selector",
    "read_log",
    "up_of",
    "wait",
    "wait_deleted",
    "wait_for",
    "wait_pod",
    "wait_up",
    "waited",
]
