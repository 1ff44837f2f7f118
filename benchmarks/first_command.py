"""The README's first command, cold, as a new user runs it: a fresh clone, an empty cache, no cluster
running; ``bash .ci/install local && python3 -m pytest --pods-provider=local examples/pods101``, timed
part by part from its own output.

    sudo python benchmarks/first_command.py [--ref HEAD] [--cache /tmp/first-command-cache] [--command C]

``--command`` runs another command instead: an older commit's first command, for a baseline (before
issue 24's last part: ``--ref c2f5c8e --command "bash .ci/install local && python3 -m pytest
--pods-provider=local examples"``). Run the two back to back, each with an empty cache.

Debian's packages are whatever this machine has (the first apt-get is not repeated). The local
cluster must be down (``pytest-pods cluster down``): the command starts it. The clone, the cache and
the cluster it starts are left for a look: take the cluster down before another run (else that run
reuses it), remove the cache directory, and reinstall this repository (``pip install -e .``: the
command installed the clone, which is deleted at the end). Run it on a quiet
machine: it compiles Kubernetes, etcd, CoreDNS and local-path-provisioner.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "bash .ci/install local && python3 -m pytest --pods-provider=local examples/pods101"
#: A line of .ci/install that starts a part, e.g. "--- pytest-pods cluster build".
PART = re.compile(r"^--- (.+)$")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="HEAD", help="the commit to clone (default HEAD)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/first-command-cache"))
    ap.add_argument("--command", default=COMMAND, help=f"what to run in the clone (default: {COMMAND})")
    ap.add_argument("--log", type=Path, help="write every line of the command's output here, timed")
    args = ap.parse_args()
    if args.cache.exists() and any(args.cache.iterdir()):
        raise SystemExit(f"{args.cache} is not empty: the measure is of an empty cache")
    clone = Path(tempfile.mkdtemp(prefix="first-command-")) / "main"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", args.ref], check=True)
    shared = ROOT.parent / "shared"
    if shared.is_dir():  # the reference lab's seed, beside the clone as beside the repository
        (clone.parent / "shared").symlink_to(shared)
    env = {**os.environ, "PYTEST_PODS_CACHE": str(args.cache)}
    print(f"load average before: {os.getloadavg()}", flush=True)
    log = args.log.open("w") if args.log else None
    began = time.monotonic()
    marks: list[tuple[str, float]] = [("start", 0.0)]
    tail: list[str] = []
    with subprocess.Popen(
        ["bash", "-c", args.command],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if log is not None:
                log.write(f"{time.monotonic() - began:7.1f} {line}")
            found = PART.match(line.strip())
            if found:
                marks.append((found.group(1), time.monotonic() - began))
            elif "test session starts" in line:
                marks.append(("pytest (cluster start and examples)", time.monotonic() - began))
            tail = [*tail, line.rstrip()][-3:]
    total = time.monotonic() - began
    print(f"load average after: {os.getloadavg()}")
    print(f"the README's first command, cold ({args.command}), exit {proc.returncode}: {total:.0f} s")
    for (name, at), (_, end) in zip(marks, [*marks[1:], ("end", total)], strict=True):
        print(f"  {name:45.45s} {end - at:7.1f} s")
    print("\n".join(tail))
    shutil.rmtree(clone.parent, ignore_errors=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
