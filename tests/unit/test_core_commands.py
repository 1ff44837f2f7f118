"""core/commands.py: one way to run a host command, with two small errors for a command that does
not start or does not end; the exit code is the caller's to judge."""

from __future__ import annotations

import pytest

from pytest_pods.core import commands


def test_output_is_text_and_the_exit_code_is_the_callers() -> None:
    done = commands.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    assert done.args == ["sh", "-c", "echo out; echo err >&2; exit 3"]


def test_merged_output_and_standard_input() -> None:
    done = commands.run(["sh", "-c", "cat; echo err >&2"], stdin=b"in\n", merge_output=True)
    assert (done.stdout, done.stderr) == ("in\nerr\n", "")
    assert commands.run(["cat"]).stdout == ""  # no input given: an empty one, never the terminal's


def test_a_program_that_is_not_installed() -> None:
    with pytest.raises(commands.CommandNotFound) as info:
        commands.run(["pytest-pods-no-such-program", "x"])
    assert str(info.value) == "pytest-pods-no-such-program is not installed"


def test_a_command_that_does_not_end_keeps_what_it_wrote() -> None:
    with pytest.raises(commands.CommandTimedOut) as info:
        commands.run(["sh", "-c", "echo started; sleep 5"], timeout=0.5, merge_output=True)
    assert info.value.timeout == 0.5 and info.value.output == "started\n"
    assert "no answer within 0.5s" in str(info.value)
