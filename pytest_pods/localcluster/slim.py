"""The stand-in builder's clean-up: what a container does not need, removed from an image's root
filesystem by the builder itself, from the host.

It runs no program of the image: whatever the image has at ``/bin/sh`` (busybox, whose applets
replace ``find`` and ``rm``, or nothing at all) and whether or not it still has apt, the clean-up is
the same. Paths are read as a chroot into the root filesystem reads them: a symbolic link is followed
inside it (an absolute one from its top), never out of it, and what is removed is the link itself.

Changing what is removed changes every Debian-based stand-in: bump ``images.RECIPE_VERSION`` with it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Symbolic links followed in one path before giving up, as the kernel's limit (ELOOP).
MAX_LINKS = 40


def inside(rootfs: Path, path: str) -> Path | None:
    """The host path of ``path`` as seen from a chroot into ``rootfs``: every symbolic link on the way
    followed within ``rootfs`` (``..`` stops at its top). None for a loop of links. No component of
    the result is a symbolic link, so it is under ``rootfs``."""
    pending = [part for part in path.split("/") if part not in ("", ".")]
    done: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if done:
                done.pop()
            continue
        here = rootfs.joinpath(*done, part)
        if not here.is_symlink():
            done.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            return None
        target = os.readlink(here)
        if target.startswith("/"):
            done = []
        pending[:0] = [p for p in target.split("/") if p not in ("", ".")]
    return rootfs.joinpath(*done)


def _remove(path: Path) -> None:
    """Remove ``path`` (a link itself, not what it points to), if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _directory(rootfs: Path, path: str) -> Path | None:
    found = inside(rootfs, path)
    return found if found is not None and found.is_dir() else None


def _entries(directory: Path | None, pattern: str = "*") -> list[Path]:
    """What ``directory/pattern`` matches in sh: no names starting with a dot."""
    if directory is None:
        return []
    return sorted(p for p in directory.glob(pattern) if not p.name.startswith("."))


def _remove_all(rootfs: Path, *patterns: str) -> None:
    """``rm -rf`` of each ``dir/pattern`` (or a plain path) in the chroot's view."""
    for pattern in patterns:
        parent, _, name = pattern.rpartition("/")
        if any(ch in name for ch in "*?["):
            for entry in _entries(_directory(rootfs, parent), name):
                _remove(entry)
        elif (directory := _directory(rootfs, parent)) is not None:
            _remove(directory / name)


def _trim_docs(doc: Path | None) -> None:
    """Every non-directory under ``doc`` but the copyright files, then every directory left empty
    (deepest first): Debian's copyright files stay, as dpkg.cfg.d/pytest-pods-slim keeps them."""
    if doc is None:
        return
    for top, dirs, files in os.walk(doc, topdown=False):
        for name in files:
            if name != "copyright":
                os.unlink(os.path.join(top, name))
        for name in dirs:
            path = os.path.join(top, name)
            if os.path.islink(path):  # os.walk lists a link to a directory among the directories
                if name != "copyright":
                    os.unlink(path)
            elif not os.listdir(path):
                os.rmdir(path)


def slim(rootfs: Path, *, keep_apt_lists: bool = False) -> None:
    """Remove from ``rootfs`` what a container does not need: apt's downloaded packages and caches,
    (unless ``keep_apt_lists``: the base keeps them, so that the images built from it install
    packages without downloading the lists again) the package lists, logs of the install, temporary
    files, and the documentation, manual pages and locales that dpkg.cfg.d/pytest-pods-slim keeps
    out of what is installed after it (the base's own were installed before it was in place)."""
    # apt-get clean: the downloaded packages (the lock and partial/ stay) and the binary caches
    archives = _directory(rootfs, "var/cache/apt/archives")
    for entry in _entries(archives):
        if entry.name not in ("lock", "partial"):
            _remove(entry)
    _remove_all(rootfs, "var/cache/apt/archives/partial/*", "var/cache/apt/*.bin")
    if not keep_apt_lists:
        _remove_all(rootfs, "var/lib/apt/lists/*")
    _remove_all(
        rootfs,
        "var/cache/debconf/*-old",
        "var/lib/dpkg/*-old",
        "var/log/apt/*",
        "var/log/dpkg.log",
        "var/log/alternatives.log",
        "var/log/bootstrap.log",
        "tmp/*",
        "var/tmp/*",
        "root/.cache",
    )
    _trim_docs(_directory(rootfs, "usr/share/doc"))
    _remove_all(rootfs, "usr/share/man/*", "usr/share/info/*", "usr/share/lintian/*")
    locale = _directory(rootfs, "usr/share/locale")
    for entry in sorted(locale.iterdir()) if locale is not None else []:
        if entry.name != "locale.alias":
            _remove(entry)
