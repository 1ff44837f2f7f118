"""The builder's clean-up of a stand-in's root filesystem, run from the host on a made-up tree (the real
one, on images whose /bin/sh is busybox: tests/localcluster/test_images_real.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pytest_pods.localcluster import slim

#: What a build leaves behind, and what the clean-up must remove (paths in the image).
REMOVED = [
    "var/cache/apt/archives/nginx_1.22_amd64.deb",
    "var/cache/apt/archives/partial/half.deb",
    "var/cache/apt/pkgcache.bin",
    "var/cache/apt/srcpkgcache.bin",
    "var/cache/debconf/config.dat-old",
    "var/lib/dpkg/status-old",
    "var/log/apt/history.log",
    "var/log/apt/term.log",
    "var/log/dpkg.log",
    "var/log/alternatives.log",
    "var/log/bootstrap.log",
    "tmp/pytest-pods-setup.sh",
    "tmp/build/left.o",
    "var/tmp/x",
    "root/.cache/pip/wheel",
    "usr/share/doc/nginx/changelog.Debian.gz",
    "usr/share/doc/nginx/examples/deep/conf",
    "usr/share/doc/libc6/NEWS.gz",
    "usr/share/man/man1/ls.1.gz",
    "usr/share/info/dir",
    "usr/share/lintian/overrides/nginx",
    "usr/share/locale/de/LC_MESSAGES/apt.mo",
    "usr/share/locale/.hidden",
]
LISTS = ["var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "var/lib/apt/lists/lock"]
#: What stays: the image's own files, copyright files, the locale alias, apt's archive lock.
KEPT = [
    "etc/nginx/nginx.conf",
    "usr/sbin/nginx",
    "usr/share/doc/nginx/copyright",
    "usr/share/doc/libc6/copyright",
    "usr/share/locale/locale.alias",
    "var/cache/apt/archives/lock",
    "var/cache/debconf/config.dat",
    "var/lib/dpkg/status",
    "var/log/nginx/keep.log",
    "tmp/.X11-unix/keep",  # sh's * leaves names with a leading dot alone, and so does the clean-up
]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _tree(root: Path, paths: list[str]) -> Path:
    for rel in paths:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def test_slim_removes_what_a_container_does_not_need(tmp_path: Path) -> None:
    rootfs = _tree(tmp_path / "rootfs", [*REMOVED, *LISTS, *KEPT])
    (rootfs / "usr/share/doc/empty/deeper").mkdir(parents=True)
    slim.slim(rootfs)
    assert _files(rootfs) == sorted(KEPT)
    # the directories left empty under doc go; the doc, man and locale directories themselves stay
    assert sorted(p.name for p in (rootfs / "usr/share/doc").iterdir()) == ["libc6", "nginx"]
    assert not (rootfs / "usr/share/doc/nginx/examples").exists()
    assert (rootfs / "usr/share/man").is_dir() and not any((rootfs / "usr/share/man").iterdir())
    assert (rootfs / "var/cache/apt/archives/partial").is_dir()


def test_the_base_keeps_its_package_lists(tmp_path: Path) -> None:
    rootfs = _tree(tmp_path / "rootfs", [*REMOVED, *LISTS, *KEPT])
    slim.slim(rootfs, keep_apt_lists=True)
    assert _files(rootfs) == sorted([*KEPT, *LISTS])


def test_links_are_read_as_in_the_image_and_never_followed_out_of_it(tmp_path: Path) -> None:
    """An image's absolute link points into the image, not at the host's file of that name; a link
    among what is removed is removed itself, not what it points to."""
    outside = _tree(tmp_path / "host", ["tmp/precious", "doc/precious", "locale/precious", "man/precious"])
    rootfs = _tree(tmp_path / "rootfs", ["data/tmp/scratch", "usr/share/doc/app/copyright", "usr/share/x"])
    (rootfs / "var").mkdir()
    (rootfs / "var/tmp").symlink_to(f"{outside}/tmp")  # absolute: in the image, no such directory
    (rootfs / "tmp").symlink_to("/data/tmp")  # absolute, inside the image: followed there
    (rootfs / "usr/share/doc/app/host").symlink_to(f"{outside}/doc")
    (rootfs / "usr/share/doc/app/up").symlink_to("../../../../../host/doc")  # .. stops at the top
    (rootfs / "usr/share/locale").mkdir()
    (rootfs / "usr/share/locale/de").symlink_to(outside / "locale")
    (rootfs / "usr/share/man").symlink_to(f"{outside}/man")
    slim.slim(rootfs)
    assert _files(outside) == ["doc/precious", "locale/precious", "man/precious", "tmp/precious"]
    assert not (rootfs / "data/tmp/scratch").exists()
    assert (rootfs / "var/tmp").is_symlink() and (rootfs / "tmp").is_symlink()
    assert not (rootfs / "usr/share/doc/app/host").is_symlink()
    assert not (rootfs / "usr/share/doc/app/up").is_symlink()
    assert not (rootfs / "usr/share/locale/de").is_symlink()
    assert (rootfs / "usr/share/doc/app/copyright").is_file() and (rootfs / "usr/share/x").is_file()


def test_inside_resolves_a_path_as_a_chroot_does(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr/bin").mkdir(parents=True)
    (rootfs / "bin").symlink_to("usr/bin")
    (rootfs / "var").mkdir()
    (rootfs / "var/run").symlink_to("/run")
    (rootfs / "loop").symlink_to("loop")
    (rootfs / "escape").symlink_to("../../..")
    assert slim.inside(rootfs, "/bin/sh") == rootfs / "usr/bin/sh"
    assert slim.inside(rootfs, "var/run/lock") == rootfs / "run/lock"
    assert slim.inside(rootfs, "escape/etc/passwd") == rootfs / "etc/passwd"
    assert slim.inside(rootfs, "../../etc") == rootfs / "etc"
    assert slim.inside(rootfs, "loop/x") is None
    assert slim.inside(rootfs, "") == rootfs


def test_slim_runs_no_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing of the image runs (its /bin/sh may be busybox, or missing): not even a host program."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the clean-up ran a program: {args}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(os, "system", refuse)
    rootfs = _tree(tmp_path / "rootfs", [*REMOVED, *KEPT])
    slim.slim(rootfs)
    assert _files(rootfs) == sorted(KEPT)
