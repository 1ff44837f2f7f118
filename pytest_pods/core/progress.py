"""Progress of long steps: the step, and the time spent so far.

``Progress`` is the one progress type of pytest-pods (providers, the session layer and the local
cluster all take it): a callable that receives one line. The CLI prints to stderr, the pytest plugin
writes through the terminal reporter; :meth:`Stopwatch.of` adds the time so far, once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def __call__(self, message: str, /) -> None: ...


def silent(message: str) -> None:
    """A Progress that says nothing."""


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Stopwatch:
    """Prefixes each message with the time since start: ``[  12.3s] building kubelet``."""

    def __init__(self, sink: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        self._sink = sink
        self._clock = clock
        self._start = clock()

    @classmethod
    def of(cls, progress: Progress) -> Stopwatch:
        """``progress`` itself when it is a Stopwatch (its times run on), else a new one over it."""
        return progress if isinstance(progress, Stopwatch) else cls(progress)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start

    def __call__(self, message: str) -> None:
        self._sink(f"[{self.elapsed:7.1f}s] {message}")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Report the start and the duration of one step."""
        began = self._clock()
        self(f"{name} ...")
        yield
        self(f"{name}: done in {self._clock() - began:.1f}s")
