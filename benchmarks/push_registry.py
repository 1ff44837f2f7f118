"""What the root-only push path costs: starting and stopping the mTLS push registry
(:func:`pytest_pods.localcluster.registry.writer`: a CA and two certificates, then ``docker-registry``
until it answers), and pushing the pause stand-in through it. No cluster needed.

    python benchmarks/push_registry.py [--runs 5]

Prints the median and the range of each, over a throw-away storage directory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pytest_pods.core.paths import CachePaths
from pytest_pods.localcluster import images
from pytest_pods.localcluster.registry import writer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cache = CachePaths.default()
    pause = next(recipe for recipe in images.RECIPES if recipe.name == "pause")
    layout = images.layout_path(cache, pause, images.recipe_key(pause, ""))
    if not layout.exists():
        raise SystemExit(f"the pause stand-in is not built ({layout}): run `pytest-pods images build` first")
    start, push, whole = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.monotonic()
            with writer(Path(tmp) / "storage") as registry:
                up = time.monotonic()
                images.push_layout(layout, "registry.k8s.io/pause:3.10", registry)
                pushed = time.monotonic()
            done = time.monotonic()
        start.append(up - began)
        push.append(pushed - up)
        whole.append(done - began)
    for name, values in (
        ("push registry up (CA, certificates, docker-registry answering)", start),
        ("pushing the pause stand-in through it", push),
        ("the whole block, stop included", whole),
    ):
        median = statistics.median(values)
        print(f"{name}: median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
