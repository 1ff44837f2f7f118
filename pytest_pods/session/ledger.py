"""The session's ledger: what the end-of-session report says (the namespaces made, kept, deleted
and reaped, the time spent per phase, a clean-up problem). It only records; it calls nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Ledger:
    """What one session did with namespaces, for its report."""

    #: Namespaces made (by a test's setup or ahead of it).
    namespaces_made: int = 0
    #: Namespaces kept (``--pods-keep-namespace``), in the order they were kept.
    kept: list[str] = field(default_factory=list)
    #: When each kept namespace expires (RFC 3339; ``--pods-keep-for``): gc deletes it after that.
    kept_until: dict[str, str] = field(default_factory=dict)
    #: What the tests of each kept namespace made outside it (``Kind/name``), kept with it.
    kept_outside: dict[str, list[str]] = field(default_factory=dict)
    #: Namespaces this session asked to delete (not waited for).
    deleted: set[str] = field(default_factory=set)
    #: Namespaces of runs that are gone, deleted when the session began.
    reaped: list[str] = field(default_factory=list)
    #: Seconds spent per phase (``apply``, ``ready``), summed over the namespaces.
    totals: dict[str, float] = field(default_factory=dict)
    #: A clean-up that could not be done or checked, said once in the report ("" when none).
    cleanup_problem: str = ""
    #: Why the run holds no Lease (and falls back to host-local reaping), "" when it holds one.
    lease_problem: str = ""

    def made(self) -> None:
        self.namespaces_made += 1

    def add_timings(self, timings: Mapping[str, float]) -> None:
        """Add a namespace's time per phase to the totals."""
        for phase, seconds in timings.items():
            self.totals[phase] = self.totals.get(phase, 0.0) + seconds
