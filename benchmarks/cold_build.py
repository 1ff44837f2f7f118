"""The cold Kubernetes build two ways, in the same run: every command in one ``go build`` (what
``pytest-pods cluster build`` does now) against one ``go build`` per command, in turn, sharing the
Go build cache (what it did before).

    python benchmarks/cold_build.py [--kubernetes-version V] [--commands a,b] [--order one,each,dwarf]

``dwarf``: one ``go build`` as before ``GCFLAGS``: the compiler writes DWARF, the linker strips it.

Each way starts from an empty Go build cache in a temporary cache root. The Go module cache is
the real one, which must hold the sources already (`pytest-pods cluster build` fills it), so the
figures are resolving, compiling and linking, not downloading. Run it on a quiet machine (it prints
the load average before and after): the two ways take minutes each and other work skews them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Stopwatch, to_stderr
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.localcluster import build
from pytest_pods.localcluster.build import KUBERNETES_COMMANDS, build_kubernetes


def scratch_cache(real: CachePaths, parent: Path) -> CachePaths:
    """A cache root of its own (empty build cache, no binaries) over the real module cache."""
    root = Path(tempfile.mkdtemp(prefix="cold-build-", dir=parent))
    (root / "go").mkdir()
    (root / "go" / "mod").symlink_to(real.go_modcache)
    return CachePaths(root)


@contextlib.contextmanager
def with_dwarf() -> Iterator[None]:
    """The build before: the compiler writes DWARF (no ``-gcflags``), which the linker's ``-s -w``
    then strips."""
    today = build.GCFLAGS
    build.GCFLAGS = ""
    try:
        yield
    finally:
        build.GCFLAGS = today


def build_one_way(way: str, real: CachePaths, version: str, commands: list[str]) -> float:
    cache = scratch_cache(real, real.root)
    watch = Stopwatch(lambda line: to_stderr(f"  {way}: {line}"))
    began = time.monotonic()
    try:
        if way in ("one", "dwarf"):
            with with_dwarf() if way == "dwarf" else contextlib.nullcontext():
                build_kubernetes(cache, version, watch, commands)
        else:
            for command in commands:
                build_kubernetes(cache, version, watch, [command])
        return time.monotonic() - began
    finally:
        # the scratch tree, never the module cache it links to
        (cache.root / "go" / "mod").unlink()
        shutil.rmtree(cache.root)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubernetes-version", default=DEFAULT_KUBERNETES_VERSION)
    ap.add_argument("--commands", default=",".join(KUBERNETES_COMMANDS), help="comma-separated")
    ap.add_argument("--order", default="one,each", help="which ways, in this order")
    args = ap.parse_args()
    commands = [c for c in args.commands.split(",") if c]
    ways = [w for w in args.order.split(",") if w]
    if not set(ways) <= {"one", "each", "dwarf"}:
        ap.error("--order takes 'one', 'each' and/or 'dwarf'")
    real = CachePaths.default()
    module = real.go_modcache / "cache/download/k8s.io/kubernetes/@v" / f"{args.kubernetes_version}.zip"
    if not module.is_file():
        raise SystemExit(
            f"k8s.io/kubernetes@{args.kubernetes_version} is not in the Go module cache ({module}): run "
            f"`pytest-pods cluster build --kubernetes-version {args.kubernetes_version}` once, so that "
            "neither way pays for downloads"
        )
    print(f"load average before: {os.getloadavg()}")
    seconds = {way: build_one_way(way, real, args.kubernetes_version, commands) for way in ways}
    print(f"load average after: {os.getloadavg()}")
    print(f"cold build of {', '.join(commands)} ({args.kubernetes_version}), empty Go build cache:")
    for way, took in seconds.items():
        label = {
            "one": "one go build for all",
            "each": "one go build per command",
            "dwarf": "one go build, DWARF written",
        }[way]
        print(f"  {label:26s} {took:7.1f} s")
    if "one" in seconds and "each" in seconds:
        print(f"  speed-up of one build: {seconds['each'] / seconds['one']:.2f}x")
    if "one" in seconds and "dwarf" in seconds:
        print(f"  today's (no DWARF) / DWARF written: {seconds['one'] / seconds['dwarf']:.2f}x")


if __name__ == "__main__":
    main()
