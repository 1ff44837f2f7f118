"""Build the cluster's binaries from source through the Go module proxy.

``k8s.io/kubernetes`` cannot be ``go install``-ed: its go.mod replaces every staging module
(``k8s.io/api``, ``k8s.io/client-go``, ...) with a local directory, and a dependency's replaces are
ignored. So each build happens in a small wrapper module of our own that replaces each staging
module with its published ``v0.<minor>.<patch>`` and lists the commands as ``tool`` lines.
etcd's server module has the same shape (replaces pointing at sibling directories).

Results go to the cache, keyed by version; only missing binaries are built.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pytest_pods.localcluster.errors import BuildError, PreflightError
from pytest_pods.localcluster.paths import CachePaths, log_tail
from pytest_pods.localcluster.progress import Progress, Stopwatch, silent
from pytest_pods.localcluster.versions import minor_of

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl")
_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class Binaries:
    """Paths of every binary the cluster runs."""

    kubernetes_dir: Path
    etcd: Path

    def kube(self, command: str) -> Path:
        return self.kubernetes_dir / command


class GoBuilder:
    """Runs the go command with the cache's GOMODCACHE/GOCACHE, logging to a file."""

    def __init__(self, cache: CachePaths, progress: Stopwatch) -> None:
        self.cache = cache
        self.progress = progress
        if shutil.which("go") is None:
            raise PreflightError(
                "the go command is not on PATH (needed once, to build Kubernetes and etcd)",
                "install Go 1.24 or newer (e.g. `apt-get install golang-go` or from go.dev) and retry",
            )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            GOMODCACHE=str(self.cache.go_modcache),
            GOCACHE=str(self.cache.go_buildcache),
            GOFLAGS="-buildvcs=false -mod=mod",
            GOTOOLCHAIN=env.get("GOTOOLCHAIN", "local"),
            CGO_ENABLED="0",
        )
        return env

    def run(self, args: Sequence[str], cwd: Path, log: Path, what: str) -> str:
        """Run ``go args`` in ``cwd``; stdout is returned, stderr goes to ``log``.

        A heartbeat reports ``what`` every 30 s so that a long compile never looks hung.
        """
        cwd.mkdir(parents=True, exist_ok=True)
        stop = threading.Event()

        def heartbeat() -> None:
            began = self.progress.elapsed
            while not stop.wait(_HEARTBEAT_SECONDS):
                self.progress(f"  still {what} ({self.progress.elapsed - began:.0f}s so far)")

        ticker = threading.Thread(target=heartbeat, daemon=True)
        ticker.start()
        try:
            with log.open("ab") as err:
                err.write(f"\n$ go {' '.join(args)}\n".encode())
                err.flush()
                proc = subprocess.run(
                    ["go", *args], cwd=cwd, env=self.env(), stdout=subprocess.PIPE, stderr=err, check=False
                )
        finally:
            stop.set()
            ticker.join()
        if proc.returncode != 0:
            raise BuildError(
                what, f"`go {' '.join(args[:3])} ...` exited {proc.returncode}", log_tail(log, 30)
            )
        return proc.stdout.decode()


def _version_ldflags(version: str) -> str:
    """The -X flags that upstream's hack/lib/version.sh sets, so binaries report the real version."""
    minor = minor_of(version)
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor=1",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate={date}",
        ]
    return " ".join(flags)


_STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[a-z0-9-]+)\s+=>\s+\./staging/", re.MULTILINE)


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The staging modules that k8s.io/kubernetes's go.mod replaces with local directories."""
    return sorted(set(_STAGING_REPLACE.findall(kubernetes_go_mod)))


def _wrapper_go_mod(module: str) -> str:
    # k8s pins `godebug default=go1.24`; the main module's go/godebug lines set GODEBUG defaults.
    return f"module {module}\n\ngo 1.24.0\n\ngodebug default=go1.24\n"


def build_kubernetes(
    cache: CachePaths, version: str, progress: Stopwatch, commands: Sequence[str] = KUBERNETES_COMMANDS
) -> Path:
    """Build ``commands`` of Kubernetes ``version`` into the cache; returns the bin directory."""
    out = cache.bin_dir("kubernetes", version)
    missing = [c for c in commands if not (out / c).exists()]
    if not missing:
        return out
    work = cache.build_dir("kubernetes", version)
    log = work / "build.log"
    go = GoBuilder(cache, progress)
    if not (work / "go.mod").exists() or "tool k8s.io/kubernetes" not in (work / "go.mod").read_text():
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(_wrapper_go_mod("pytest-pods.local/k8sbins"))
        with progress.step(f"downloading k8s.io/kubernetes@{version} through the Go module proxy"):
            info = json.loads(
                go.run(
                    ["mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
                    work,
                    log,
                    f"downloading k8s.io/kubernetes@{version}",
                )
            )
        staging = staging_modules(Path(info["GoMod"]).read_text())
        v0 = "v0." + version.removeprefix("v1.")
        edits = [f"-replace={m}={m}@{v0}" for m in staging]
        go.run(["mod", "edit", *edits, f"-require=k8s.io/kubernetes@{version}"], work, log, "editing go.mod")
        with progress.step(f"resolving the dependencies of {len(commands)} commands"):
            go.run(
                ["get", "-tool", *(f"k8s.io/kubernetes/cmd/{c}@{version}" for c in commands)],
                work,
                log,
                "resolving dependencies",
            )
    out.mkdir(parents=True, exist_ok=True)
    ldflags = _version_ldflags(version)
    for command in missing:
        tmp = out / f".{command}.tmp"
        with progress.step(f"compiling {command} {version}"):
            go.run(
                [
                    "build",
                    "-trimpath",
                    "-tags=selinux,notest",
                    f"-ldflags={ldflags}",
                    "-o",
                    str(tmp),
                    f"k8s.io/kubernetes/cmd/{command}",
                ],
                work,
                log,
                f"compiling {command}",
            )
        tmp.rename(out / command)
    return out


def build_etcd(cache: CachePaths, version: str, progress: Stopwatch) -> Path:
    """Build etcd ``version`` (server module) into the cache; returns the binary's path."""
    out = cache.bin_dir("etcd", version) / "etcd"
    if out.exists():
        return out
    work = cache.build_dir("etcd", version)
    log = work / "build.log"
    go = GoBuilder(cache, progress)
    if not (work / "go.mod").exists() or "tool go.etcd.io" not in (work / "go.mod").read_text():
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(_wrapper_go_mod("pytest-pods.local/etcdbin"))
        with progress.step(f"downloading go.etcd.io/etcd/server/v3@{version}"):
            go.run(["get", "-tool", f"go.etcd.io/etcd/server/v3@{version}"], work, log, "resolving etcd")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / ".etcd.tmp"
    with progress.step(f"compiling etcd {version}"):
        go.run(
            [
                "build",
                "-trimpath",
                f"-ldflags=-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={version}",
                "-o",
                str(tmp),
                "go.etcd.io/etcd/server/v3",
            ],
            work,
            log,
            "compiling etcd",
        )
    tmp.rename(out)
    return out


def ensure_binaries(
    cache: CachePaths, kubernetes_version: str, etcd_version: str, progress: Progress = silent
) -> Binaries:
    """Build whatever is missing (under a lock, so parallel callers build once) and return the paths."""
    clock = Stopwatch.of(progress)
    cache.root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache.root / "build.lock")):
        kube_dir = build_kubernetes(cache, kubernetes_version, clock)
        etcd = build_etcd(cache, etcd_version, clock)
    return Binaries(kube_dir, etcd)


def binaries_present(cache: CachePaths, kubernetes_version: str, etcd_version: str) -> bool:
    kube = cache.bin_dir("kubernetes", kubernetes_version)
    return (
        all((kube / c).exists() for c in KUBERNETES_COMMANDS)
        and (cache.bin_dir("etcd", etcd_version) / "etcd").exists()
    )
