"""pods.py: the exec exit status and the exec result (pure)."""

from __future__ import annotations

import pytest

from pytest_pods.errors import ExecError
from pytest_pods.pods import _STOPPED, ExecResult, exit_status


def test_exit_status_success_nonzero_and_not_started() -> None:
    assert exit_status('{"metadata":{},"status":"Success"}') == (0, "")
    nonzero = (
        '{"status":"Failure","message":"command terminated with non-zero exit code",'
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )
    assert exit_status(nonzero)[0] == 3
    not_found = (
        '{"status":"Failure","message":"exec: \\"nope\\": executable file not found in $PATH: unknown",'
        '"reason":"InternalError"}'
    )
    code, message = exit_status(not_found)
    assert code is None
    assert "executable file not found" in message
    assert exit_status("")[0] is None


def test_exec_result_is_frozen_and_checks() -> None:
    r = ExecResult(("false",), 1, "", "boom", "ns", "p", "c")
    with pytest.raises(AttributeError):
        r.returncode = 0  # type: ignore[misc]
    with pytest.raises(ExecError, match="exited 1") as info:
        r.check_returncode()
    assert info.value.stderr == "boom"
    ExecResult(("true",), 0, "", "", "ns", "p", "c").check_returncode()


@pytest.mark.parametrize(
    "message",
    [
        "cannot exec in a stopped container: unknown",
        "container not running (5e6f...)",
        # containerd, once the container's task is gone
        "Internal error occurred: error executing command in container: failed to exec in container: failed "
        "to load task: no running task found: task 1105d251e30d not found: not found",
        # containerd's shim, while the container's process is stopping or being deleted
        'failed to create exec "6842f4": cannot exec in a stopped state: unknown',
        "failed to exec in container: cannot exec in a deleted state: unknown",
        # containerd's CRI, from the container's recorded state
        "failed to exec in container: container is in CONTAINER_EXITED state",
    ],
)
def test_the_runtimes_words_for_an_exec_into_a_stopped_container_are_known(message: str) -> None:
    assert _STOPPED.search(message)
    assert not _STOPPED.search('exec: "nope": executable file not found in $PATH: unknown')
    assert not _STOPPED.search("container is in CONTAINER_RUNNING state")
