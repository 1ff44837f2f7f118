"""Assertion helpers for file content, log lines and /etc/hosts entries.

Registered for assertion rewriting (in ``pytest_pods/__init__.py``, before this module is imported),
so that a failure shows the values compared; ``__tracebackhide__`` keeps the helper out of the trace.
"""

from __future__ import annotations

import re

from pytest_pods import etchosts
from pytest_pods.pods import Pod


def assert_file_contains(pod: Pod, path: str, expected: str, *, container: str | None = None) -> str:
    """Assert that ``expected`` is in the file at ``path``; return the file's text."""
    __tracebackhide__ = True
    content = pod.read_file(path, container=container)
    assert expected in content, f"{path} in {pod!r} ({container or 'default container'}) lacks {expected!r}"
    return content


def assert_log_contains(
    pod: Pod, pattern: str, *, container: str | None = None, previous: bool = False
) -> str:
    """Assert that a line of the container's log matches ``pattern`` (a regular expression);
    return the first matching line."""
    __tracebackhide__ = True
    lines = pod.logs(container=container, previous=previous).splitlines()
    matching = [line for line in lines if re.search(pattern, line)]
    last_lines = lines[-20:]
    assert matching, f"no log line of {pod!r} matches {pattern!r}; last lines: {last_lines}"
    return matching[0]


def assert_hosts_entry(
    pod: Pod, hostname: str, ip: str | None = None, *, container: str | None = None
) -> list[str]:
    """Assert that ``hostname`` is in the container's /etc/hosts (mapped to ``ip`` if given);
    return the addresses it maps to."""
    __tracebackhide__ = True
    entries = pod.hosts(container=container)
    addresses = etchosts.addresses_of(entries, hostname)
    assert addresses, f"{hostname!r} is not in /etc/hosts of {pod!r}: {[str(e) for e in entries]}"
    if ip is not None:
        assert ip in addresses, f"{hostname!r} maps to {addresses} in /etc/hosts of {pod!r}, not {ip!r}"
    return addresses
