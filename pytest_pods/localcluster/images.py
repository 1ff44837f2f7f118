"""Offline stand-ins for the images the lab uses, built from Debian packages, served by the local registry.

A ``debootstrap --variant=minbase`` of bookworm (from the host's apt mirror) is the base of every
Debian-based stand-in; the pause image is a static binary on its own. Each image is kept as an OCI
layout under ``cache.images``, named by a hash of its recipe (the recipe fields and the files in
``imagefiles/``), so nothing is rebuilt until something in the recipe changes, and it is pushed to
the local registry under its upstream name (see :func:`.registry.local_repo`) only when the registry
does not already serve that very manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from pytest_pods.core import commands
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, Stopwatch, silent
from pytest_pods.localcluster import slim
from pytest_pods.localcluster.errors import BuildError, ComponentError, PreflightError
from pytest_pods.localcluster.registry import (
    Registry,
    free_port,
    local_repo,
    parse_ref,
    pushing,
    running,
    write_containerd_hosts,
    writer,
)

#: Bump when the build steps change in a way the recipe files do not show.
RECIPE_VERSION = "2"
SUITE = "bookworm"
IMAGEFILES = Path(__file__).parent / "imagefiles"
APT_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
LAYOUT_TAG = "image"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])

#: tool -> the Debian package that has it
BUILD_TOOLS = {
    "debootstrap": "debootstrap",
    "umoci": "umoci",
    "gcc": "gcc",
    "strip": "binutils",
    "chroot": "coreutils",
    "tar": "tar",
}
PUSH_TOOLS = {"skopeo": "skopeo"}
SERVE_TOOLS = {"docker-registry": "docker-registry"}


@dataclass(frozen=True)
class ImageRecipe:
    """One stand-in: what goes in (its directory's ``rootfs/``, ``setup.sh``, packages) and its image
    configuration. Read from the directory's ``image.toml`` (see :func:`load_recipe`)."""

    name: str
    refs: tuple[str, ...]
    description: str
    base: str = "debian"  # or "scratch"
    packages: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (DEFAULT_PATH,)
    workdir: str = ""
    ports: tuple[str, ...] = ()
    user: str = ""
    stopsignal: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    directory: Path | None = field(default=None, compare=False)

    @property
    def files(self) -> Path:
        return self.directory if self.directory is not None else IMAGEFILES / self.name


#: A stand-in is a directory with this file: its recipe, as data.
RECIPE_FILE = "image.toml"
#: Directories of a user's own stand-ins (``os.pathsep``-separated), read after the built-in ones.
STANDINS_ENV = "PYTEST_PODS_STANDINS"
_LIST_FIELDS = ("refs", "packages", "entrypoint", "cmd", "env", "ports")
_TEXT_FIELDS = ("description", "base", "workdir", "user", "stopsignal")


def load_recipe(directory: Path) -> ImageRecipe:
    """The recipe in ``directory/image.toml``: ``refs`` (the upstream names it stands in for) and
    ``description`` are required; ``base`` (debian or scratch), ``packages``, ``entrypoint``,
    ``cmd``, ``env``, ``workdir``, ``ports``, ``user``, ``stopsignal`` and a ``[labels]`` table are
    optional; ``rootfs/`` is copied over the image and ``setup.sh`` runs in it (chrooted)."""
    path = directory / RECIPE_FILE
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise BuildError(f"stand-in {directory.name}", f"cannot read {path}: {err}") from err
    known = {"name", "labels", *_LIST_FIELDS, *_TEXT_FIELDS}
    unknown = sorted(set(data) - known)
    missing = [key for key in ("refs", "description") if key not in data]
    if unknown or missing:
        problem = f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        raise BuildError(
            f"stand-in {directory.name}", f"{path}: {problem}; valid keys: {', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {"name": str(data.get("name", directory.name)), "directory": directory}
    for key in _LIST_FIELDS:
        if key in data:
            if not isinstance(data[key], list) or not all(isinstance(v, str) for v in data[key]):
                raise BuildError(f"stand-in {directory.name}", f"{path}: {key} must be a list of strings")
            values[key] = tuple(data[key])
    for key in _TEXT_FIELDS:
        if key in data:
            values[key] = str(data[key])
    if "labels" in data:
        values["labels"] = tuple(sorted((str(k), str(v)) for k, v in dict(data["labels"]).items()))
    recipe = ImageRecipe(**values)
    if recipe.base not in ("debian", "scratch"):
        raise BuildError(
            f"stand-in {recipe.name}", f"{path}: base must be debian or scratch, not {recipe.base!r}"
        )
    for ref in recipe.refs:
        parse_ref(ref)
    return recipe


def load_recipes(roots: Sequence[Path]) -> tuple[ImageRecipe, ...]:
    """Every stand-in under ``roots`` (one directory with an ``image.toml`` each), in order; a name or
    a reference given twice is a :class:`BuildError` naming both places."""
    recipes: list[ImageRecipe] = []
    seen: dict[str, Path] = {}
    for root in roots:
        for directory in sorted(p for p in root.iterdir() if (p / RECIPE_FILE).is_file()):
            recipe = load_recipe(directory)
            for key in (f"name {recipe.name}", *(f"reference {ref}" for ref in recipe.refs)):
                if key in seen:
                    raise BuildError(
                        f"stand-in {recipe.name}", f"{key} is given by both {seen[key]} and {directory}"
                    )
                seen[key] = directory
            recipes.append(recipe)
    return tuple(recipes)


def standin_roots() -> list[Path]:
    """Where stand-ins are read from: the built-in ones, then ``$PYTEST_PODS_STANDINS``."""
    extra = [Path(p).expanduser() for p in os.environ.get(STANDINS_ENV, "").split(os.pathsep) if p]
    return [IMAGEFILES, *extra]


#: The built-in stand-ins: the lab's images (nginx, debian, watcher) and the cluster's pause image.
RECIPES: tuple[ImageRecipe, ...] = load_recipes([IMAGEFILES])


# ---------------------------------------------------------------------------------------------- tools


def _tail(output: str, lines: int = 40) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def _tool(name: str) -> str:
    found = shutil.which(name, path=_SEARCH_PATH)
    if found is None:
        raise PreflightError(f"{name} is not installed", f"apt-get install -y {_package_of(name)}")
    return found


def _package_of(tool: str) -> str:
    return {**BUILD_TOOLS, **PUSH_TOOLS, **SERVE_TOOLS}.get(tool, tool)


def preflight(tools: Sequence[str], *, need_root: bool) -> None:
    """Raise :class:`PreflightError` naming what is missing and the ``apt-get`` line that adds it."""
    if need_root and os.geteuid() != 0:
        raise PreflightError(
            "building the stand-in images needs root (debootstrap and chroot)",
            "run it as root, e.g. `sudo pytest-pods images build`",
        )
    missing = [tool for tool in tools if shutil.which(tool, path=_SEARCH_PATH) is None]
    if "gcc" in tools and "gcc" not in missing:
        libc = subprocess.run(["gcc", "-print-file-name=libc.a"], capture_output=True, text=True, check=False)
        if not Path(libc.stdout.strip()).is_absolute():
            missing.append("libc.a (for gcc -static)")
    if missing:
        packages = sorted(
            {
                _package_of(tool) if tool in {**BUILD_TOOLS, **PUSH_TOOLS, **SERVE_TOOLS} else "libc6-dev"
                for tool in missing
            }
        )
        raise PreflightError(f"missing: {', '.join(missing)}", f"apt-get install -y {' '.join(packages)}")


def _run(
    argv: Sequence[str | Path],
    what: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    step: str = "",
) -> str:
    """Run a build step; :class:`BuildError` with the tail of its output when it fails, naming the
    step as ``step`` (default: the command line)."""
    args = [str(arg) for arg in argv]
    step = step or f"`{shlex.join(args)}`"
    try:
        done = commands.run(args, env=env, timeout=timeout, merge_output=True)
    except commands.CommandNotFound as err:
        raise BuildError(
            what, f"{args[0]} is not installed (apt-get install -y {_package_of(args[0])})"
        ) from err
    except commands.CommandTimedOut as err:
        raise BuildError(what, f"{step} did not finish within {timeout:g}s", _tail(err.output)) from err
    if done.returncode != 0:
        raise BuildError(what, f"{step} exited {done.returncode}", _tail(done.stdout))
    return done.stdout


# ---------------------------------------------------------------------------------------------- recipes


def debian_mirror(sources: Path = APT_SOURCES, suite: str = SUITE) -> str:
    """The first ``deb`` URI for ``suite`` in the host's deb822 apt sources."""
    try:
        text = sources.read_text()
    except OSError as err:
        raise PreflightError(
            f"cannot read the apt sources {sources}: {err}",
            "configure a Debian mirror in /etc/apt/sources.list.d/debian.sources",
        ) from err
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if (
            fields.get("enabled", "yes").lower() != "no"
            and "deb" in fields.get("types", "").split()
            and suite in fields.get("suites", "").split()
            and fields.get("uris")
        ):
            return fields["uris"].split()[0]
    raise PreflightError(
        f"no `deb` source for {suite} in {sources}",
        f"add a stanza with Types: deb, Suites: {suite} and your mirror's URIs to {sources}",
    )


def _hash_files(digest: hashlib._Hash, directory: Path, skip: Sequence[str] = ()) -> None:
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory).as_posix()
        if rel in skip:
            continue
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            mode = "x" if os.access(path, os.X_OK) else "-"
            digest.update(f"F {rel} {mode} {path.stat().st_size}\n".encode())
            digest.update(path.read_bytes())


def base_key(mirror: str, sources: Path = APT_SOURCES) -> str:
    """The cache key of the debootstrap base: suite, mirror, apt sources and ``imagefiles/base``."""
    digest = hashlib.sha256(f"base {RECIPE_VERSION} {SUITE} minbase {mirror}\n".encode())
    if sources.is_file():
        digest.update(sources.read_bytes())
    _hash_files(digest, IMAGEFILES / "base")
    return digest.hexdigest()[:16]


def recipe_key(recipe: ImageRecipe, base: str) -> str:
    """The cache key of one image: its recipe fields, its files and (for Debian ones) the base key."""
    digest = hashlib.sha256(f"image {RECIPE_VERSION}\n".encode())
    fields = {k: v for k, v in asdict(recipe).items() if k != "directory"}  # where it is read from: no
    digest.update(json.dumps(fields, sort_keys=True).encode())
    if recipe.base == "debian":
        digest.update(f"\nbase {base}\n".encode())
    _hash_files(digest, recipe.files, skip=(RECIPE_FILE,))
    return digest.hexdigest()[:16]


def layout_path(cache: CachePaths, recipe: ImageRecipe, key: str) -> Path:
    return cache.images / f"{recipe.name}-{key}"


def layout_digest(layout: Path, tag: str = LAYOUT_TAG) -> str:
    """The manifest digest of ``tag`` in an OCI layout."""
    index = json.loads((layout / "index.json").read_text())
    for manifest in index.get("manifests", []):
        if manifest.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return str(manifest["digest"])
    raise BuildError(str(layout), f"the OCI layout has no tag {tag!r}")


def _prune(cache: CachePaths, prefix: str, keep: Path) -> None:
    """Remove older builds of the same thing (``<prefix>-<otherkey>``)."""
    for old in cache.images.glob(f"{prefix}-*"):
        if old != keep and old.name.removeprefix(f"{prefix}-").removesuffix(".tar").isalnum():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------- building


def _chroot_env() -> dict[str, str]:
    env = {
        "PATH": DEFAULT_PATH.removeprefix("PATH="),
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C",
        "HOME": "/root",
    }
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def chroot(rootfs: Path, argv: Sequence[str], what: str, extra_env: dict[str, str] | None = None) -> str:
    """Run ``argv`` inside ``rootfs`` (as root), with a clean environment."""
    return _run([_tool("chroot"), rootfs, *argv], what, env={**_chroot_env(), **(extra_env or {})})


@contextmanager
def networked_chroot(rootfs: Path) -> Iterator[None]:
    """Give the chroot the host's DNS and keep package scripts from starting services, for the block."""
    resolv = rootfs / "etc/resolv.conf"
    policy = rootfs / "usr/sbin/policy-rc.d"
    for path in (resolv, policy):
        if path.is_symlink() or path.exists():
            path.unlink()
    shutil.copyfile("/etc/resolv.conf", resolv)
    policy.write_text("#!/bin/sh\n# pytest-pods image build: start no services\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)
        resolv.unlink(missing_ok=True)
        resolv.write_text("")  # the runtime mounts the pod's own


def _install_files(source: Path, rootfs: Path) -> None:
    """Copy ``source``'s tree into ``rootfs`` as root-owned files, never through a symlink in ``rootfs``."""
    if not source.is_dir():
        return
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        target = rootfs / rel
        for parent in rel.parents:
            if parent != Path(".") and (rootfs / parent).is_symlink():
                raise BuildError(str(rootfs), f"refusing to write through the symlink {rootfs / parent}")
        if path.is_dir():
            if target.is_symlink():
                raise BuildError(str(rootfs), f"refusing to write through the symlink {target}")
            target.mkdir(mode=0o755, exist_ok=True)
        else:
            target.unlink(missing_ok=True)
            shutil.copyfile(path, target)
            target.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
            os.chown(target, 0, 0)


def _run_setup(rootfs: Path, script: Path, what: str) -> None:
    """Run a stand-in's own ``setup.sh`` in ``rootfs`` (chrooted, with the image's ``/bin/sh``); when
    it fails, the :class:`BuildError` names that script, its exit code and its last lines."""
    tmp = slim.inside(rootfs, "tmp")
    if tmp is None or not tmp.is_dir():
        raise BuildError(what, f"the image has no /tmp directory to run its setup.sh ({script}) from")
    inside = tmp / "pytest-pods-setup.sh"
    shutil.copyfile(script, inside)
    try:
        _run(
            [_tool("chroot"), rootfs, "/bin/sh", f"/{inside.relative_to(rootfs)}"],
            what,
            env=_chroot_env(),
            step=f"the stand-in's own setup.sh ({script}, run in the image by its /bin/sh)",
        )
    finally:
        inside.unlink(missing_ok=True)


def empty_dir(path: Path) -> None:
    """Remove what ``path`` holds, keeping ``path``."""
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def build_base(cache: CachePaths, mirror: str, key: str, watch: Stopwatch) -> Path:
    """``debootstrap --variant=minbase`` into a tarball ``cache.images/base-<suite>-<key>.tar``."""
    target = cache.images / f"base-{SUITE}-{key}.tar"
    if target.exists():
        return target
    what = f"the {SUITE} base"
    with tempfile.TemporaryDirectory(prefix="base-", dir=cache.images) as tmp:
        rootfs = Path(tmp) / "rootfs"
        with watch.step(f"debootstrap --variant=minbase {SUITE} from {mirror}"):
            _run([_tool("debootstrap"), "--variant=minbase", SUITE, rootfs, mirror], what)
        with watch.step("base: apt sources, package lists, slimming"):
            _install_files(IMAGEFILES / "base" / "rootfs", rootfs)
            (rootfs / "etc/hostname").write_text("localhost\n")
            if APT_SOURCES.is_file():
                (rootfs / "etc/apt/sources.list").unlink(missing_ok=True)
                shutil.copyfile(APT_SOURCES, rootfs / "etc/apt/sources.list.d" / APT_SOURCES.name)
            with networked_chroot(rootfs):
                chroot(rootfs, ["apt-get", "update", "-q"], what)
            slim.slim(rootfs, keep_apt_lists=True)
        with watch.step(f"base: packing {target.name}"):
            partial = Path(tmp) / "base.tar"
            pack(rootfs, partial, what)
            partial.replace(target)
    _prune(cache, f"base-{SUITE}", target)
    return target


def _umoci_config_args(recipe: ImageRecipe, key: str) -> list[str]:
    args = ["--author", "pytest-pods", "--history.created_by", f"pytest-pods stand-in recipe {recipe.name}"]
    args += [f"--config.entrypoint={part}" for part in recipe.entrypoint]
    args += [f"--config.cmd={part}" for part in recipe.cmd]
    args += [f"--config.env={item}" for item in recipe.env]
    args += [f"--config.exposedports={port}" for port in recipe.ports]
    if recipe.workdir:
        args.append(f"--config.workingdir={recipe.workdir}")
    if recipe.user:
        args.append(f"--config.user={recipe.user}")
    if recipe.stopsignal:
        args.append(f"--config.stopsignal={recipe.stopsignal}")
    labels = {
        "io.pytest-pods.stand-in": "true",
        "io.pytest-pods.stand-in-for": " ".join(recipe.refs),
        "io.pytest-pods.recipe": f"{recipe.name}-{key}",
        "org.opencontainers.image.description": f"pytest-pods stand-in: {recipe.description}",
        **dict(recipe.labels),
    }
    args += [f"--config.label={name}={value}" for name, value in labels.items()]
    return args


def _pause_rootfs(recipe: ImageRecipe, rootfs: Path, what: str) -> None:
    """A FROM-scratch root: only ``/pause``, compiled statically from ``imagefiles/pause/pause.c``."""
    binary = rootfs / "pause"
    gcc = [_tool("gcc"), "-Os", "-Wall", "-Werror", "-static", '-DVERSION="3.10-pytest-pods"']
    _run([*gcc, "-o", binary, recipe.files / "pause.c"], what)
    _run([_tool("strip"), binary], what)
    binary.chmod(0o755)


# Building a rootfs from the debootstrap base: the stand-ins here, the kind node's images in kindcluster/.
TAR_FLAGS = ("--numeric-owner", "--xattrs", "--xattrs-include=*")


def unpack(tarball: Path, rootfs: Path, what: str) -> None:
    """Unpack a rootfs tarball (the base) into the directory ``rootfs``, owners and xattrs kept."""
    _run([_tool("tar"), *TAR_FLAGS, "-xpf", tarball, "-C", rootfs], what)


@contextmanager
def base_rootfs(base_tar: Path, work: Path, prefix: str, what: str) -> Iterator[Path]:
    """A scratch copy of the base's rootfs under ``work`` (``rootfs`` in a temporary directory that
    the caller may use for its own files), removed after the block."""
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=work) as tmp:
        rootfs = Path(tmp) / "rootfs"
        rootfs.mkdir()
        unpack(base_tar, rootfs, what)
        yield rootfs


def pack(rootfs: Path, tarball: Path, what: str) -> None:
    """The directory ``rootfs`` as one tarball, owners and xattrs kept."""
    _run([_tool("tar"), *TAR_FLAGS, "-C", rootfs, "-cf", tarball, "."], what)


def apt_install(rootfs: Path, packages: Sequence[str], what: str) -> None:
    """``apt-get install`` inside ``rootfs`` (within :func:`networked_chroot`), refreshing the base's
    package lists once if they are out of date."""
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    try:
        chroot(rootfs, install, what)
    except BuildError:
        chroot(rootfs, ["apt-get", "update", "-q"], what)
        chroot(rootfs, install, what)


def _debian_rootfs(recipe: ImageRecipe, base_tar: Path, rootfs: Path, what: str, watch: Stopwatch) -> None:
    """The base, plus the recipe's packages, its files and its ``setup.sh``, cleaned up."""
    with watch.step(f"{recipe.name}: unpacking the base"):
        unpack(base_tar, rootfs, what)
    with networked_chroot(rootfs):
        if recipe.packages:
            with watch.step(f"{recipe.name}: apt-get install {' '.join(recipe.packages)}"):
                apt_install(rootfs, recipe.packages, what)
        _install_files(recipe.files / "rootfs", rootfs)
        if (recipe.files / "setup.sh").is_file():
            _run_setup(rootfs, recipe.files / "setup.sh", what)
    # the builder's own clean-up runs from the host: nothing of the image's (its /bin/sh, find, apt)
    slim.slim(rootfs)
    empty_dir(rootfs / "dev")  # the runtime provides /dev


def build_image(
    cache: CachePaths, recipe: ImageRecipe, key: str, base_tar: Path | None, watch: Stopwatch
) -> Path:
    """Build one stand-in into the OCI layout ``cache.images/<name>-<key>`` (tag ``image``).

    umoci unpacks the empty new image into a bundle, the recipe fills the bundle's rootfs, and
    ``umoci repack`` turns it into one layer (``umoci insert`` would do for pause, but the 0.4.7 in
    Debian writes a layer tar without its end-of-archive blocks).
    """
    target = layout_path(cache, recipe, key)
    if target.exists():
        return target
    what = f"the {recipe.refs[0]} stand-in"
    umoci = _tool("umoci")
    with tempfile.TemporaryDirectory(prefix=f"{recipe.name}-build-", dir=cache.images) as tmp:
        work = Path(tmp)
        layout, bundle = work / "oci", work / "bundle"
        image = f"{layout}:{LAYOUT_TAG}"
        _run([umoci, "init", "--layout", layout], what)
        _run([umoci, "new", "--image", image], what)
        _run([umoci, "unpack", "--image", image, bundle], what)
        rootfs = bundle / "rootfs"
        if recipe.base == "scratch":
            with watch.step(f"{recipe.name}: compiling pause.c (gcc -Os -static)"):
                _pause_rootfs(recipe, rootfs, what)
        elif base_tar is None:
            raise BuildError(what, "a Debian-based image needs the base tarball")
        else:
            _debian_rootfs(recipe, base_tar, rootfs, what, watch)
        with watch.step(f"{recipe.name}: packing the OCI layer (umoci repack)"):
            created_by = f"pytest-pods: {recipe.description}"
            _run([umoci, "repack", "--history.created_by", created_by, "--image", image, bundle], what)
            _run([umoci, "config", "--image", image, *_umoci_config_args(recipe, key)], what)
            _run([umoci, "gc", "--layout", layout], what)
        layout.rename(target)
    _prune(cache, recipe.name, target)
    return target


# ---------------------------------------------------------------------------------------------- binary images

#: A distroless-like root for a static binary: users root and nonroot (65532), and a /tmp.
_MINIMAL_FILES: dict[str, bytes] = {
    "etc/passwd": (
        b"root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
    ),
    "etc/group": b"root:x:0:\nnonroot:x:65532:\n",
    "etc/nsswitch.conf": b"hosts: files dns\n",
}


@dataclass(frozen=True)
class BinaryImage:
    """An image made of one static binary (plus optional files) on an otherwise empty root.

    ``ref`` is the upstream name it stands in for (e.g. ``registry.k8s.io/coredns/coredns:v1.14.6``);
    the binary goes to ``path`` (default ``/<binary name>``); ``files`` maps paths in the image to
    file contents or host files. ``entrypoint`` defaults to ``[path]``.
    """

    ref: str
    binary: Path
    path: str = ""
    files: tuple[tuple[str, bytes | Path], ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = (DEFAULT_PATH,)
    user: str = ""
    workdir: str = ""
    ports: tuple[str, ...] = ()
    description: str = ""

    @property
    def binary_path(self) -> str:
        return self.path or f"/{self.binary.name}"

    @property
    def slug(self) -> str:
        """A cache directory prefix: ``bin-coredns_v1_14_6`` for ``registry.k8s.io/coredns/coredns:v1.14.6``.

        Older builds of the same name and tag are pruned; other tags are left alone.
        """
        ref = parse_ref(self.ref)
        name = f"{ref.path.rsplit('/', 1)[-1]}_{ref.tag}"
        return "bin-" + "".join(ch if ch.isalnum() else "_" for ch in name)

    def key(self) -> str:
        """A hash of all that goes in: the binary's and files' bytes, the config, the recipe version."""
        digest = hashlib.sha256(f"binary-image {RECIPE_VERSION}\n".encode())
        fields = asdict(self)
        fields.update(binary=str(self.binary), files=[name for name, _ in self.files])
        digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
        with self.binary.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        for name, content in self.files:
            digest.update(f"\n{name}\n".encode())
            digest.update(content if isinstance(content, bytes) else content.read_bytes())
        return digest.hexdigest()[:16]


def binary_image(image: BinaryImage, *, cache: CachePaths | None = None, progress: Progress = silent) -> Path:
    """Build (or find in the cache) the OCI layout of ``image``; returns it (tag ``image``).

    The layout lives in ``~/.cache/pytest-pods/images/bin-<name>-<key>``, keyed by a hash of the
    binary, its files and configuration, so a rebuilt binary makes a new image and an unchanged one
    costs only the hash. Push it with :func:`push_layout`, or write a ``docker load``-able archive
    with :func:`save_docker_archive`. Needs umoci, and root (files owned by root).
    """
    cache = cache or CachePaths.default()
    watch = Stopwatch.of(progress)
    if not image.binary.is_file():
        raise BuildError(image.ref, f"the binary {image.binary} does not exist (build it first)")
    key = image.key()
    target = cache.images / f"{image.slug}-{key}"
    if target.exists():
        return target
    preflight(["umoci"], need_root=True)
    cache.images.mkdir(parents=True, exist_ok=True)
    what = f"the {image.ref} image"
    umoci = _tool("umoci")
    with (
        watch.step(f"packing {image.ref} from {image.binary}"),
        tempfile.TemporaryDirectory(prefix=f"{image.slug}-build-", dir=cache.images) as tmp,
    ):
        work = Path(tmp)
        layout, bundle = work / "oci", work / "bundle"
        ref = f"{layout}:{LAYOUT_TAG}"
        _run([umoci, "init", "--layout", layout], what)
        _run([umoci, "new", "--image", ref], what)
        _run([umoci, "unpack", "--image", ref, bundle], what)
        rootfs = bundle / "rootfs"
        (rootfs / "tmp").mkdir(mode=0o1777, exist_ok=True)
        (rootfs / "tmp").chmod(0o1777)
        contents: dict[str, bytes | Path] = {**_MINIMAL_FILES, **dict(image.files)}
        contents[image.binary_path.lstrip("/")] = image.binary
        for name, content in contents.items():
            dest = rootfs / name.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                dest.write_bytes(content)
                dest.chmod(0o644)
            else:
                shutil.copyfile(content, dest)
                dest.chmod(0o755 if os.access(content, os.X_OK) else 0o644)
        created_by = f"pytest-pods: {image.description or image.binary.name}"
        _run([umoci, "repack", "--history.created_by", created_by, "--image", ref, bundle], what)
        args = [
            "--author",
            "pytest-pods",
            "--history.created_by",
            f"pytest-pods binary image {image.ref}",
        ]
        args += [f"--config.entrypoint={part}" for part in image.entrypoint or (image.binary_path,)]
        args += [f"--config.cmd={part}" for part in image.cmd]
        args += [f"--config.env={item}" for item in image.env]
        args += [f"--config.exposedports={port}" for port in image.ports]
        if image.user:
            args.append(f"--config.user={image.user}")
        if image.workdir:
            args.append(f"--config.workingdir={image.workdir}")
        args += [
            "--config.label=io.pytest-pods.stand-in=true",
            f"--config.label=io.pytest-pods.stand-in-for={image.ref}",
            f"--config.label=io.pytest-pods.recipe={image.slug}-{key}",
        ]
        _run([umoci, "config", "--image", ref, *args], what)
        _run([umoci, "gc", "--layout", layout], what)
        layout.rename(target)
    _prune(cache, image.slug, target)
    return target


def save_docker_archive(layout: Path, ref: str, dest: Path) -> Path:
    """Write the OCI layout's image as a ``docker save``-style archive named ``ref`` (``docker load``,
    ``ctr images import`` and ``kind load image-archive`` read it); returns ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.unlink(missing_ok=True)
    _run(
        [
            _tool("skopeo"),
            "--insecure-policy",
            "copy",
            "--quiet",
            f"oci:{layout}:{LAYOUT_TAG}",
            f"docker-archive:{tmp}:{parse_ref(ref)}",
        ],
        f"saving {ref} to {dest}",
        timeout=600,
    )
    tmp.replace(dest)
    return dest


# ---------------------------------------------------------------------------------------------- pushing


def _skopeo_copy(source: str, registry: Registry, name: str, tag: str, what: str) -> None:
    """Copy ``source`` to ``registry`` as ``local_repo(name):tag``."""
    # --insecure-policy: these are our own images (or the user's archives) going to our own registry,
    # whatever signature policy the host has in /etc/containers/policy.json.
    dest = f"docker://{registry.addr}/{local_repo(name)}:{tag}"
    _run(
        [_tool("skopeo"), "--insecure-policy", "copy", "--quiet", *registry.skopeo_dest_args(), source, dest],
        what,
        timeout=600,
    )


def push_layout(layout: Path, ref: str, registry: Registry) -> None:
    """Push the OCI layout to ``registry`` (a writable one) as ``ref`` (an upstream name)."""
    _skopeo_copy(f"oci:{layout}:{LAYOUT_TAG}", registry, ref, parse_ref(ref).tag, f"pushing {ref}")


@dataclass(frozen=True)
class PlannedImage:
    """One image the cluster serves: its upstream reference, its cached OCI layout and that layout's
    manifest digest (what the registry serves, and what containerd stores, under ``ref``)."""

    ref: str
    layout: Path
    digest: str


def plan_images(
    cache: CachePaths, progress: Progress = silent, extra: Sequence[BinaryImage] = ()
) -> list[PlannedImage]:
    """Every stand-in (and ``extra`` binary image) with its cached layout; builds the missing layouts.

    Needs no registry. When everything is cached it reads a few small files and hashes the binaries.
    """
    watch = Stopwatch.of(progress)
    recipes = load_recipes(standin_roots())
    need_debian = any(recipe.base == "debian" for recipe in recipes)
    mirror = debian_mirror() if need_debian else ""
    bkey = base_key(mirror) if need_debian else ""
    planned = [(recipe, recipe_key(recipe, bkey)) for recipe in recipes]
    missing = [(recipe, key) for recipe, key in planned if not layout_path(cache, recipe, key).exists()]
    if missing:
        preflight([*BUILD_TOOLS], need_root=True)
        cache.images.mkdir(parents=True, exist_ok=True)
        with FileLock(str(cache.images / ".build.lock")):
            base_tar = None
            if any(recipe.base == "debian" for recipe, _ in missing):
                base_tar = build_base(cache, mirror, bkey, watch)
            for recipe, key in missing:
                with watch.step(f"building {recipe.refs[0]} stand-in ({recipe.name}-{key})"):
                    build_image(cache, recipe, key, base_tar, watch)
    out: list[PlannedImage] = []
    for recipe, key in planned:
        layout = layout_path(cache, recipe, key)
        digest = layout_digest(layout)
        out += [PlannedImage(str(parse_ref(ref)), layout, digest) for ref in recipe.refs]
    for image in extra:
        layout = binary_image(image, cache=cache, progress=watch)
        out.append(PlannedImage(str(parse_ref(image.ref)), layout, layout_digest(layout)))
    return out


def push_images(registry: Registry, planned: Sequence[PlannedImage], progress: Progress = silent) -> None:
    """Push each planned image the registry does not already serve (one HEAD request per reference),
    through a :func:`.registry.writer` when it is read-only (started on the first push only)."""
    watch = Stopwatch.of(progress)
    if not registry.is_healthy():
        raise ComponentError("registry", f"{registry.url}/v2/ does not answer; start the registry first")
    with ExitStack() as stack:
        target: Registry | None = None
        for image in planned:
            if registry.manifest_digest(local_repo(image.ref), parse_ref(image.ref).tag) == image.digest:
                continue
            if target is None:  # a warm start pushes nothing
                target = stack.enter_context(pushing(registry))
            with watch.step(f"pushing {image.ref} to {registry.addr}/{local_repo(image.ref)}"):
                push_layout(image.layout, image.ref, target)


def ensure_images(
    cache: CachePaths, registry: Registry, progress: Progress, extra: Sequence[BinaryImage] = ()
) -> list[str]:
    """Build the missing stand-ins (and ``extra`` binary images) and push what the registry lacks
    (through a :func:`.registry.writer` when it is read-only); returns the upstream refs served.

    Idempotent: when every layout is cached and the registry serves the same manifests, it only
    reads a few small files (and hashes the binaries) and makes one HEAD request per reference.
    """
    if not registry.is_healthy():
        raise ComponentError("registry", f"{registry.url}/v2/ does not answer; start the registry first")
    planned = plan_images(cache, progress, extra)
    push_images(registry, planned, progress)
    return [image.ref for image in planned]


@contextmanager
def cache_registry(
    cache: CachePaths, progress: Progress = silent, registry_addr: str = "127.0.0.1:5000"
) -> Iterator[Registry]:
    """A read-only registry over the cached registry storage, to pull from: the one at
    ``registry_addr`` when it answers (a running cluster), else one on a free 127.0.0.1 port for the
    duration of the block. (:func:`push_images` pushes through a writer.)"""
    registry = Registry(cache.registry_storage, cache.root / "registry-config", registry_addr, read_only=True)
    if registry.is_healthy():
        yield registry
        return
    preflight([*SERVE_TOOLS], need_root=False)
    with tempfile.TemporaryDirectory(prefix="pytest-pods-registry-") as tmp:
        temporary = Registry(cache.registry_storage, Path(tmp), f"127.0.0.1:{free_port()}", read_only=True)
        progress(
            f"no registry at {registry_addr}; serving {cache.registry_storage} on {temporary.addr} meanwhile"
        )
        with running(temporary, Path(tmp) / "registry.log"):
            yield temporary


def archive_images(archive: Path) -> list[tuple[str, str]]:
    """The images in a ``docker save`` or OCI archive: ``(skopeo source, upstream name)`` pairs."""
    try:
        with tarfile.open(archive) as tar:
            members = {name.removeprefix("./"): name for name in tar.getnames()}

            def load(name: str) -> object:
                handle = tar.extractfile(members[name])
                if handle is None:
                    raise BuildError(str(archive), f"{name} in the archive is not a file")
                return json.load(handle)

            images: list[tuple[str, str]] = []
            if "manifest.json" in members:
                manifest = load("manifest.json")
                for entry in manifest if isinstance(manifest, list) else []:
                    for name in entry.get("RepoTags") or []:
                        images.append((f"docker-archive:{archive}:{name}", name))
            elif "index.json" in members:
                index = load("index.json")
                manifests = index.get("manifests", []) if isinstance(index, dict) else []
                for entry in manifests:
                    notes = entry.get("annotations") or {}
                    ref_name = notes.get("org.opencontainers.image.ref.name", "")
                    name = notes.get("io.containerd.image.name") or (
                        ref_name if ("/" in ref_name or ":" in ref_name) else ""
                    )
                    if not name:
                        continue
                    if ref_name:
                        images.append((f"oci-archive:{archive}:{ref_name}", name))
                    elif len(manifests) == 1:
                        images.append((f"oci-archive:{archive}", name))
            else:
                raise BuildError(
                    str(archive), "neither a docker-archive (manifest.json) nor an OCI archive (index.json)"
                )
    except (OSError, tarfile.TarError, ValueError, AttributeError) as err:
        raise BuildError(str(archive), f"cannot read the image archive: {err}") from err
    if not images:
        raise BuildError(
            str(archive),
            "the archive names no image, so there is nothing to push it as; "
            "save it by name (`docker save app:1.0 -o app.tar`) or tag it first",
        )
    return images


def push_archive(archive: Path, registry: Registry, hosts_dir: Path | None = None) -> list[str]:
    """Push every named image in ``archive`` so that ``registry`` serves it at ``local_repo(name)``
    (through a :func:`.registry.writer` when it is read-only); returns the names.

    With ``hosts_dir``, also write containerd's hosts.toml for any registry the names use.
    """
    preflight([*PUSH_TOOLS, *SERVE_TOOLS], need_root=False)  # docker-registry: the push registry
    named = archive_images(archive)
    pushed: list[str] = []
    for _, name in named:
        try:
            parsed = parse_ref(name)
        except ValueError as err:
            raise BuildError(str(archive), str(err)) from err
        if not parsed.tag:
            raise BuildError(str(archive), f"{name} has a digest but no tag; tag it to load it")
        pushed.append(str(parsed))
    with pushing(registry) as target:
        for (source, name), ref in zip(named, pushed, strict=True):
            _skopeo_copy(source, target, name, parse_ref(ref).tag, f"pushing {name}")
    if hosts_dir is not None:
        write_containerd_hosts(hosts_dir, registry.addr, {parse_ref(name).registry for name in pushed})
    return pushed


def build_and_push(
    progress: Progress,
    cache: CachePaths | None = None,
    registry_addr: str = "127.0.0.1:5000",
    extra: Sequence[BinaryImage] = (),
) -> list[str]:
    """For ``pytest-pods images build``: build the stand-ins and push them to the cached registry storage.

    Reads from the (read-only) registry at ``registry_addr`` when it answers (a running cluster);
    otherwise from the push registry (:func:`.registry.writer`) that it starts anyway.
    """
    cache = cache or CachePaths.default()
    watch = Stopwatch(progress)
    registry = Registry(cache.registry_storage, cache.root / "registry-config", registry_addr, read_only=True)
    if registry.is_healthy():
        return ensure_images(cache, registry, watch, extra)
    preflight([*SERVE_TOOLS], need_root=False)
    with writer(cache.registry_storage) as temporary:
        watch(f"no registry at {registry_addr}; pushing to {cache.registry_storage} through {temporary.addr}")
        return ensure_images(cache, temporary, watch, extra)
