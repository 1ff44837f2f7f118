"""pods.py: the exec exit status and the exec result (pure)."""

from __future__ import annotations

import pytest

from pytest_pods.errors import ExecError
from pytest_pods.pods import ExecResult, exit_status


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
