"""The stand-in images for real: built (or taken from the shared cache), pushed to a registry on a free
port, pulled by upstream name through a private containerd that uses our hosts.toml, and run.

The containerd here is the test's own: its root, state and socket live under a temporary directory,
and it runs in a private mount namespace with a tmpfs on /run, so that its shims' sockets
(/run/containerd/s) and runc state stay out of the host's /run and its mounts vanish with it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Stopwatch, silent
from pytest_pods.localcluster import images, imagestore
from pytest_pods.localcluster.errors import BuildError
from pytest_pods.localcluster.images import ImageRecipe, ensure_images, layout_path, push_archive
from pytest_pods.localcluster.imagestore import ImageStore, containerd_version, store_key
from pytest_pods.localcluster.registry import (
    Registry,
    free_port,
    local_repo,
    parse_ref,
    running,
    write_containerd_hosts,
)

TOOLS = ["debootstrap", "umoci", "skopeo", "docker-registry", "gcc", "containerd", "ctr", "runc", "unshare"]
NAMESPACE = f"pytest-pods-imgtest-{os.getpid()}"
INDEX_HTML = images.IMAGEFILES / "nginx/rootfs/usr/share/nginx/html/index.html"


def _skip_reason() -> str:
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, a private containerd)"
    missing = [tool for tool in TOOLS if shutil.which(tool, path=images._SEARCH_PATH) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    return ""


pytestmark = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "ok")


def _run(argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )


# ---------------------------------------------------------------------------------------------- registry


class Recorder:
    """A Progress that keeps the messages."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, message: str) -> None:
        self.lines.append(message)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    tmp = tmp_path_factory.mktemp("registry")
    # Read-only, as the cluster's: every push goes through a registry.writer over the same storage.
    reg = Registry(tmp / "storage", tmp / "config", f"127.0.0.1:{free_port()}", read_only=True)
    with running(reg, tmp / "registry.log"):
        yield reg


@pytest.fixture(scope="module")
def cache() -> CachePaths:
    """The real cache, shared with the cluster: a cold build takes about a minute."""
    return CachePaths.default()


@pytest.fixture(scope="module")
def served(cache: CachePaths, registry: Registry) -> list[str]:
    return ensure_images(cache, registry, silent)


def test_registry_serves_every_stand_in(served: list[str], registry: Registry) -> None:
    assert set(served) >= {
        "docker.io/library/nginx:latest",
        "docker.io/library/debian:latest",
        "docker.io/afakharany/watcher:latest",
        "registry.k8s.io/pause:3.10",
    }
    for ref in served:
        tag = parse_ref(ref).tag
        url = f"docker://{registry.addr}/{local_repo(ref)}:{tag}"
        result = _run(["skopeo", "inspect", "--tls-verify=false", url])
        assert result.returncode == 0, result.stderr
        info = json.loads(result.stdout)
        assert info["Os"] == "linux"
        assert info["Labels"]["io.pytest-pods.stand-in"] == "true", ref
        assert registry.has(local_repo(ref), tag)


def test_pause_image_is_one_static_binary(served: list[str], registry: Registry, cache: CachePaths) -> None:
    url = f"docker://{registry.addr}/registry.k8s.io/pause:3.10"
    config = json.loads(_run(["skopeo", "inspect", "--tls-verify=false", "--config", url]).stdout)["config"]
    assert config["User"] == "65535:65535"
    assert config["Entrypoint"] == ["/pause"]
    pause = next(recipe for recipe in images.RECIPES if recipe.name == "pause")
    layer = _only_layer(layout_path(cache, pause, images.recipe_key(pause, "")))
    assert [name for name, member in layer.items() if not member.isdir()] == ["pause"]


def _layer_blob(layout: Path) -> Path:
    """The one layer of the layout's image (a stand-in is one layer)."""
    manifest_digest = images.layout_digest(layout).split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_text())
    assert len(manifest["layers"]) == 1
    return layout / "blobs/sha256" / str(manifest["layers"][0]["digest"]).split(":")[1]


def _only_layer(layout: Path) -> dict[str, tarfile.TarInfo]:
    """The members of the layout's one layer, by path in the image."""
    with gzip.open(_layer_blob(layout)) as raw, tarfile.open(fileobj=raw) as layer:
        return {member.name.removeprefix("./"): member for member in layer.getmembers()}


def test_warm_ensure_images_is_fast_and_pushes_nothing(
    served: list[str], cache: CachePaths, registry: Registry
) -> None:
    messages = Recorder()
    started = time.monotonic()
    again = ensure_images(cache, registry, messages)
    elapsed = time.monotonic() - started
    assert again == served
    assert elapsed < 1.0, messages.lines
    assert not [m for m in messages.lines if "pushing" in m or "building" in m]


# ---------------------------------------------------------------------------------------------- containerd


class Ctr:
    """``ctr`` against the test's own containerd, in one namespace."""

    def __init__(self, socket: Path, fifo_dir: Path, hosts_dir: Path) -> None:
        self.socket = socket
        self.fifo_dir = fifo_dir
        self.hosts_dir = hosts_dir

    def argv(self, *args: str) -> list[str]:
        return ["ctr", "-a", str(self.socket), "-n", NAMESPACE, *args]

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return _run(self.argv(*args), timeout=timeout)

    def pull(self, ref: str) -> subprocess.CompletedProcess[str]:
        return self("images", "pull", "--hosts-dir", str(self.hosts_dir), ref)

    def run(
        self, ref: str, name: str, *command: str, options: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        return self("run", "--rm", "--fifo-dir", str(self.fifo_dir), *options, ref, name, *command)

    def start(self, ref: str, name: str, log: Path, *options: str) -> None:
        """Run ``ref`` detached, its stdout and stderr going to ``log``."""
        result = self(
            "run", "-d", "--fifo-dir", str(self.fifo_dir), "--log-uri", f"file://{log}", *options, ref, name
        )
        assert result.returncode == 0, result.stderr

    def tasks(self) -> dict[str, tuple[int, str]]:
        """Task name -> (pid, status)."""
        lines = self("task", "ls").stdout.splitlines()[1:]
        return {
            parts[0]: (int(parts[1]), parts[2])
            for parts in (line.split() for line in lines)
            if len(parts) == 3
        }

    def remove(self, name: str) -> None:
        self("task", "kill", "-s", "SIGKILL", name)
        self("task", "rm", "-f", name)
        self("containers", "rm", name)


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g}s"
        time.sleep(0.1)


CONTAINERD_CONFIG = """\
version = 2
root = "{tmp}/root"
state = "{tmp}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{tmp}/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "{tmp}/opt"
"""

# a tmpfs on /run in a private mount namespace, then containerd itself
PRIVATE_RUN = 'mount -t tmpfs -o mode=0755 pytest-pods-imgtest /run && exec "$@"'


@pytest.fixture(scope="module")
def ctr(tmp_path_factory: pytest.TempPathFactory, registry: Registry, served: list[str]) -> Iterator[Ctr]:
    tmp = tmp_path_factory.mktemp("containerd")
    (tmp / "fifo").mkdir()
    write_containerd_hosts(tmp / "hosts", registry.addr)
    (tmp / "config.toml").write_text(CONTAINERD_CONFIG.format(tmp=tmp))
    tool = Ctr(tmp / "containerd.sock", tmp / "fifo", tmp / "hosts")
    with (tmp / "containerd.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                PRIVATE_RUN,
                "sh",
                "containerd",
                "--config",
                str(tmp / "config.toml"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 20
        while tool("version", timeout=5).returncode != 0:
            assert proc.poll() is None, (tmp / "containerd.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "containerd did not answer in 20s"
            time.sleep(0.2)
        yield tool
    finally:
        for name in tool.tasks():
            tool("task", "kill", "-s", "SIGKILL", name)
        time.sleep(0.2)
        for name in tool.tasks():
            tool("task", "rm", "-f", name)
        for name in tool("containers", "ls", "-q").stdout.split():
            tool("containers", "rm", name)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for cgroup in Path("/sys/fs/cgroup").glob(f"*/{NAMESPACE}"):
            cgroup.rmdir()
        if Path(f"/sys/fs/cgroup/{NAMESPACE}").is_dir():  # cgroup v2
            Path(f"/sys/fs/cgroup/{NAMESPACE}").rmdir()
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(tmp) not in mounts, "a mount under the test's containerd directory was left behind"
        shutil.rmtree(tmp)


@pytest.fixture(scope="module")
def pulled(ctr: Ctr, served: list[str]) -> Ctr:
    """The containerd, once it has pulled every stand-in by its upstream name."""
    for ref in served:
        result = ctr.pull(ref)
        assert result.returncode == 0, f"{ref}: {result.stderr}"
    return ctr


def test_containerd_pulls_upstream_names_from_the_local_registry(pulled: Ctr, served: list[str]) -> None:
    listed = set(pulled("images", "ls", "-q").stdout.split())
    assert listed >= set(served)


def test_an_image_nobody_pushed_fails_fast_without_leaving_the_machine(ctr: Ctr, registry: Registry) -> None:
    for ref in ["quay.io/pytest-pods/absent:1", "docker.io/library/absent:1", "unknown.example/absent:1"]:
        started = time.monotonic()
        result = ctr("--debug", "images", "pull", "--hosts-dir", str(ctr.hosts_dir), ref)
        assert result.returncode != 0
        assert time.monotonic() - started < 10
        assert "not found" in result.stderr
        contacted = set(re.findall(r'host="?([^"\s]+)', result.stderr))
        assert contacted == {registry.addr}, f"{ref}: contacted {contacted}"


def test_nginx_image(pulled: Ctr) -> None:
    ref = "docker.io/library/nginx:latest"
    check = pulled.run(ref, "nginx-t", "nginx", "-t")
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stdout + check.stderr
    release = pulled.run(ref, "nginx-release", "cat", "/etc/os-release")
    assert "ID=debian" in release.stdout
    looks = pulled.run(
        ref,
        "nginx-looks",
        "/bin/bash",
        "-c",
        "id -u; command -v cat; readlink /var/log/nginx/access.log /var/log/nginx/error.log",
    )
    assert looks.stdout.split() == ["0", "/usr/bin/cat", "/dev/stdout", "/dev/stderr"]


def test_debian_image(pulled: Ctr) -> None:
    result = pulled.run("docker.io/library/debian:latest", "debian-date", "date", "+%Y")
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d{4}\n", result.stdout)
    shells = pulled.run(
        "docker.io/library/debian:bookworm", "debian-sh", "/bin/sh", "-c", "bash -c 'sleep 0; echo ok'"
    )
    assert shells.stdout == "ok\n"


def test_watcher_exits_non_zero_when_nothing_answers(pulled: Ctr) -> None:
    result = pulled.run("docker.io/afakharany/watcher:latest", "watcher-alone")
    assert result.returncode != 0
    assert "nothing answers at http://127.0.0.1:80/" in result.stdout + result.stderr


def test_nginx_serves_the_page_the_watcher_counts(pulled: Ctr, tmp_path: Path) -> None:
    web_log, watch_log = tmp_path / "web.log", tmp_path / "watch.log"
    try:
        pulled.start("docker.io/library/nginx:latest", "web", web_log)
        _wait_for(lambda: "start worker process" in web_log.read_text(), 20, "nginx start-up")
        pid, _ = pulled.tasks()["web"]
        pulled.start(
            "docker.io/afakharany/watcher:latest",
            "watch",
            watch_log,
            "--env",
            "WATCH_INTERVAL=1",
            "--with-ns",
            f"network:/proc/{pid}/ns/net",
        )
        expected = f"There are {INDEX_HTML.read_text().count('n')} occurrences of 'n'"
        _wait_for(lambda: watch_log.read_text().count(expected) >= 2, 20, "two watcher reports")
        web = web_log.read_text()
        for line in [
            "/docker-entrypoint.d/ is not empty, will attempt to perform configuration",
            "Looking for shell scripts in /docker-entrypoint.d/",
            "Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh",
            "Configuration complete; ready for start up",
        ]:
            assert f"/docker-entrypoint.sh: {line}\n" in web
        assert re.search(r'"GET / HTTP/1\.1" 200 \d+ "-" "curl/', web), web
        pulled("task", "kill", "-s", "SIGTERM", "watch")
        _wait_for(lambda: pulled.tasks()["watch"][1] == "STOPPED", 3, "the watcher stopping on SIGTERM")
        pulled("task", "kill", "-s", "SIGQUIT", "web")
        _wait_for(lambda: pulled.tasks()["web"][1] == "STOPPED", 10, "nginx stopping on SIGQUIT")
    finally:
        pulled.remove("watch")
        pulled.remove("web")


def test_pause_runs_as_65535_and_exits_0_on_sigterm(pulled: Ctr, tmp_path: Path) -> None:
    output = tmp_path / "ctr-run.out"
    argv = pulled.argv(
        "run", "--rm", "--fifo-dir", str(pulled.fifo_dir), "registry.k8s.io/pause:3.10", "pause"
    )
    with (
        output.open("wb") as out,
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out) as proc,
    ):
        try:
            deadline = time.monotonic() + 20
            while pulled.tasks().get("pause", (0, ""))[1] != "RUNNING":
                assert proc.poll() is None, output.read_text()
                assert time.monotonic() < deadline, "pause is not running after 20s"
                time.sleep(0.1)
            pid, _ = pulled.tasks()["pause"]
            status = Path(f"/proc/{pid}/status").read_text()
            assert re.search(r"^Uid:\s+65535\s", status, re.MULTILINE), status
            pulled("task", "kill", "-s", "SIGTERM", "pause")
            assert proc.wait(timeout=10) == 0, output.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
            pulled.remove("pause")


def test_push_archive_serves_the_names_in_it(
    ctr: Ctr, registry: Registry, cache: CachePaths, tmp_path: Path
) -> None:
    debian = next(recipe for recipe in images.RECIPES if recipe.name == "debian")
    layout = layout_path(cache, debian, images.recipe_key(debian, images.base_key(images.debian_mirror())))
    source = f"oci:{layout}:{images.LAYOUT_TAG}"
    docker_tar, oci_tar, anon_tar = tmp_path / "app.tar", tmp_path / "tool.tar", tmp_path / "anon.tar"
    for dest in (
        f"docker-archive:{docker_tar}:example.com/team/app:1.0",
        f"oci-archive:{oci_tar}:ghcr.io/me/tool:2",
        f"docker-archive:{anon_tar}",
    ):
        made = _run(["skopeo", "--insecure-policy", "copy", "--quiet", source, dest], timeout=120)
        assert made.returncode == 0, made.stderr
    assert push_archive(docker_tar, registry, ctr.hosts_dir) == ["example.com/team/app:1.0"]
    assert push_archive(oci_tar, registry) == ["ghcr.io/me/tool:2"]
    assert registry.has("example.com/team/app", "1.0")
    assert registry.has("ghcr.io/me/tool", "2")
    assert (ctr.hosts_dir / "example.com" / "hosts.toml").is_file()
    for ref in ("example.com/team/app:1.0", "ghcr.io/me/tool:2"):
        pulled = ctr.pull(ref)
        assert pulled.returncode == 0, pulled.stderr
    with pytest.raises(BuildError, match="names no image"):
        push_archive(anon_tar, registry)


# ---------------------------------------------------------------------------------------- kept image store


def _digests(root: Path) -> dict[str, str]:
    """Every regular file under ``root``: its path -> a hash of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def test_kept_image_store_holds_every_stand_in_unpacked_and_survives_use(
    cache: CachePaths, registry: Registry, served: list[str], tmp_path: Path
) -> None:
    planned = images.plan_images(cache)
    store = ImageStore(tmp_path / "stores")
    key = store_key(planned, containerd_version())
    run_dir = tmp_path / "run"
    store.fill(key, planned, registry, run_dir)
    assert store.ready(key) and store.images(key) == {image.ref: image.digest for image in planned}
    kept = _digests(store.path(key))

    root = tmp_path / "restored"
    store.restore(key, root)
    with imagestore._private_containerd(root, tmp_path / "run2") as address:
        ctr = ["ctr", f"--address={address}", f"--namespace={imagestore.NAMESPACE}"]
        listed = _run([*ctr, "images", "ls"]).stdout
        for image in planned:  # under its upstream name, with the manifest the registry serves
            assert re.search(rf"^{re.escape(image.ref)}\s+\S+\s+{image.digest}\s", listed, re.M), listed
        for image in planned:  # complete and unpacked: a container can start from it without a pull
            check = _run([*ctr, "images", "check", f"name=={image.ref}"]).stdout.splitlines()
            assert len(check) == 2 and "complete" in check[1] and check[1].split()[-1] == "true", check
        # containerd rewrites its databases and removes what it is told to: the kept store stays
        assert _run([*ctr, "images", "rm", "--sync", planned[0].ref]).returncode == 0
    assert _digests(store.path(key)) == kept
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()


# ---------------------------------------------------------------------------------------- a user's stand-ins


@pytest.fixture(scope="module")
def base_tar(cache: CachePaths) -> Path:
    """The debootstrap base (built once, under the builders' lock, when the cache lacks it)."""
    mirror = images.debian_mirror()
    cache.images.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache.images / ".build.lock")):
        return images.build_base(cache, mirror, images.base_key(mirror), Stopwatch(silent))


#: A clean-up's find (the one the builder ran in the image with its /bin/sh before: cleanup.sh)
FIND_DOCS = "find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete"


def _user_stand_in(tmp_path: Path, name: str, packages: list[str], setup: str) -> ImageRecipe:
    """A stand-in as a user writes one (README: a directory with image.toml and setup.sh)."""
    directory = tmp_path / "standins" / name
    directory.mkdir(parents=True)
    (directory / "image.toml").write_text(
        f'refs = ["example.test/pytest-pods/{name}:1"]\ndescription = "a user\'s {name}"\n'
        f"packages = {json.dumps(packages)}\n"
    )
    (directory / "setup.sh").write_text(setup)
    return images.load_recipe(directory)


def _own_cache(tmp_path: Path) -> CachePaths:
    """A cache of the test's own: a user's test image stays out of the shared one."""
    cache = CachePaths(tmp_path / "cache")
    cache.images.mkdir(parents=True)
    return cache


def test_a_stand_in_whose_sh_is_busybox_builds_and_is_cleaned_up(base_tar: Path, tmp_path: Path) -> None:
    """Debian's busybox-static linked as /bin/sh, as busybox and alpine images have it: that sh runs
    its own applets before PATH, so a clean-up run by it gets busybox's find (and failed with its
    usage text). The builder's clean-up runs none of the image's programs."""
    setup = "set -eu\nln -sf /bin/busybox /bin/sh\n"
    recipe = _user_stand_in(tmp_path, "busybox-sh", ["busybox-static"], setup)
    layout = images.build_image(_own_cache(tmp_path), recipe, "k1", base_tar, Stopwatch(silent))
    layer = _only_layer(layout)
    assert layer["usr/bin/sh"].issym() and layer["usr/bin/sh"].linkname == "/bin/busybox"
    assert layer["usr/bin/busybox"].isfile()
    # cleaned up: docs but the copyright files, manual pages, locales, apt's lists and packages
    docs = [n for n, m in layer.items() if n.startswith("usr/share/doc/") and not m.isdir()]
    assert docs and all(n.endswith("/copyright") for n in docs), docs
    assert "usr/share/doc/busybox-static/copyright" in docs
    for prefix in ("usr/share/man/", "usr/share/info/", "var/lib/apt/lists/", "var/cache/apt/archives/"):
        left = [n for n, m in layer.items() if n.startswith(prefix) and not m.isdir()]
        assert left in ([], ["var/cache/apt/archives/lock"]), left
    assert {n for n in layer if n.startswith("usr/share/locale/")} <= {"usr/share/locale/locale.alias"}
    logs = [n for n, m in layer.items() if n.startswith(("var/log/apt/", "var/log/dpkg")) and not m.isdir()]
    assert logs == [], "the install's logs are removed"
    assert not [n for n in layer if n.startswith("tmp/")], "the setup script is not left in /tmp"

    # the control: in this image, sh's find is busybox's, which refuses what a clean-up asks of find
    rootfs = tmp_path / "unpacked"
    rootfs.mkdir()
    unpacked = _run(["tar", "--numeric-owner", "-xzpf", str(_layer_blob(layout)), "-C", str(rootfs)])
    assert unpacked.returncode == 0, unpacked.stderr
    find = _run(["chroot", str(rootfs), "/bin/sh", "-c", FIND_DOCS])
    assert find.returncode != 0 and "BusyBox" in find.stdout + find.stderr, find


def test_a_failing_setup_sh_is_named_as_the_stand_ins_own(base_tar: Path, tmp_path: Path) -> None:
    setup = "echo preparing the app\necho 'cp: cannot stat /src/app.tar' >&2\nexit 7\n"
    recipe = _user_stand_in(tmp_path, "broken", [], setup)
    cache = _own_cache(tmp_path)
    with pytest.raises(BuildError) as info:
        images.build_image(cache, recipe, "k1", base_tar, Stopwatch(silent))
    script = recipe.files / "setup.sh"
    assert str(info.value).splitlines() == [
        "building the example.test/pytest-pods/broken:1 stand-in failed: the stand-in's own setup.sh "
        f"({script}, run in the image by its /bin/sh) exited 7",
        "--- last lines of the build output ---",
        "preparing the app",
        "cp: cannot stat /src/app.tar",
    ]
    assert list(cache.images.iterdir()) == [], "a failed build leaves nothing in the cache"
