"""Parse ``/etc/hosts`` into entries: one address, its names, in file order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class HostsEntry:
    """One line of ``/etc/hosts``: an address and the names that resolve to it."""

    ip: str
    names: tuple[str, ...]
    line: int

    def __str__(self) -> str:
        return f"{self.ip}\t{' '.join(self.names)}"


def parse(text: str) -> list[HostsEntry]:
    """Entries of a hosts file; comments (``#`` to the end of a line) and blank lines are skipped."""
    entries = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if len(fields) >= 2:
            entries.append(HostsEntry(fields[0], tuple(fields[1:]), number))
    return entries


def addresses_of(entries: Iterable[HostsEntry], name: str) -> list[str]:
    """The addresses a name maps to, in file order (the first is the one a resolver uses)."""
    return [e.ip for e in entries if name in e.names]


def names_of(entries: Iterable[HostsEntry], ip: str) -> list[str]:
    """Every name listed for an address."""
    return [n for e in entries if e.ip == ip for n in e.names]
