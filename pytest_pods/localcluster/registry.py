"""The local image registry (Debian's ``docker-registry``) and containerd's mirror configuration.

Every image the cluster pulls comes from one registry on 127.0.0.1. Upstream names map to paths in
it as follows (see :func:`local_repo`), and :func:`write_containerd_hosts` tells containerd the same:

    ==================================  =================================
    upstream reference                  local repository
    ==================================  =================================
    ``nginx``, ``nginx:latest``         ``library/nginx``
    ``docker.io/afakharany/watcher``    ``afakharany/watcher``
    ``registry.k8s.io/pause:3.10``      ``registry.k8s.io/pause``
    ``quay.io/org/app``                 ``quay.io/org/app``
    ``localhost:5001/app``              ``localhost-5001/app``
    ==================================  =================================

Docker Hub keeps its usual paths; every other registry gets its host name as the first path
component (a Docker Hub namespace never contains ``.`` or ``-``, so the two cannot clash).

Only root can push. The cluster's registry on 127.0.0.1:5000 is read-only (distribution's
maintenance mode, as the kind mirror): anyone on the machine may pull the images it serves, no one
can write. Pushes go through :func:`writer`, a second registry over the same storage that lives for
the duration of the push on a free loopback port and takes only clients with a certificate from a CA
made for it, whose key is a 0600 file in a 0700 temporary directory of root's.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from pytest_pods.core.paths import log_tail
from pytest_pods.localcluster.errors import ComponentError
from pytest_pods.localcluster.pki import PKI, CertSpec

DOCKER_HUB = "docker.io"
#: Registries that get their own ``hosts.toml``; any other goes to ``_default``.
KNOWN_REGISTRIES = ("docker.io", "registry.k8s.io", "quay.io", "ghcr.io", "gcr.io", "k8s.gcr.io")
#: Where ``_default`` (a registry with no hosts.toml of its own) points: an empty repository
#: prefix, so that such pulls fail at once with "not found" instead of reaching the internet.
UNLISTED_PREFIX = "unlisted-registry"

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}")


@dataclass(frozen=True)
class ImageRef:
    """A normalized image reference: ``nginx`` is ``docker.io/library/nginx:latest``."""

    registry: str
    path: str
    tag: str
    digest: str = ""

    def __str__(self) -> str:
        text = f"{self.registry}/{self.path}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_ref(ref: str) -> ImageRef:
    """Normalize a reference the way Docker and containerd do; ``ValueError`` if it is not one."""
    rest, _, digest = ref.strip().partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise ValueError(f"invalid digest in image reference {ref!r}")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DOCKER_HUB
    tag = ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG.fullmatch(tag):
            raise ValueError(f"invalid tag {tag!r} in image reference {ref!r}")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not path or not all(_COMPONENT.fullmatch(part) for part in path.split("/")):
        raise ValueError(f"invalid repository name {path!r} in image reference {ref!r}")
    if not tag and not digest:
        tag = "latest"
    return ImageRef(registry, path, tag, digest)


def registry_prefix(registry: str) -> str:
    """The first path component under which ``registry``'s images live locally ("" for Docker Hub)."""
    if registry == DOCKER_HUB:
        return ""
    prefix = registry.lower().replace(":", "-")
    if not _COMPONENT.fullmatch(prefix):
        raise ValueError(f"registry host {registry!r} cannot be mapped to a local repository")
    return prefix


def local_repo(ref: str) -> str:
    """The repository in the local registry that serves ``ref`` (see the module docstring)."""
    parsed = parse_ref(ref)
    prefix = registry_prefix(parsed.registry)
    return f"{prefix}/{parsed.path}" if prefix else parsed.path


def _check_loopback(addr: str) -> None:
    host, sep, port = addr.rpartition(":")
    if not sep or not host.startswith("127.") or not port.isdigit():
        raise ValueError(f"the local registry must listen on 127.0.0.1:PORT, not {addr!r}")


def hosts_toml(registry: str, registry_addr: str, *, loopback_only: bool = True) -> str:
    """The ``hosts.toml`` that sends every pull of ``registry`` (or ``_default``) to the local registry.

    Both the root ``server`` and one ``[host]`` table point at the local registry: a missing
    ``server`` makes containerd append the upstream host as a last resort, and a file without any
    ``[host]`` table fails to parse in containerd 1.6, which then silently falls back to upstream.
    ``loopback_only=False`` is for kind nodes, which reach the registry on the Docker gateway.
    """
    if loopback_only:
        _check_loopback(registry_addr)
    if registry == "_default":
        prefix: str | None = UNLISTED_PREFIX
        what = "any registry without a directory of its own"
    else:
        prefix = registry_prefix(registry) or None
        what = registry
    endpoint = f"http://{registry_addr}" + (f"/v2/{prefix}" if prefix else "")
    override = "override_path = true\n" if prefix else ""
    return (
        f"# Written by pytest-pods: {what} is served by the local registry only.\n"
        f'server = "{endpoint}"\n'
        f"{override}"
        'capabilities = ["pull", "resolve"]\n'
        "\n"
        f'[host."{endpoint}"]\n'
        '  capabilities = ["pull", "resolve"]\n' + (f"  {override}" if override else "")
    )


def host_directory(registry: str) -> str:
    """containerd's directory name for ``registry``: ``host:port`` becomes ``host_port_``."""
    host, sep, port = registry.rpartition(":")
    return f"{host}_{port}_" if sep and host else registry


def write_containerd_hosts(
    hosts_dir: Path,
    registry_addr: str,
    extra_registries: Iterable[str] = (),
    *,
    known: Iterable[str] = (*KNOWN_REGISTRIES, "_default"),
    loopback_only: bool = True,
) -> None:
    """Write ``hosts_dir/<registry>/hosts.toml`` for the known and ``extra_registries`` and ``_default``.

    Point containerd's CRI plugin at it with ``config_path = hosts_dir`` (or ``ctr --hosts-dir``).
    containerd reads these files on every pull, so adding a registry later needs no restart.
    """
    registries = {*known, *extra_registries}
    for registry in sorted(registries):
        directory = hosts_dir / host_directory(registry)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / "hosts.toml"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(hosts_toml(registry, registry_addr, loopback_only=loopback_only))
        tmp.replace(target)


@dataclass(frozen=True)
class PushTLS:
    """The mTLS of a push registry: its serving pair, the CA its clients need, and its one client's
    certificate directory as skopeo reads it (``ca.crt``, ``client.cert``, ``client.key``)."""

    ca: Path
    cert: Path
    key: Path
    client_dir: Path

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        context.load_cert_chain(str(self.client_dir / "client.cert"), str(self.client_dir / "client.key"))
        return context


class Registry:
    """A ``docker-registry`` serving ``storage`` on ``addr`` (127.0.0.1 only): plain HTTP, read-only
    with ``read_only``; or, with ``tls``, HTTPS that takes only clients with a certificate."""

    def __init__(
        self,
        storage: Path,
        config_dir: Path,
        addr: str = "127.0.0.1:5000",
        *,
        read_only: bool = False,
        tls: PushTLS | None = None,
    ) -> None:
        _check_loopback(addr)
        self.storage = storage
        self.config_dir = config_dir
        self.addr = addr
        self.read_only = read_only
        self.tls = tls

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.addr}"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "registry.yml"

    def config(self) -> dict[str, object]:
        """The registry's configuration (distribution 2.8 format)."""
        storage: dict[str, object] = {
            "filesystem": {"rootdirectory": str(self.storage)},
            "delete": {"enabled": True},
            "cache": {"blobdescriptor": "inmemory"},
        }
        if self.read_only:
            del storage["delete"]
            storage["maintenance"] = {"readonly": {"enabled": True}, "uploadpurging": {"enabled": False}}
        http: dict[str, object] = {"addr": self.addr, "headers": {"X-Content-Type-Options": ["nosniff"]}}
        if self.tls:
            http["tls"] = {
                "certificate": str(self.tls.cert),
                "key": str(self.tls.key),
                "clientcas": [str(self.tls.ca)],
            }
        return {
            "version": 0.1,
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": storage,
            "http": http,
        }

    def write_config(self) -> Path:
        """Write the configuration file and create the storage directory; returns the file."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        tmp.replace(self.config_file)
        return self.config_file

    def argv(self) -> list[str]:
        """The command that runs the registry in the foreground (after :meth:`write_config`)."""
        return ["docker-registry", "serve", str(self.config_file)]

    def skopeo_dest_args(self) -> list[str]:
        """skopeo's options to push here: the client certificate, or plain HTTP."""
        if self.tls:
            return [f"--dest-cert-dir={self.tls.client_dir}"]
        return ["--dest-tls-verify=false"]

    def _context(self) -> ssl.SSLContext | None:
        return self.tls.client_context() if self.tls else None

    def _request(self, method: str, path: str, headers: dict[str, str], timeout: float) -> int:
        """The HTTP status of one request; 0 when nothing answers."""
        request = urllib.request.Request(self.url + path, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self._context()) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            err.close()  # it holds the open response
            return int(err.code)
        except (OSError, ValueError):
            return 0

    def is_healthy(self, timeout: float = 1.0) -> bool:
        """True when ``GET /v2/`` answers 200."""
        return self._request("GET", "/v2/", {}, timeout) == 200

    def manifest_digest(self, repo: str, tag: str, timeout: float = 2.0) -> str | None:
        """The digest of ``repo:tag``'s manifest, or None when the registry does not have it."""
        request = urllib.request.Request(
            f"{self.url}/v2/{repo}/manifests/{tag}",
            method="HEAD",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self._context()) as response:
                return str(response.headers.get("Docker-Content-Digest", "")) or None
        except (OSError, ValueError):
            return None

    def has(self, repo: str, tag: str) -> bool:
        """True when the registry serves a manifest for ``repo:tag``."""
        return self.manifest_digest(repo, tag) is not None


@contextmanager
def running(registry: Registry, log: Path, timeout: float = 15.0) -> Iterator[Registry]:
    """Run ``registry`` as a child process for the duration of the block (for tests and one-off pushes)."""
    registry.write_config()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            registry.argv(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + timeout
        while not registry.is_healthy(timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_tail(log, 20)
                state = (
                    f"exited {proc.returncode}"
                    if proc.poll() is not None
                    else f"not healthy after {timeout:g}s"
                )
                raise ComponentError("registry", f"{registry.url}/v2/ {state}", str(log), tail)
            time.sleep(0.1)
        yield registry
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def is_read_only(config_file: Path) -> bool:
    """True when the registry configuration in ``config_file`` takes no writes."""
    try:
        doc = yaml.safe_load(config_file.read_text())
        return bool(doc["storage"]["maintenance"]["readonly"]["enabled"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return False


@contextmanager
def writer(storage: Path, timeout: float = 15.0) -> Iterator[Registry]:
    """A registry that takes pushes into ``storage`` for the duration of the block.

    It listens on a free 127.0.0.1 port and speaks TLS only to clients with a certificate from a CA
    made for this one run. Keys and certificates live in a 0700 temporary directory (keys 0600) and
    are removed afterwards: only the user who runs this (root, for the cluster's storage) can push.
    """
    with tempfile.TemporaryDirectory(prefix="pytest-pods-push-") as tmp:
        root = Path(tmp)
        pki = PKI(root / "pki")
        pki.create(
            [
                CertSpec("registry", "pytest-pods-push-registry", ip_addresses=("127.0.0.1",), server=True),
                CertSpec("client", "pytest-pods-pusher", client=True),
            ],
            service_account=False,
            ca_name="pytest-pods-push-ca",
        )
        client_dir = root / "client"
        client_dir.mkdir(mode=0o700)
        shutil.copy(pki.ca_cert, client_dir / "ca.crt")
        shutil.copy(pki.cert("client"), client_dir / "client.cert")
        shutil.copy(pki.key("client"), client_dir / "client.key")  # keeps mode 0600
        tls = PushTLS(pki.ca_cert, pki.cert("registry"), pki.key("registry"), client_dir)
        registry = Registry(storage, root, f"127.0.0.1:{free_port()}", tls=tls)
        with running(registry, root / "registry.log", timeout):
            yield registry


@contextmanager
def pushing(registry: Registry) -> Iterator[Registry]:
    """Where to push what ``registry`` should serve: itself, or a :func:`writer` over its storage
    when it is read-only."""
    if not registry.read_only:
        yield registry
        return
    with writer(registry.storage) as target:
        yield target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
