"""The upstream -> local name mapping, containerd's hosts.toml and the registry's configuration."""

from __future__ import annotations

import http.server
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

import pytest
import yaml

from pytest_pods.localcluster.registry import (
    KNOWN_REGISTRIES,
    UNLISTED_PREFIX,
    Registry,
    free_port,
    host_directory,
    is_read_only,
    local_repo,
    parse_ref,
    write_containerd_hosts,
)

ADDR = "127.0.0.1:15999"


@pytest.mark.parametrize(
    ("ref", "repo"),
    [
        ("nginx", "library/nginx"),
        ("nginx:latest", "library/nginx"),
        ("docker.io/library/nginx:latest", "library/nginx"),
        ("index.docker.io/library/debian", "library/debian"),
        ("afakharany/watcher", "afakharany/watcher"),
        ("docker.io/afakharany/watcher:latest", "afakharany/watcher"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause"),
        ("quay.io/org/app:1", "quay.io/org/app"),
        ("ghcr.io/a/b/c@sha256:" + "0" * 64, "ghcr.io/a/b/c"),
        ("localhost:5001/app:1", "localhost-5001/app"),
        ("localhost/app", "localhost/app"),
    ],
)
def test_local_repo(ref: str, repo: str) -> None:
    assert local_repo(ref) == repo


def test_parse_ref_normalizes_like_docker() -> None:
    assert str(parse_ref("nginx")) == "docker.io/library/nginx:latest"
    assert parse_ref("registry.k8s.io/pause:3.10").tag == "3.10"
    pinned = parse_ref("debian@sha256:" + "a" * 64)
    assert (pinned.tag, pinned.digest) == ("", "sha256:" + "a" * 64)
    assert parse_ref("localhost:5001/app").registry == "localhost:5001"


@pytest.mark.parametrize("ref", ["Nginx", "nginx:bad tag", "-x/y", "debian@sha256:zz", ""])
def test_parse_ref_rejects_invalid(ref: str) -> None:
    with pytest.raises(ValueError):
        parse_ref(ref)


def _request_path(hosts_file: dict[str, object], repo_path: str) -> list[str]:
    """The manifest URLs containerd 1.6 builds from a hosts.toml (remotes/docker/config/hosts.go)."""
    hosts = hosts_file.get("host")
    assert isinstance(hosts, dict) and hosts, "containerd 1.6 ignores a hosts.toml without a [host] table"
    endpoints = [(url, dict(table)) for url, table in hosts.items()]
    endpoints.append((str(hosts_file["server"]), dict(hosts_file)))  # the root server comes last
    urls = []
    for url, table in endpoints:
        parsed = urlparse(url)
        path = parsed.path.rstrip("/")
        if not table.get("override_path") and not path.endswith("/v2"):
            path += "/v2"
        urls.append(f"{parsed.scheme}://{parsed.netloc}{path}/{repo_path}/manifests/1")
    return urls


def test_hosts_toml_sends_every_registry_to_the_local_one(tmp_path: Path) -> None:
    write_containerd_hosts(tmp_path, ADDR, ["example.com", "localhost:5001"])
    dirs = sorted(p.name for p in tmp_path.iterdir())
    assert dirs == sorted([*KNOWN_REGISTRIES, "example.com", "localhost_5001_", "_default"])
    for registry in [*KNOWN_REGISTRIES, "example.com", "localhost:5001"]:
        parsed = tomllib.loads((tmp_path / host_directory(registry) / "hosts.toml").read_text())
        ref = parse_ref(f"{registry}/team/app:1")
        for url in _request_path(parsed, ref.path):
            assert url == f"http://{ADDR}/v2/{local_repo(str(ref))}/manifests/1", registry
        assert parsed["capabilities"] == ["pull", "resolve"]


def test_default_hosts_toml_points_at_an_empty_local_prefix(tmp_path: Path) -> None:
    write_containerd_hosts(tmp_path, ADDR)
    parsed = tomllib.loads((tmp_path / "_default" / "hosts.toml").read_text())
    for url in _request_path(parsed, "team/app"):
        assert url == f"http://{ADDR}/v2/{UNLISTED_PREFIX}/team/app/manifests/1"


def test_no_hosts_toml_names_an_upstream_host(tmp_path: Path) -> None:
    write_containerd_hosts(tmp_path, ADDR, ["example.com"])
    hosts_files = sorted(tmp_path.glob("*/hosts.toml"))
    expected = [*KNOWN_REGISTRIES, "example.com", "_default"]
    assert sorted(f.parent.name for f in hosts_files) == sorted(expected)
    for hosts_file in hosts_files:
        parsed = tomllib.loads(hosts_file.read_text())
        assert parsed["server"], f"{hosts_file}: without server containerd appends the upstream host"
        urls = [str(parsed["server"]), *dict(parsed["host"])]
        assert {urlparse(url).netloc for url in urls} == {ADDR}, hosts_file


def test_hosts_toml_rejects_a_non_loopback_registry(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        write_containerd_hosts(tmp_path, "10.0.0.1:5000")


def test_registry_config(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "storage", tmp_path / "config", "127.0.0.1:15999")
    written = registry.write_config()
    config = yaml.safe_load(written.read_text())
    assert config["http"]["addr"] == "127.0.0.1:15999"
    assert config["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "storage")
    assert config["storage"]["delete"]["enabled"] is True
    assert config["log"]["accesslog"]["disabled"] is True
    assert "debug" not in config["http"]  # no second listener
    assert registry.argv() == ["docker-registry", "serve", str(written)]
    assert registry.url == "http://127.0.0.1:15999"
    assert (tmp_path / "storage").is_dir()


def test_read_only_registry_config(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "storage", tmp_path / "config", "127.0.0.1:15999", read_only=True)
    config = yaml.safe_load(registry.write_config().read_text())
    assert config["storage"]["maintenance"]["readonly"]["enabled"] is True
    assert "delete" not in config["storage"]
    assert is_read_only(registry.config_file)
    assert not is_read_only(Registry(tmp_path, tmp_path / "rw", "127.0.0.1:15999").write_config())
    assert not is_read_only(tmp_path / "missing.yml")
    assert registry.skopeo_dest_args() == ["--dest-tls-verify=false"]


@pytest.mark.parametrize("addr", ["0.0.0.0:5000", ":5000", "localhost:5000", "127.0.0.1"])
def test_registry_listens_on_loopback_only(tmp_path: Path, addr: str) -> None:
    with pytest.raises(ValueError):
        Registry(tmp_path, tmp_path, addr)


def test_nothing_listening_is_unhealthy(tmp_path: Path) -> None:
    registry = Registry(tmp_path, tmp_path, f"127.0.0.1:{free_port()}")
    assert registry.is_healthy(timeout=0.5) is False
    assert registry.has("library/nginx", "latest") is False


class _FakeManifests(http.server.BaseHTTPRequestHandler):
    """Answers manifest HEADs for library/nginx:latest only, and remembers the Accept header."""

    accepts: ClassVar[list[str]] = []

    def do_HEAD(self) -> None:
        self.accepts.append(self.headers.get("Accept", ""))
        if self.path == "/v2/library/nginx/manifests/latest":
            self.send_response(200)
            self.send_header("Docker-Content-Digest", "sha256:" + "1" * 64)
        else:
            self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_registry(tmp_path: Path) -> Iterator[Registry]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeManifests)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Registry(tmp_path, tmp_path, f"127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_has_asks_for_oci_and_docker_manifests(fake_registry: Registry) -> None:
    _FakeManifests.accepts.clear()
    assert fake_registry.has("library/nginx", "latest") is True
    assert fake_registry.manifest_digest("library/nginx", "latest") == "sha256:" + "1" * 64
    assert fake_registry.has("library/nginx", "1.0") is False
    accept = _FakeManifests.accepts[0]
    for media_type in (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ):
        assert media_type in accept
