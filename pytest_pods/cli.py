"""The ``pytest-pods`` command: a thin layer over the providers and the cluster packages' faces.

pytest-pods cluster up [--kubernetes-version V]   start (or reuse) the local cluster
pytest-pods cluster status [--provider P]         exit 0 only when it is healthy (default local)
pytest-pods cluster kubeconfig                    print the kubeconfig's path
pytest-pods cluster down [--provider P]           stop it and remove everything of it (P: a provider
                                                  of the registry, or all; default local)
pytest-pods images build                          build the lab's stand-in images (offline)
pytest-pods images load ARCHIVE...                push image archives to the local registry
pytest-pods kind install                          build kind (pinned) from the Go module proxy
pytest-pods helm install                          build Helm v4 (pinned) from the Go module proxy
pytest-pods kind build-node-image [--kubernetes-version V] [--image REF]
                                                  an offline kind node image (Docker needed)
pytest-pods gc [--list] [--kubeconfig PATH] [--context C]
                                                  delete (--list: only show, with why) the namespaces of
                                                  test runs that are over, and kept ones expired
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from pytest_pods import localcluster
from pytest_pods.core.progress import Stopwatch, to_stderr
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION, normalize_kubernetes_version
from pytest_pods.errors import PodsError
from pytest_pods.providers import Registry, installed_registry
from pytest_pods.providers.kind import kind_errors
from pytest_pods.providers.local import local_errors
from pytest_pods.settings import Settings

#: ``cluster down --provider all``: every provider of the registry.
ALL = "all"


def _parser(providers: Sequence[str]) -> argparse.ArgumentParser:
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
    csub.choices["status"].add_argument(
        "--provider",
        choices=providers,
        default="local",
        help="whose cluster: a provider's name (default: local)",
    )
    csub.choices["down"].add_argument(
        "--provider",
        choices=(*providers, ALL),
        default="local",
        help="whose cluster: a provider's name (kind: the kind cluster 'pytest-pods'), or all of them "
        "(default: local)",
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
    helm = sub.add_parser("helm", help="Helm: the binary that renders charts (pods_chart, apply_chart)")
    hsub = helm.add_subparsers(dest="action", required=True)
    hsub.add_parser("install", help="build the pinned Helm v4 from the Go module proxy into the cache")
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
        help="delete the test namespaces of runs that are over, and kept ones whose time is up",
        description="Delete, with what their tests made outside them, the test namespaces whose run's "
        "Lease has expired or is gone (a run killed on any host), those whose run held no Lease and whose "
        "maker on this host is gone, and kept ones past their expiry (--pods-keep-for); then the runs' "
        "expired Leases. Namespaces of live runs, and namespaces without the pytest-pods/run label, are "
        "never touched. A session does the same when it starts.",
    )
    gc.add_argument("--list", action="store_true", help="only print what would be deleted, and why")
    where = gc.add_mutually_exclusive_group()
    where.add_argument("--kubeconfig", help="the cluster's kubeconfig (default: the local cluster's)")
    where.add_argument(
        "--in-cluster", action="store_true", help="use the pod's own ServiceAccount (e.g. in a CronJob)"
    )
    gc.add_argument("--context", help="context in that kubeconfig")
    return p


def _version(value: str) -> str:
    try:
        return normalize_kubernetes_version(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


Command = Callable[[argparse.Namespace, Registry, Stopwatch], int]


def _local(args: argparse.Namespace) -> localcluster.LocalCluster:
    config = localcluster.ClusterConfig(name=args.name, kubernetes_version=args.kubernetes_version)
    return localcluster.LocalCluster(config)


def _settings(args: argparse.Namespace) -> Settings:
    if args.name != "local":
        raise PodsError(
            f"--name {args.name}: `cluster status` and `cluster down` act on each provider's own cluster "
            "(local: 'local'; kind: 'pytest-pods'); --name is for build, up and kubeconfig"
        )
    return Settings(kubernetes_version=args.kubernetes_version)


def _build(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    for path in _local(args).build(clock):
        print(path)
    return 0


def _up(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    info = _local(args).up(clock)
    clock(f"cluster {info.name!r} is up: Kubernetes {info.kubernetes_version} at {info.server}")
    print(info.kubeconfig)
    return 0


def _status(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    status = registry.make(args.provider, _settings(args)).status()
    print(status.headline)
    for line in status.details:
        print(f"  {line}")
    return 0 if status.healthy else 1


def _kubeconfig(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    kubeconfig = _local(args).kubeconfig
    print(kubeconfig)
    return 0 if kubeconfig.exists() else 1


def _down(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    """Each named provider's ``stop``; with ``all``, one that fails is reported and the next still
    goes down (exit 1)."""
    settings = _settings(args)
    if args.provider != ALL:
        registry.make(args.provider, settings).stop(clock)
        return 0
    left = 0
    for name in registry.providers():
        try:
            registry.make(name, settings).stop(clock)
        except PodsError as e:
            print(f"pytest-pods: error: {e}", file=sys.stderr)
            left = 1
    return left


def _images_build(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    for ref in localcluster.build_and_push(clock):
        print(ref)
    return 0


def _images_load(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    for ref in localcluster.LocalCluster().load_images(args.archives, clock):
        print(ref)
    return 0


def _kind_install(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.kindcluster import install_kind

    with kind_errors():
        print(install_kind(CachePaths.default(), clock))
    return 0


def _helm_install(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.render.tools import install_helm

    print(install_helm(CachePaths.default(), clock))
    return 0


def _kind_node_image(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    from pytest_pods.kindcluster import build_node_image, docker_unavailable

    problem = docker_unavailable()
    if problem:
        print(f"pytest-pods: error: {problem}", file=sys.stderr)
        return 1
    with kind_errors():
        ref = build_node_image(args.kubernetes_version, image=args.image, progress=clock)
    clock(f"node image {ref} is ready: pytest --pods-provider=kind --pods-kind-image {ref}")
    print(ref)
    return 0


def _gc(args: argparse.Namespace, registry: Registry, clock: Stopwatch) -> int:
    """Print one line per thing deleted (or, with ``--list``, to be deleted): ``kind name: why``."""
    from pytest_pods import gc
    from pytest_pods.kube import Kube

    if args.in_cluster:
        kube = Kube.in_cluster()
    else:
        kubeconfig = Path(args.kubeconfig) if args.kubeconfig else localcluster.LocalCluster().kubeconfig
        kube = Kube.from_kubeconfig(kubeconfig, args.context)
    try:
        found = gc.plan(kube)
        if not args.list:
            gc.collect(kube, found.doomed)
    finally:
        kube.close()
    for d in found.doomed:
        print(d.line)
    for problem in found.problems:
        print(f"pytest-pods: warning: {problem}", file=sys.stderr)
    what = "would delete" if args.list else "deleting"
    leases = len(found.doomed) - len(found.namespaces)
    clock(f"{what} {len(found.namespaces)} namespace(s) and {leases} lease(s)")
    return 0


#: (group, action) -> what runs it.
COMMANDS: dict[tuple[str, str | None], Command] = {
    ("cluster", "build"): _build,
    ("cluster", "up"): _up,
    ("cluster", "status"): _status,
    ("cluster", "kubeconfig"): _kubeconfig,
    ("cluster", "down"): _down,
    ("images", "build"): _images_build,
    ("images", "load"): _images_load,
    ("kind", "install"): _kind_install,
    ("kind", "build-node-image"): _kind_node_image,
    ("helm", "install"): _helm_install,
    ("gc", None): _gc,
}


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Run one command; ``registry`` defaults to the built-in providers and the installed plugins'."""
    registry = registry or installed_registry()
    args = _parser(registry.providers()).parse_args(argv)
    clock = Stopwatch(to_stderr)
    try:
        with local_errors():
            return COMMANDS[args.group, getattr(args, "action", None)](args, registry, clock)
    except PodsError as e:
        print(f"pytest-pods: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pytest-pods: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
