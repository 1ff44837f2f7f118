"""Running a host command, once for every builder: the output as text, and two small errors that say
why a command did not finish (it is not installed, or it took too long). Each builder turns them into
its own error (a build step's ``BuildError``, kind's ``KindError``), and judges the exit code itself.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


class CommandNotFound(Exception):
    """The program ``argv[0]`` is not installed (not on PATH)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = tuple(argv)
        super().__init__(f"{self.argv[0]} is not installed")


class CommandTimedOut(Exception):
    """The command did not finish within ``timeout`` seconds; ``output`` is what it wrote so far."""

    def __init__(self, argv: Sequence[str], timeout: float, output: str) -> None:
        self.argv, self.timeout, self.output = tuple(argv), timeout, output
        super().__init__(f"{' '.join(self.argv[:3])}: no answer within {timeout:g}s")


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def run(
    argv: Sequence[str | Path],
    *,
    timeout: float | None = None,
    stdin: bytes | None = None,
    merge_output: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell), its standard input ``stdin`` or nothing, and capture its output as
    text (stderr into stdout with ``merge_output``); whatever it exits with is the caller's to judge.
    :class:`CommandNotFound` or :class:`CommandTimedOut` when it cannot start or does not end."""
    args = [str(a) for a in argv]
    try:
        proc = subprocess.run(
            args,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandNotFound(args) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandTimedOut(args, timeout or 0.0, _text(exc.output)) from exc
    return subprocess.CompletedProcess(args, proc.returncode, _text(proc.stdout), _text(proc.stderr))
