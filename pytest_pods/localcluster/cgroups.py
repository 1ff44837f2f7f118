"""cgroup v1 housekeeping: every process of the cluster lives under one cgroup in each hierarchy.

That makes "stop everything of ours" exact: kill every pid under it, then remove the directories.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CGROUP_FS = Path("/sys/fs/cgroup")


def hierarchies() -> list[Path]:
    """The mounted v1 hierarchies (``cpu``, ``memory``, ``pids``, ...), skipping symlinked aliases."""
    out = []
    for p in sorted(CGROUP_FS.iterdir()):
        if p.is_symlink() or not p.is_dir():
            continue
        if (p / "cgroup.procs").exists():
            out.append(p)
    return out


def create(path: str) -> None:
    """Make ``path`` (e.g. ``/pytest-pods/system``) in every hierarchy; cpuset gets its parent's cpus/mems."""
    for root in hierarchies():
        current = root
        for part in Path(path.strip("/")).parts:
            child = current / part
            if not child.exists():
                child.mkdir()
                if root.name.startswith("cpuset") or (child / "cpuset.cpus").exists():
                    for f in ("cpuset.cpus", "cpuset.mems"):
                        if (child / f).exists() and not (child / f).read_text().strip():
                            (child / f).write_text((current / f).read_text().strip() or "0")
            current = child


def join(path: str, pid: int | None = None) -> None:
    """Move ``pid`` (default: this process) into ``path`` in every hierarchy."""
    create(path)
    for root in hierarchies():
        (root / path.strip("/") / "cgroup.procs").write_text(str(pid or os.getpid()))


def pids(path: str) -> set[int]:
    """Every pid in ``path`` and below (read from the pids hierarchy, else any)."""
    found: set[int] = set()
    roots = [r for r in hierarchies() if r.name == "pids"] or hierarchies()[:1]
    for root in roots:
        top = root / path.strip("/")
        if not top.exists():
            continue
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    text = (Path(dirpath) / "cgroup.procs").read_text()
                except OSError:
                    continue
                found.update(int(x) for x in text.split())
    return found


def kill_all(path: str, exclude: set[int] | None = None, timeout: float = 10.0) -> set[int]:
    """SIGKILL every pid under ``path`` until none is left (or ``timeout``); returns what survived."""
    exclude = exclude or set()
    deadline = time.monotonic() + timeout
    while True:
        left = {p for p in pids(path) if p not in exclude and alive(p)}
        if not left or time.monotonic() > deadline:
            return left
        for p in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs: it exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def remove(path: str) -> list[str]:
    """Remove ``path`` and its children in every hierarchy, deepest first; returns what could not go."""
    failed = []
    for root in hierarchies():
        top = root / path.strip("/")
        if not top.exists():
            continue
        dirs = [Path(d) for d, _, _ in os.walk(top)]
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            try:
                d.rmdir()
            except OSError as e:
                failed.append(f"{d}: {e.strerror}")
    return failed


def exists(path: str) -> bool:
    return any((root / path.strip("/")).exists() for root in hierarchies())
