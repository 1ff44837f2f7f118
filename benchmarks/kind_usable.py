"""A new kind cluster, from the start of ``kind create`` to usable (node Ready and untainted, the
default ServiceAccount, DNS answering through kube-dns: what the first test needs), for two node
images in the same run, alternating, each cluster deleted before its create.

    DOCKER_HOST=... sudo python benchmarks/kind_usable.py [--runs 3]
        [--image pytest-pods/kind-node:v1.37.2] [--baseline pytest-pods/kind-node:baseline]
        [--config .ci/kind-config.yaml]

Build the baseline from the commit to compare against, e.g. in a worktree of it:
``python3 -m pytest_pods kind build-node-image --image pytest-pods/kind-node:baseline``.

Prints, for each image, the median of ``--runs`` creates (and each run): seconds to usable, of which
``kind create`` itself, and the rest (the node untainted, CoreDNS Ready behind kube-dns).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pytest_pods.core.progress import silent
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.kindcluster.cluster import KindCluster, KindSpec

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Timings:
    usable: list[float] = field(default_factory=list)
    create: list[float] = field(default_factory=list)

    def line(self, image: str) -> str:
        rest = [u - c for u, c in zip(self.usable, self.create, strict=True)]
        return (
            f"{image:40} usable {statistics.median(self.usable):6.1f} s  (kind create "
            f"{statistics.median(self.create):5.1f} s, then {statistics.median(rest):5.1f} s)   runs: "
            + ", ".join(f"{u:.1f}" for u in self.usable)
        )


def one_create(spec: KindSpec) -> tuple[float, float]:
    """(seconds to usable, seconds of ``kind create``), from a deleted cluster."""
    KindCluster(spec).delete(silent)
    marks: dict[str, float] = {}

    def progress(message: str) -> None:
        if "kind create cluster" in message and "done in" in message:
            marks["created"] = time.perf_counter()

    began = time.perf_counter()
    KindCluster(spec).up(progress)
    usable = time.perf_counter() - began
    return usable, marks.get("created", began) - began


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", default=f"pytest-pods/kind-node:{DEFAULT_KUBERNETES_VERSION}")
    ap.add_argument("--baseline", default="pytest-pods/kind-node:baseline")
    ap.add_argument("--config", type=Path, default=ROOT / ".ci" / "kind-config.yaml")
    args = ap.parse_args()

    images = [args.baseline, args.image]
    timings = {image: Timings() for image in images}
    for run in range(args.runs):
        for image in images if run % 2 == 0 else reversed(images):
            usable, create = one_create(KindSpec(image=image, config=args.config))
            timings[image].usable.append(usable)
            timings[image].create.append(create)
            print(f"  run {run + 1} {image}: usable {usable:.1f} s (kind create {create:.1f} s)", flush=True)
    KindCluster(KindSpec(image=args.image, config=args.config)).delete(silent)
    print(f"a new kind cluster to usable, median of {args.runs}:")
    for image in images:
        print("  " + timings[image].line(image))
    return 0


if __name__ == "__main__":
    sys.exit(main())
