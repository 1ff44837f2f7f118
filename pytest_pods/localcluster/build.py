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
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pytest_pods.core.paths import CachePaths, log_tail
from pytest_pods.core.progress import Progress, Stopwatch, silent
from pytest_pods.core.versions import (
    DEFAULT_COREDNS_VERSION,
    DEFAULT_ETCD_VERSION,
    DEFAULT_KUBERNETES_VERSION,
    DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
    minor_of,
)
from pytest_pods.localcluster.errors import BuildError, PreflightError

#: What the local cluster runs (and ``pytest-pods cluster build`` builds).
KUBERNETES_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kubectl",
    "kube-proxy",
)
#: What a kind node image needs on top (``build_kubernetes(..., commands=ALL_KUBERNETES_COMMANDS)``).
ALL_KUBERNETES_COMMANDS = (*KUBERNETES_COMMANDS, "kubeadm")
_HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class Binaries:
    """Paths of every binary the cluster runs."""

    kubernetes_dir: Path
    etcd: Path
    coredns: Path
    local_path_provisioner: Path

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


#: The compiler writes no DWARF: the linker's ``-s -w`` strips it from every binary anyway, and not
#: writing it made the cold Kubernetes build 11 % shorter (414.5 s -> 367.9 s, 6 commands, 2 cores;
#: ``benchmarks/cold_build.py --order dwarf,one``). Versions are stamped by ``-ldflags``, unchanged.
GCFLAGS = "all=-dwarf=false"

_STAGING_REPLACE = re.compile(r"^\s*(k8s\.io/[a-z0-9-]+)\s+=>\s+\./staging/", re.MULTILINE)


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The staging modules that k8s.io/kubernetes's go.mod replaces with local directories."""
    return sorted(set(_STAGING_REPLACE.findall(kubernetes_go_mod)))


def _wrapper_go_mod(module: str, godebug: bool = True) -> str:
    # k8s pins `godebug default=go1.24`; the main module's go/godebug lines set GODEBUG defaults.
    return f"module {module}\n\ngo 1.24.0\n" + ("\ngodebug default=go1.24\n" if godebug else "")


def _module_tools(go: GoBuilder, work: Path, log: Path) -> set[str]:
    """The packages listed as ``tool`` lines in the wrapper module's go.mod."""
    doc = json.loads(go.run(["mod", "edit", "-json"], work, log, "reading go.mod"))
    return {t["Path"] for t in doc.get("Tool") or []}


def _build_many(
    go: GoBuilder,
    work: Path,
    log: Path,
    out: Path,
    packages: dict[str, str],
    ldflags: str,
    what: str,
    tags: str = "",
) -> None:
    """One ``go build -o DIR pkg...`` for every ``name -> package``: the compile and link work is
    shared and runs in parallel. Binaries appear in ``out`` (atomically, by rename) only once all
    of them are built."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        go.run(
            [
                "build",
                "-trimpath",
                *([f"-gcflags={GCFLAGS}"] if GCFLAGS else []),
                *([f"-tags={tags}"] if tags else []),
                f"-ldflags={ldflags}",
                "-o",
                # one package: name its binary; several: each is named after its directory
                str(tmp / next(iter(packages))) if len(packages) == 1 else str(tmp) + "/",
                *packages.values(),
            ],
            work,
            log,
            what,
        )
        for name, package in packages.items():
            built = tmp / (name if len(packages) == 1 else package.rsplit("/", 1)[-1])
            if not built.exists():
                raise BuildError(what, f"`go build` made no binary for {package}", log_tail(log, 30))
            built.rename(out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_kubernetes(
    cache: CachePaths, version: str, progress: Stopwatch, commands: Sequence[str] = KUBERNETES_COMMANDS
) -> Path:
    """Build ``commands`` (names under ``k8s.io/kubernetes/cmd/``) of Kubernetes ``version`` into
    ``cache.bin_dir("kubernetes", version)`` and return that directory.

    Commands already there are kept; the missing ones are built in one ``go build`` invocation.
    Each binary is stamped with ``version`` as upstream's release builds are.
    """
    unknown = [c for c in commands if c not in ALL_KUBERNETES_COMMANDS]
    if unknown:
        known = ", ".join(ALL_KUBERNETES_COMMANDS)
        raise ValueError(f"unknown Kubernetes commands {unknown}; known: {known}")
    out = cache.bin_dir("kubernetes", version)
    missing = [c for c in dict.fromkeys(commands) if not (out / c).exists()]
    if not missing:
        return out
    packages = fetch_kubernetes(cache, version, progress, missing)
    work = cache.build_dir("kubernetes", version)
    names = ", ".join(missing)
    with progress.step(f"compiling {names} {version} (one go build)"):
        ldflags = _version_ldflags(version)
        go = GoBuilder(cache, progress)
        _build_many(
            go, work, work / "build.log", out, packages, ldflags, f"compiling {names}", "selinux,notest"
        )
    return out


def fetch_kubernetes(
    cache: CachePaths, version: str, progress: Stopwatch, commands: Sequence[str] = KUBERNETES_COMMANDS
) -> dict[str, str]:
    """Download Kubernetes ``version`` and resolve ``commands``' dependencies in its wrapper module
    (once); returns ``command -> package``."""
    work = cache.build_dir("kubernetes", version)
    log = work / "build.log"
    go = GoBuilder(cache, progress)
    if not (work / "go.mod").exists() or "k8s.io/kubernetes" not in (work / "go.mod").read_text():
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
    packages = {c: f"k8s.io/kubernetes/cmd/{c}" for c in commands}
    untracked = [p for p in packages.values() if p not in _module_tools(go, work, log)]
    if untracked:
        short = ", ".join(p.rsplit("/", 1)[-1] for p in untracked)
        with progress.step(f"resolving the dependencies of {short}"):
            go.run(
                ["get", "-tool", *(f"{p}@{version}" for p in untracked)], work, log, "resolving dependencies"
            )
    return packages


def module_versions(go: GoBuilder, work: Path, log: Path) -> dict[str, str]:
    """The version of every module a wrapper module requires (a replacement's, when replaced)."""
    doc = json.loads(go.run(["mod", "edit", "-json"], work, log, "reading go.mod"))
    versions = {r["Path"]: r["Version"] for r in doc.get("Require") or []}
    for replace in doc.get("Replace") or []:
        if replace["Old"]["Path"] in versions and replace.get("New", {}).get("Version"):
            versions[replace["Old"]["Path"]] = replace["New"]["Version"]
    return versions


def aligned_requirements(reference: dict[str, str], own: dict[str, str], own_prefix: str) -> list[str]:
    """``module@version`` for each module both builds use at different versions, at the version of
    ``reference`` (Kubernetes's build); the command's own modules (``own_prefix``) keep theirs."""
    return sorted(
        f"{path}@{reference[path]}"
        for path, version in own.items()
        if path in reference and reference[path] != version and not path.startswith(own_prefix)
    )


#: In a wrapper module built with Kubernetes's module versions (see :func:`_align`).
_ALIGNED = "aligned-with-kubernetes"


def _align(
    go: GoBuilder, work: Path, packages: Sequence[str], reference: dict[str, str] | None, own_prefix: str
) -> None:
    """Require the versions Kubernetes's build uses of the modules this build shares with it. The
    Go build cache keys a compiled package by its sources and flags, so each package whose module
    is then at Kubernetes's version is compiled once for both; minimal version selection keeps the
    higher of two requirements, so nothing goes below what the command itself asks for."""
    if not reference:
        return
    log = work / "build.log"
    edits = aligned_requirements(reference, module_versions(go, work, log), own_prefix)
    if not edits:
        return
    go.run(["mod", "edit", *(f"-require={e}" for e in edits)], work, log, "aligning go.mod")
    go.run(["list", "-deps", *packages], work, log, "resolving the aligned modules")  # downloads too
    (work / _ALIGNED).write_text("\n".join(edits) + "\n")


def _compile_or_unalign(
    work: Path, progress: Stopwatch, name: str, compile_: Callable[[], None], refetch: Callable[[], None]
) -> None:
    """Compile; when a build with Kubernetes's module versions does not compile (a version pair
    nobody has tried), fetch it again with its own versions and compile that, saying so."""
    try:
        compile_()
    except BuildError as exc:
        if not (work / _ALIGNED).exists():
            raise
        progress(f"{name} does not compile with Kubernetes's module versions ({exc.detail}): with its own")
        for leftover in ("go.mod", "go.sum", _ALIGNED, "main.go"):
            (work / leftover).unlink(missing_ok=True)
        refetch()
        compile_()


@dataclass(frozen=True)
class ModuleCommand:
    """The main package at the root of a module (whose own go.mod has ``replace`` lines, or that must
    not be ``go install``-ed), built through a wrapper module (see the module's doc)."""

    name: str
    module: str
    #: Its own modules: they keep their versions when the others take Kubernetes's.
    own_prefix: str
    godebug: bool = False

    def fetch(
        self, cache: CachePaths, version: str, progress: Stopwatch, reference: dict[str, str] | None = None
    ) -> None:
        """Download and resolve ``module@version`` into its wrapper module, with the module versions
        of Kubernetes's build (``reference``) where it shares modules with it; nothing when built."""
        if (cache.bin_dir(self.name, version) / self.name).exists():
            return
        work = cache.build_dir(self.name, version)
        if (work / "go.mod").exists() and self.module in (work / "go.mod").read_text():
            return
        go = GoBuilder(cache, progress)
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text(_wrapper_go_mod(f"pytest-pods.local/{self.name}bin", self.godebug))
        with progress.step(f"downloading {self.module}@{version} through the Go module proxy"):
            what = f"resolving {self.module}"
            go.run(["get", "-tool", f"{self.module}@{version}"], work, work / "build.log", what)
            _align(go, work, [self.module], reference, self.own_prefix)

    def build(
        self,
        cache: CachePaths,
        version: str,
        progress: Stopwatch,
        ldflags: str,
        reference: dict[str, str] | None = None,
    ) -> Path:
        out = cache.bin_dir(self.name, version) / self.name
        if out.exists():
            return out
        self.fetch(cache, version, progress, reference)
        work = cache.build_dir(self.name, version)
        go = GoBuilder(cache, progress)

        def compile_() -> None:
            with progress.step(f"compiling {self.name} {version}"):
                flags = f"-s -w {ldflags}"
                _build_many(
                    go, work, work / "build.log", out.parent, {self.name: self.module}, flags, self.name
                )

        _compile_or_unalign(work, progress, self.name, compile_, lambda: self.fetch(cache, version, progress))
        return out


ETCD = ModuleCommand("etcd", "go.etcd.io/etcd/server/v3", own_prefix="go.etcd.io/etcd/", godebug=True)
LOCAL_PATH_PROVISIONER = ModuleCommand(
    "local-path-provisioner",
    "github.com/rancher/local-path-provisioner",
    own_prefix="github.com/rancher/local-path-provisioner",
)


def build_etcd(
    cache: CachePaths, version: str, progress: Stopwatch, reference: dict[str, str] | None = None
) -> Path:
    """Build etcd ``version`` (server module) into the cache; returns the binary's path."""
    ldflags = f"-X go.etcd.io/etcd/api/v3/version.GitSHA={version}"
    return ETCD.build(cache, version, progress, ldflags, reference)


def build_local_path_provisioner(
    cache: CachePaths, version: str, progress: Stopwatch, reference: dict[str, str] | None = None
) -> Path:
    """Build rancher's local-path-provisioner ``version`` into the cache; returns the binary's path.

    Stamped as its ``scripts/build`` does (``-X main.VERSION``); static, as its image ships it.
    """
    return LOCAL_PATH_PROVISIONER.build(cache, version, progress, f"-X main.VERSION={version}", reference)


#: CoreDNS plugins compiled in: what kubeadm's (and kind's) default Corefile uses (errors, health,
#: ready, kubernetes, prometheus, forward, cache, loop, reload, loadbalance), plus template and
#: hosts (local answers), log and whoami. The cloud back-ends (route53, azure, clouddns, ...) are
#: what makes a full build slow; nothing here needs them.
COREDNS_PLUGINS = (
    "reload",
    "ready",
    "health",
    "prometheus",
    "errors",
    "log",
    "loadbalance",
    "cache",
    "template",
    "hosts",
    "kubernetes",
    "loop",
    "forward",
    "whoami",
)


def coredns_directives(plugin_cfg: str, plugins: Sequence[str]) -> list[tuple[str, str]]:
    """``(directive, import path)`` of ``plugins``, in ``plugin.cfg``'s order (which is the order
    CoreDNS runs them in, whatever order a Corefile lists them)."""
    chosen: list[tuple[str, str]] = []
    for line in plugin_cfg.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        directive, _, package = line.partition(":")
        if directive in plugins:
            path = package if "/" in package else f"github.com/coredns/coredns/plugin/{package}"
            chosen.append((directive, path))
    unknown = set(plugins) - {d for d, _ in chosen}
    if unknown:
        raise BuildError("coredns", f"plugins not in CoreDNS's plugin.cfg: {', '.join(sorted(unknown))}")
    return chosen


def coredns_main(directives: Sequence[tuple[str, str]]) -> str:
    """main.go of a CoreDNS with only ``directives`` compiled in: CoreDNS's documented way to build
    with chosen plugins without editing its plugin.cfg (set ``dnsserver.Directives``, import the
    plugins, call ``coremain.Run``)."""
    imports = "".join(f'\t_ "{path}"\n' for _, path in sorted(set(directives), key=lambda d: d[1]))
    names = "".join(f'\t\t"{name}",\n' for name, _ in directives)
    return (
        "// Generated by pytest-pods: CoreDNS with a chosen set of plugins.\n"
        "package main\n\n"
        "import (\n"
        '\t"github.com/coredns/coredns/core/dnsserver"\n'
        '\t"github.com/coredns/coredns/coremain"\n\n'
        f"{imports})\n\n"
        "func init() {\n"
        "\tdnsserver.Directives = []string{\n"
        f"{names}"
        "\t}\n"
        "}\n\n"
        "func main() { coremain.Run() }\n"
    )


def _coredns_key(version: str, plugins: Sequence[str]) -> str:
    """``bin/coredns-<key>``: the default plugin set is the version alone; another gets a suffix."""
    if tuple(plugins) == COREDNS_PLUGINS:
        return version
    return version + "-" + hashlib.sha256(" ".join(sorted(plugins)).encode()).hexdigest()[:8]


def fetch_coredns(
    cache: CachePaths,
    version: str,
    progress: Stopwatch,
    plugins: Sequence[str] = COREDNS_PLUGINS,
    reference: dict[str, str] | None = None,
) -> None:
    """Download CoreDNS ``version`` and write the main package with ``plugins`` (nothing when built),
    with Kubernetes's module versions (``reference``) where it shares modules with that build."""
    key = _coredns_key(version, plugins)
    work = cache.build_dir("coredns", key)
    if (cache.bin_dir("coredns", key) / "coredns").exists() or (work / "main.go").exists():
        return
    go = GoBuilder(cache, progress)
    log = work / "build.log"
    module = "github.com/coredns/coredns"
    work.mkdir(parents=True, exist_ok=True)
    (work / "go.mod").write_text(_wrapper_go_mod("pytest-pods.local/coredns", godebug=False))
    with progress.step(f"downloading {module}@{version} through the Go module proxy"):
        info = json.loads(
            go.run(["mod", "download", "-json", f"{module}@{version}"], work, log, "downloading CoreDNS")
        )
        go.run(["get", f"{module}@{version}"], work, log, "resolving CoreDNS")
    directives = coredns_directives((Path(info["Dir"]) / "plugin.cfg").read_text(), plugins)
    (work / "main.go").write_text(coredns_main(directives))  # main.go: fetched (once aligned)
    try:
        _align(go, work, ["."], reference, module)
    except BaseException:
        (work / "main.go").unlink()
        raise


def build_coredns(
    cache: CachePaths,
    version: str,
    progress: Stopwatch,
    plugins: Sequence[str] = COREDNS_PLUGINS,
    reference: dict[str, str] | None = None,
) -> Path:
    """Build CoreDNS ``version`` with ``plugins`` into the cache; returns the binary's path.

    The default plugin set lives in ``bin/coredns-<version>``; another set gets a directory of its own.
    """
    key = _coredns_key(version, plugins)
    out = cache.bin_dir("coredns", key) / "coredns"
    if out.exists():
        return out
    fetch_coredns(cache, version, progress, plugins, reference)
    work = cache.build_dir("coredns", key)
    go = GoBuilder(cache, progress)

    def compile_() -> None:
        with progress.step(f"compiling coredns {version} ({len(plugins)} plugins)"):
            ldflags = f"-s -w -X github.com/coredns/coredns/coremain.GitCommit={version}"
            _build_many(
                go, work, work / "build.log", out.parent, {"coredns": "."}, ldflags, "compiling coredns"
            )

    _compile_or_unalign(
        work, progress, "coredns", compile_, lambda: fetch_coredns(cache, version, progress, plugins)
    )
    return out


@contextmanager
def _build_lock(cache: CachePaths) -> Iterator[None]:
    """One build at a time per cache (parallel callers wait, then find the result cached)."""
    cache.root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache.root / "build.lock")):
        yield


def ensure_binaries(
    cache: CachePaths,
    kubernetes_version: str,
    etcd_version: str,
    progress: Progress = silent,
    coredns_version: str = DEFAULT_COREDNS_VERSION,
    local_path_provisioner_version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
) -> Binaries:
    """Build whatever the local cluster needs and is missing; return the paths."""
    clock = Stopwatch.of(progress)
    kube_work = cache.build_dir("kubernetes", kubernetes_version)
    versions = (kubernetes_version, etcd_version, coredns_version, local_path_provisioner_version)
    with _build_lock(cache), ThreadPoolExecutor(max_workers=3, thread_name_prefix="go-fetch") as pool:
        reference: dict[str, str] | None = None
        fetched = []
        if not binaries_present(cache, *versions):  # all built: no go command runs (nor needs to exist)
            if not (cache.bin_dir("kubernetes", kubernetes_version) / KUBERNETES_COMMANDS[0]).exists():
                fetch_kubernetes(cache, kubernetes_version, clock)
            if (kube_work / "go.mod").is_file():
                reference = module_versions(GoBuilder(cache, clock), kube_work, kube_work / "build.log")
            # the other modules download (network) while Kubernetes compiles (CPU), at Kubernetes's
            # module versions where they share modules with it (compiled once); each compile then
            # waits for its own download
            fetched = [
                pool.submit(ETCD.fetch, cache, etcd_version, clock, reference),
                pool.submit(fetch_coredns, cache, coredns_version, clock, COREDNS_PLUGINS, reference),
                pool.submit(
                    LOCAL_PATH_PROVISIONER.fetch, cache, local_path_provisioner_version, clock, reference
                ),
            ]
        try:
            kube_dir = build_kubernetes(cache, kubernetes_version, clock)
        except BaseException:
            for future in fetched:
                future.cancel()
            raise
        for future in fetched:
            future.result()
        etcd = build_etcd(cache, etcd_version, clock, reference)
        coredns = build_coredns(cache, coredns_version, clock, COREDNS_PLUGINS, reference)
        provisioner = build_local_path_provisioner(cache, local_path_provisioner_version, clock, reference)
    return Binaries(kube_dir, etcd, coredns, provisioner)


def binaries_present(
    cache: CachePaths,
    kubernetes_version: str,
    etcd_version: str,
    coredns_version: str = DEFAULT_COREDNS_VERSION,
    local_path_provisioner_version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
) -> bool:
    kube = cache.bin_dir("kubernetes", kubernetes_version)
    return (
        all((kube / c).exists() for c in KUBERNETES_COMMANDS)
        and (cache.bin_dir("etcd", etcd_version) / "etcd").exists()
        and (cache.bin_dir("coredns", coredns_version) / "coredns").exists()
        and (
            cache.bin_dir("local-path-provisioner", local_path_provisioner_version) / "local-path-provisioner"
        ).exists()
    )


# ------------------------------------------------------------------------------------------------
# Entry points for other builders (e.g. the kind node image): each takes the build lock, builds only
# what is missing into ~/.cache/pytest-pods/bin/<name>-<version>/, reports progress lines, and
# returns where the result is. They raise BuildError (with the log's tail) or PreflightError.


def kubernetes_binaries(
    version: str = DEFAULT_KUBERNETES_VERSION,
    commands: Sequence[str] = ALL_KUBERNETES_COMMANDS,
    *,
    cache: CachePaths | None = None,
    progress: Progress = silent,
) -> Path:
    """The directory holding ``commands`` (e.g. ``("kubeadm", "kube-proxy")``) of Kubernetes ``version``."""
    cache = cache or CachePaths.default()
    with _build_lock(cache):
        return build_kubernetes(cache, version, Stopwatch.of(progress), commands)


def etcd_binary(
    version: str = DEFAULT_ETCD_VERSION, *, cache: CachePaths | None = None, progress: Progress = silent
) -> Path:
    """The path of the ``etcd`` binary of ``version`` (e.g. ``v3.6.16``)."""
    cache = cache or CachePaths.default()
    with _build_lock(cache):
        return build_etcd(cache, version, Stopwatch.of(progress))


def coredns_binary(
    version: str = DEFAULT_COREDNS_VERSION, *, cache: CachePaths | None = None, progress: Progress = silent
) -> Path:
    """The path of a static ``coredns`` of ``version`` with :data:`COREDNS_PLUGINS`."""
    cache = cache or CachePaths.default()
    with _build_lock(cache):
        return build_coredns(cache, version, Stopwatch.of(progress))


def local_path_provisioner_binary(
    version: str = DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
    *,
    cache: CachePaths | None = None,
    progress: Progress = silent,
) -> Path:
    """The path of a static ``local-path-provisioner`` of ``version``."""
    cache = cache or CachePaths.default()
    with _build_lock(cache):
        return build_local_path_provisioner(cache, version, Stopwatch.of(progress))
