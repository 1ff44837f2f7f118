"""Docker and kind as commands: one runner, the checks that say what is missing, and kind itself,
built from the Go module proxy into the cache (``bin/kind-<version>/kind``), never downloaded.

Both commands find the engine the way the ``docker`` client does (``DOCKER_HOST``, else the default
socket); kind runs ``docker`` from PATH, and so does everything here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from filelock import FileLock

from pytest_pods import localcluster
from pytest_pods.core import commands
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, Stopwatch
from pytest_pods.kindcluster.errors import KindError

#: The kind release built by ``pytest-pods kind install`` (and the one CI tests with).
KIND_VERSION = "v0.33.0"
KIND_MODULE = "sigs.k8s.io/kind"
#: `docker info` on a stopped engine fails at once; a hung one gets this long.
DOCKER_TIMEOUT = 8.0


def tail(done: subprocess.CompletedProcess[str], lines: int = 25) -> str:
    """The last ``lines`` lines of a finished command's output, its stderr first."""
    text = (done.stderr.strip() + "\n" + done.stdout.strip()).strip()
    return "\n".join(text.splitlines()[-lines:])


def run(
    argv: Sequence[str | Path],
    *,
    timeout: float | None = None,
    stdin: bytes | None = None,
    what: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output; ``KindError`` only when it cannot start or times out."""
    try:
        return commands.run(argv, timeout=timeout, stdin=stdin)
    except commands.CommandNotFound as exc:
        raise KindError(f"{what or exc.argv[0]}: {exc.argv[0]} is not installed") from exc
    except commands.CommandTimedOut as exc:
        raise KindError(f"{what or ' '.join(exc.argv[:3])}: no answer within {exc.timeout:g}s") from exc


def docker_command() -> str | None:
    found = shutil.which("docker")
    return found


def docker_unavailable(timeout: float = DOCKER_TIMEOUT) -> str | None:
    """None when a Docker engine answers ``docker info`` within ``timeout`` seconds, else why not,
    with the fix."""
    docker = docker_command()
    if docker is None:
        return (
            "Docker is not installed (no `docker` command on PATH): install Docker "
            "(e.g. `apt-get install docker.io`), or use --pods-provider=local (no Docker needed)"
        )
    host = os.environ.get("DOCKER_HOST") or "the default socket /var/run/docker.sock"
    try:
        done = run([docker, "info", "--format", "{{.ServerVersion}}"], timeout=timeout)
    except KindError:
        return (
            f"the Docker engine at {host} did not answer `docker info` within {timeout:g}s: "
            "check that dockerd is healthy (`docker info`), or use --pods-provider=local"
        )
    if done.returncode != 0 or not done.stdout.strip():
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return (
            f"Docker is installed but its engine at {host} does not answer ({last}): start it "
            "(`systemctl start docker`, or dockerd), point DOCKER_HOST at a running one, "
            "or use --pods-provider=local"
        )
    return None


def cached_kind(cache: CachePaths, version: str = KIND_VERSION) -> Path:
    return cache.bin_dir("kind", version) / "kind"


def find_kind(explicit: Path | None, cache: CachePaths) -> Path | None:
    """``--pods-kind-binary``, else the cached pinned build, else ``kind`` on PATH."""
    if explicit is not None:
        return explicit
    cached = cached_kind(cache)
    if cached.is_file():
        return cached
    found = shutil.which("kind")
    return Path(found) if found else None


KIND_MISSING_FIX = (
    f"build kind {KIND_VERSION} from the Go module proxy with `pytest-pods kind install` (needs Go), "
    "install kind yourself (https://kind.sigs.k8s.io), or pass --pods-kind-binary PATH"
)


def install_kind(cache: CachePaths, progress: Progress, version: str = KIND_VERSION) -> Path:
    """Build ``sigs.k8s.io/kind@version`` with ``go install`` through the Go module proxy only."""
    # not the Kubernetes build's lock: kind builds in seconds and need not wait for a kubelet
    return go_install(cache, progress, "kind", f"{KIND_MODULE}@{version}", version)


def go_install(
    cache: CachePaths, progress: Progress, name: str, package: str, version: str, ldflags: str = ""
) -> Path:
    """``go install package`` (``module/cmd@version``) through the Go module proxy only, into the
    cache's ``bin/<name>-<version>/<name>``, under a lock of its own; at once when already built.
    The tools that are not Kubernetes (kind, Helm) are built by this one function."""
    target = cache.bin_dir(name, version) / name
    if target.is_file():
        return target
    clock = Stopwatch.of(progress)
    cache.root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache.root / f"{name}-build.lock")):
        if target.is_file():
            return target
        work = cache.build_dir(name, version)
        out = target.parent / ".gobin"
        go = ProxyOnlyGo(cache, clock, {"GOBIN": str(out)})
        flags = ["-ldflags", ldflags] if ldflags else []
        with clock.step(f"go install {package} (Go module proxy)"):
            go.run(["install", *flags, package], work, work / "build.log", f"building {name}")
        built = out / name
        if not built.is_file():
            raise localcluster.BuildError(f"{name} {version}", f"go install left no binary at {built}")
        built.replace(target)
        shutil.rmtree(out, ignore_errors=True)
    return target


class ProxyOnlyGo(localcluster.GoBuilder):
    """The local cluster's Go runner (same caches), outside any module, never cloning from origin."""

    def __init__(self, cache: CachePaths, progress: Stopwatch, extra: dict[str, str] | None = None) -> None:
        super().__init__(cache, progress)
        self.extra = extra or {}

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(GOFLAGS="-buildvcs=false", GOPROXY=_proxy_only(env.get("GOPROXY")), **self.extra)
        return env


def _proxy_only(goproxy: str | None) -> str:
    entries = [p for p in (goproxy or "https://proxy.golang.org").replace("|", ",").split(",") if p]
    kept = [p for p in entries if p not in ("direct", "off")]
    return ",".join(kept) or "https://proxy.golang.org"


def kind_source(cache: CachePaths, progress: Progress, version: str = KIND_VERSION) -> Path:
    """kind's module source (for its node base files), from the Go module cache or the proxy."""
    clock = Stopwatch.of(progress)
    cached = cache.go_modcache / f"{KIND_MODULE}@{version}"
    if (cached / "images" / "base" / "files").is_dir():
        return cached
    go = ProxyOnlyGo(cache, clock)
    work = cache.build_dir("kind", version)

    info = json.loads(
        go.run(["mod", "download", "-json", f"{KIND_MODULE}@{version}"], work, work / "build.log", "kind")
    )
    return Path(info["Dir"])
