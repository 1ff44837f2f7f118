"""The ``pytest-pods`` command: a thin layer over ``pytest_pods.localcluster``.

pytest-pods cluster up [--kubernetes-version V]   start (or reuse) the local cluster
pytest-pods cluster status                        exit 0 only when it is healthy
pytest-pods cluster kubeconfig                    print the kubeconfig's path
pytest-pods cluster down [--provider P]           stop it and remove everything of it (P: local,
                                                  kind or all; default local)
pytest-pods images build                          build the lab's stand-in images (offline)
pytest-pods images load ARCHIVE...                push image archives to the local registry
pytest-pods kind install                          build kind (pinned) from the Go module proxy
pytest-pods kind build-node-image [--kubernetes-version V] [--image REF]
                                                  an offline kind node image (Docker needed)
pytest-pods gc [--kubeconfig PATH] [--context C]  delete the namespaces of test runs that are gone
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pytest_pods.core.progress import Stopwatch, to_stderr
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION, normalize_kubernetes_version
from pytest_pods.errors import PodsError
from pytest_pods.localcluster.errors import LocalClusterError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pytest-pods", description="A Docker-free Kubernetes for pytest-pods.")
    sub = p.add_subparsers(dest="group", required=True)
    cluster = sub.add_parser("cluster", help="the local single-node cluster")
    csub = cluster.add_subparsers(dest="action", required=True)
    for name, text in (
        ("build", "build Kubernetes, etcd and the stand-in images into the cache; start nothing"),
        ("up", "start the cluster (or reuse a healthy one); returns when pods can be created"),
        ("status", "exit 0 only when every component runs and the node is Ready"),
        ("kubeconfig", "print the path of the admin kubeconfig"),
        ("down", "stop everything and remove all of it but the cache"),
    ):
        sp = csub.add_parser(name, help=text, description=text)
        sp.add_argument("--name", default="local", help="cluster name (default: local)")
        sp.add_argument(
            "--kubernetes-version",
            default=os.environ.get("PYTEST_PODS_KUBERNETES_VERSION", DEFAULT_KUBERNETES_VERSION),
            type=_version,
            help=f"Kubernetes version to build and run (default: {DEFAULT_KUBERNETES_VERSION})",
        )
    csub.choices["down"].add_argument(
        "--provider",
        choices=("local", "kind", "all"),
        default="local",
        help="whose cluster: the local one, the kind cluster 'pytest-pods', or both (default: local)",
    )
    kind = sub.add_parser("kind", help="kind: the binary and an offline node image")
    ksub = kind.add_subparsers(dest="action", required=True)
    ksub.add_parser("install", help="build the pinned kind from the Go module proxy into the cache")
    node = ksub.add_parser(
        "build-node-image",
        help="build an offline kind node image from the local cluster's build cache and Debian packages",
    )
    node.add_argument(
        "--kubernetes-version",
        default=os.environ.get("PYTEST_PODS_KUBERNETES_VERSION", DEFAULT_KUBERNETES_VERSION),
        type=_version,
        help=f"Kubernetes version (default: {DEFAULT_KUBERNETES_VERSION})",
    )
    node.add_argument("--image", help="image name (default: pytest-pods/kind-node:<version>)")
    images = sub.add_parser("images", help="the lab's stand-in images and image archives")
    isub = images.add_subparsers(dest="action", required=True)
    isub.add_parser(
        "build",
        help="build the stand-in images from Debian packages (cached) and push them into the local "
        "registry's storage (through a short-lived push registry only you can use)",
    )
    load = isub.add_parser("load", help="push docker-archive/OCI tars to the local cluster's registry")
    load.add_argument("archives", nargs="+")
    gc = sub.add_parser(
        "gc",
        help="delete the test namespaces of runs that are gone (killed before they could clean up)",
        description="Delete the test namespaces whose run's process (on this host) is gone; namespaces of "
        "live runs, of other hosts and kept ones are left alone. A session does the same when it starts.",
    )
    gc.add_argument("--kubeconfig", help="the cluster's kubeconfig (default: the local cluster's)")
    gc.add_argument("--context", help="context in that kubeconfig")
    return p


def _version(value: str) -> str:
    try:
        return normalize_kubernetes_version(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from pytest_pods.localcluster.cluster import ClusterConfig, LocalCluster

    clock = Stopwatch(to_stderr)
    try:
        if args.group == "kind":
            return _kind(args, clock)
        if args.group == "gc":
            from pathlib import Path

            from pytest_pods.kube import Kube
            from pytest_pods.namespaces import reap_orphans

            kubeconfig = Path(args.kubeconfig) if args.kubeconfig else LocalCluster().kubeconfig
            kube = Kube.from_kubeconfig(kubeconfig, args.context)
            try:
                reaped = reap_orphans(kube)
            finally:
                kube.close()
            for name in reaped:
                print(name)
            clock(f"deleting {len(reaped)} namespace(s) of runs that are gone")
            return 0
        if args.group == "images":
            from pytest_pods.localcluster import images

            if args.action == "build":
                for ref in images.build_and_push(clock):
                    print(ref)
                return 0
            for ref in LocalCluster().load_images(args.archives, clock):
                print(ref)
            return 0
        cluster = LocalCluster(ClusterConfig(name=args.name, kubernetes_version=args.kubernetes_version))
        if args.action == "build":
            for path in cluster.build(clock):
                print(path)
            return 0
        if args.action == "up":
            info = cluster.up(clock)
            clock(f"cluster {info.name!r} is up: Kubernetes {info.kubernetes_version} at {info.server}")
            print(info.kubeconfig)
            return 0
        if args.action == "status":
            st = cluster.status()
            print(f"cluster {args.name!r}: {'healthy' if st.healthy else 'NOT healthy'} ({st.phase})")
            for name, state in st.components.items():
                print(f"  {name:<24} {state}")
            for problem in st.problems:
                print(f"  problem: {problem}")
            return 0 if st.healthy else 1
        if args.action == "kubeconfig":
            print(cluster.kubeconfig)
            return 0 if cluster.kubeconfig.exists() else 1
        left = 0
        if args.provider in ("kind", "all"):
            from pytest_pods.kindcluster.cluster import KindCluster, KindSpec

            try:
                KindCluster(KindSpec()).delete(clock)
                clock("kind cluster 'pytest-pods' is deleted")
            except PodsError as e:
                if args.provider == "kind":
                    raise
                print(f"pytest-pods: error: {e}", file=sys.stderr)  # the local cluster still goes down
                left = 1
        if args.provider in ("local", "all"):
            cluster.down(clock)
            clock(f"cluster {args.name!r} is down; nothing of it is left but the cache")
        return left
    except (PodsError, LocalClusterError) as e:
        print(f"pytest-pods: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pytest-pods: interrupted", file=sys.stderr)
        return 130


def _kind(args: argparse.Namespace, clock: Stopwatch) -> int:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.kindcluster.tools import docker_unavailable, install_kind

    if args.action == "install":
        print(install_kind(CachePaths.default(), clock))
        return 0
    from pytest_pods.kindcluster.node import build_node_image

    problem = docker_unavailable()
    if problem:
        print(f"pytest-pods: error: {problem}", file=sys.stderr)
        return 1
    ref = build_node_image(args.kubernetes_version, image=args.image, progress=clock)
    clock(f"node image {ref} is ready: pytest --pods-provider=kind --pods-kind-image {ref}")
    print(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
