"""What rendering costs a test: the examples' kustomize overlay through ``kubectl kustomize`` and the
examples' chart through ``helm template`` (with the API versions a real cluster serves, about 90), each
against loading the same objects as plain YAML. No cluster needed (the cached kubectl and Helm are).

    python benchmarks/render.py [--runs 5]

Prints the median and the range of each, and the rendering's cost over plain YAML.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pytest_pods import manifests
from pytest_pods.render import helm

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: What a v1.37 cluster's discovery lists, in the shape ``apply_chart`` hands Helm: group versions
#: and group/version/Kind (a sample of that size).
API_VERSIONS = [f"group{i}.example.com/v1" for i in range(30)] + [
    f"group{i}.example.com/v1/Kind{j}" for i in range(30) for j in range(2)
]


def timed(runs: int, work: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.monotonic()
        work()
        out.append(time.monotonic() - began)
    return out


def show(name: str, seconds: list[float]) -> float:
    median = statistics.median(seconds)
    low, high = min(seconds) * 1000, max(seconds) * 1000
    print(f"{name:<44} median {median * 1000:7.1f} ms  (range {low:.1f}-{high:.1f})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    overlay = EXAMPLES / "kustomize" / "overlays" / "staging"
    chart = helm.Chart(EXAMPLES / "chart" / "webserver", values={"replicas": 2})
    plain_kustomize = yaml.safe_dump_all([d.obj for d in manifests.load(overlay)])
    rendered = helm.render(chart, namespace="bench", api_versions=API_VERSIONS)
    plain_chart = "---\n".join(text for _, text in rendered.documents)

    k = show("kustomize overlay (kubectl kustomize)", timed(args.runs, lambda: manifests.load(overlay)))
    ky = show("  the same objects as plain YAML", timed(args.runs, lambda: manifests.load(plain_kustomize)))
    h = show(
        "chart (helm template, ~90 API versions)",
        timed(
            args.runs,
            lambda: helm.render(chart, namespace="bench", kube_version="v1.37.2", api_versions=API_VERSIONS),
        ),
    )
    hy = show("  the same objects as plain YAML", timed(args.runs, lambda: manifests.load(plain_chart)))
    kustomize, chart_cost = (k - ky) * 1000, (h - hy) * 1000
    print(
        f"rendering costs a test: kustomize +{kustomize:.0f} ms, helm +{chart_cost:.0f} ms "
        f"(median of {args.runs})"
    )


if __name__ == "__main__":
    main()
