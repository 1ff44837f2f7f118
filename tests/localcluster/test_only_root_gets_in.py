"""Only root gets in (issue 12, item 6): an unprivileged local user can neither read nor write etcd,
nor push to the stand-in registry, nor use any other listener of the cluster without credentials.

Each refusal has a positive control: the same request succeeds where it should (root with the right
certificate, or an open endpoint started here), so that a broken probe cannot pass as a refusal.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_pods.localcluster import LocalCluster
from pytest_pods.localcluster.pki import PKI, CertSpec, etcd_cert_specs
from pytest_pods.localcluster.registry import Registry, free_port, local_repo, running, writer

from .conftest import Kubectl, needs_root

pytestmark = needs_root

NOBODY = "nobody"
#: The range /registry/ .. /registry0 (every Kubernetes object), base64 as etcd's JSON gateway wants.
RANGE = json.dumps(
    {"key": base64.b64encode(b"/registry/").decode(), "range_end": base64.b64encode(b"/registry0").decode()}
)
PUT = json.dumps(
    {"key": base64.b64encode(b"/registry/pwned").decode(), "value": base64.b64encode(b"x").decode()}
)


def curl(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    """curl with a short timeout, as ``user`` (through runuser) or as root; prints the HTTP status
    after the body."""
    argv = ["curl", "-sS", "--max-time", "5", "-w", "\n%{http_code}", *args]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def status_of(done: subprocess.CompletedProcess[str]) -> int:
    """The HTTP status curl printed, 0 when no HTTP exchange happened (refused handshake)."""
    last = done.stdout.rsplit("\n", 1)[-1].strip()
    return int(last) if done.returncode == 0 and last.isdigit() else 0


def readable_copy(path: Path, where: Path) -> Path:
    """A copy of a public file (a CA certificate) that nobody can read: the most it could get."""
    where.mkdir(parents=True, exist_ok=True)
    os.chmod(where, 0o755)
    copy = where / path.name
    shutil.copy(path, copy)
    os.chmod(copy, 0o644)
    return copy


@pytest.fixture(scope="module")
def cluster(local_cluster: LocalCluster) -> LocalCluster:
    return local_cluster


@pytest.fixture(scope="module")
def public_dir() -> Iterator[Path]:
    """A directory under /tmp that nobody can read: readable CA copies and a forged client pair."""
    tmp = Path(tempfile.mkdtemp(prefix="pp-secure-"))
    os.chmod(tmp, 0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def forged(public_dir: Path) -> PKI:
    """A client certificate signed by a CA that is not etcd's, readable by nobody."""
    pki = PKI(public_dir / "forged")
    pki.create(
        [CertSpec("client", "kube-apiserver-etcd-client", client=True)],
        service_account=False,
        ca_name="forged",
    )
    os.chmod(pki.dir, 0o755)
    for f in pki.dir.iterdir():
        os.chmod(f, 0o644)
    return pki


def _docker_archive(layout: Path, archive: Path, name: str) -> None:
    """A stand-in's OCI layout as a ``docker save`` archive named ``name``: what a user loads."""
    from pytest_pods.localcluster import images

    made = subprocess.run(
        [
            "skopeo",
            "--insecure-policy",
            "copy",
            "--quiet",
            f"oci:{layout}:{images.LAYOUT_TAG}",
            f"docker-archive:{archive}:{name}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr


def etcd_range_as_the_apiserver(cluster: LocalCluster, body: str) -> subprocess.CompletedProcess[str]:
    """A range request to etcd as root, with the API server's etcd client certificate."""
    etcd = cluster.pki.etcd
    return curl(
        "--cacert",
        f"{etcd.ca_cert}",
        "--cert",
        f"{etcd.cert('apiserver-etcd-client')}",
        "--key",
        f"{etcd.key('apiserver-etcd-client')}",
        f"https://127.0.0.1:{cluster.config.ports.etcd_client}/v3/kv/range",
        "-d",
        body,
    )


def test_nobody_can_neither_read_nor_write_etcd(cluster: LocalCluster, public_dir: Path, forged: PKI) -> None:
    etcd = cluster.pki.etcd
    ca = readable_copy(etcd.ca_cert, public_dir / "etcd-ca")
    base = f"127.0.0.1:{cluster.config.ports.etcd_client}"
    # Positive control: root, with the API server's etcd client certificate, reads every object.
    root = etcd_range_as_the_apiserver(cluster, RANGE)
    assert status_of(root) == 200, root
    assert int(json.loads(root.stdout.rsplit("\n", 1)[0])["count"]) > 50

    attempts = {
        "plain http": ["http://{base}{path}"],
        "https, no verification, no client certificate": ["-k", "https://{base}{path}"],
        "https with the etcd CA, no client certificate": ["--cacert", f"{ca}", "https://{base}{path}"],
        "https with a client certificate of another CA": [
            "--cacert",
            f"{ca}",
            "--cert",
            f"{forged.cert('client')}",
            "--key",
            f"{forged.key('client')}",
            "https://{base}{path}",
        ],
    }
    for what, args in attempts.items():
        for path, body in (("/v3/kv/range", RANGE), ("/v3/kv/put", PUT), ("/health", ""), ("/metrics", "")):
            argv = [a.format(base=base, path=path) for a in args]
            done = curl(*argv, *(["-d", body] if body else []), user=NOBODY)
            status = status_of(done)
            assert status not in range(200, 300), (
                f"{what} {path}: nobody got HTTP {status}: {done.stdout[:300]}"
            )
            assert '"kvs"' not in done.stdout and '"header"' not in done.stdout, (
                what,
                path,
                done.stdout[:300],
            )
    # Nothing was written, and etcd's files are root's alone.
    after = etcd_range_as_the_apiserver(
        cluster, json.dumps({"key": base64.b64encode(b"/registry/pwned").decode()})
    )
    assert status_of(after) == 200 and '"kvs"' not in after.stdout, after
    keys = sorted(etcd.dir.glob("*.key"))
    assert [k.name for k in keys] == sorted(["ca.key", *(f"{s.name}.key" for s in etcd_cert_specs())])
    for key in keys:
        st = key.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o600), key
    assert cluster.state.pki.stat().st_mode & 0o077 == 0
    # The whole state tree (logs, configuration, PersistentVolume data) is root's.
    assert cluster.state.lib.stat().st_mode & 0o077 == 0
    for state_file in (cluster.state.log("etcd"), cluster.state.lib / "host-changes.json"):
        assert state_file.is_file()
        read = subprocess.run(
            ["runuser", "-u", NOBODY, "--", "cat", str(state_file)], capture_output=True, timeout=30
        )
        assert read.returncode != 0 and b"Permission denied" in read.stderr, (state_file, read)
    assert cluster.state.etcd_data.stat().st_mode & 0o077 == 0


def test_the_nobody_probe_would_have_seen_an_open_etcd(cluster: LocalCluster, tmp_path: Path) -> None:
    """The control for the test above: the same requests as nobody read and write an etcd that
    takes anyone (a throw-away one on free ports)."""
    client, peer = free_port(), free_port()
    data = tmp_path / "etcd"
    argv = [
        str(cluster.cache.bin_dir("etcd", cluster.config.etcd_version) / "etcd"),
        f"--data-dir={data}",
        f"--listen-client-urls=http://127.0.0.1:{client}",
        f"--advertise-client-urls=http://127.0.0.1:{client}",
        f"--listen-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
        f"--initial-cluster=default=http://127.0.0.1:{peer}",
        "--log-level=error",
    ]
    with (tmp_path / "etcd.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while status_of(curl(f"http://127.0.0.1:{client}/health")) != 200:
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "etcd.log").read_text()
            time.sleep(0.2)
        put = curl(f"http://127.0.0.1:{client}/v3/kv/put", "-d", PUT, user=NOBODY)
        assert status_of(put) == 200, put
        got = curl(f"http://127.0.0.1:{client}/v3/kv/range", "-d", RANGE, user=NOBODY)
        assert status_of(got) == 200 and '"kvs"' in got.stdout, got
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_nobody_cannot_push_but_pulls_and_roots_loads_work(
    cluster: LocalCluster, public_dir: Path, tmp_path: Path
) -> None:
    url = f"http://{cluster.config.registry_addr}"
    repo = local_repo("nginx:latest")
    # Pulls are open, to containerd and to anyone: the catalog and the manifest answer.
    assert status_of(curl(f"{url}/v2/", user=NOBODY)) == 200
    manifest = curl(
        "-I", "-H", "Accept: application/vnd.oci.image.manifest.v1+json", f"{url}/v2/{repo}/manifests/latest"
    )
    assert status_of(manifest) == 200, manifest
    # Every write is refused: starting a blob upload (the first step of a push), a manifest, a delete.
    for method, path in (
        ("POST", f"/v2/{repo}/blobs/uploads/"),
        ("PUT", f"/v2/{repo}/manifests/latest"),
        ("DELETE", f"/v2/{repo}/manifests/latest"),
    ):
        done = curl(
            "-X",
            method,
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
            "-d",
            "{}",
            url + path,
            user=NOBODY,
        )
        assert status_of(done) == 405, (method, path, done)
    # Control: the same upload start as nobody on a registry that takes writes is accepted.
    open_registry = Registry(tmp_path / "storage", tmp_path / "config", f"127.0.0.1:{free_port()}")
    with running(open_registry, tmp_path / "registry.log"):
        assert (
            status_of(curl("-X", "POST", f"{open_registry.url}/v2/{repo}/blobs/uploads/", user=NOBODY)) == 202
        )
    # The push registry takes only root's client certificate: nobody, even with its CA, gets no TLS.
    with writer(tmp_path / "push-storage") as push:
        assert push.tls is not None
        ca = readable_copy(push.tls.ca, public_dir / "push-ca")
        start = f"{push.url}/v2/{repo}/blobs/uploads/"
        assert status_of(curl("-X", "POST", "--cacert", f"{ca}", start, user=NOBODY)) == 0
        assert status_of(curl("-X", "POST", "-k", start, user=NOBODY)) == 0
        mine = curl(
            "-X",
            "POST",
            "--cacert",
            f"{push.tls.ca}",
            "--cert",
            f"{push.tls.client_dir / 'client.cert'}",
            "--key",
            f"{push.tls.client_dir / 'client.key'}",
            start,
        )
        assert status_of(mine) == 202, mine
        assert push.tls.client_dir.parent.stat().st_mode & 0o077 == 0


def test_root_loads_an_image_that_a_pod_then_runs(
    cluster: LocalCluster, kubectl_ns: Kubectl, tmp_path: Path
) -> None:
    """Root's path into the read-only registry (``images load``) works, and containerd pulls the result."""
    from pytest_pods.localcluster import images

    debian = next(recipe for recipe in images.RECIPES if recipe.name == "debian")
    layout = images.layout_path(
        cluster.cache, debian, images.recipe_key(debian, images.base_key(images.debian_mirror()))
    )
    archive = tmp_path / "app.tar"
    name = f"example.com/pp-secure/app:{os.getpid()}"
    _docker_archive(layout, archive, name)
    assert cluster.load_images([archive]) == [name]
    kubectl_ns("run", "app", f"--image={name}", "--restart=Never", "--command", "--", "true")
    kubectl_ns("wait", "pod/app", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s", timeout=150)


EXPECTED_LISTENERS = {
    # address: (process, why it is safe) -- the README's Security bullet says the same.
    "127.0.0.1:2379": ("etcd", "TLS, client certificates of etcd's own CA only"),
    "127.0.0.1:2380": ("etcd", "peer port: TLS, client certificates of etcd's own CA only"),
    "127.0.0.1:5000": ("docker-registry", "read-only: pulls only"),
    "127.0.0.1:6443": ("kube-apiserver", "TLS, authentication, RBAC"),
    "10.250.0.1:6443": ("socat", "relays to the API server (TLS end to end)"),
    "127.0.0.1:10257": ("kube-controller", "TLS, delegated authn/authz; only /healthz etc. anonymous"),
    "127.0.0.1:10259": ("kube-scheduler", "TLS, delegated authn/authz; only /healthz etc. anonymous"),
    "10.250.0.1:10250": ("kubelet", "TLS, client certificates or tokens, webhook authorization"),
    "127.0.0.1:10248": ("kubelet", "healthz only"),
    "127.0.0.1:10249": ("kube-proxy", "metrics and mode, nothing secret"),
    "127.0.0.1:10256": ("kube-proxy", "healthz only"),
}


def cluster_listeners(cluster: LocalCluster) -> dict[str, str]:
    """``address:port -> process`` for every TCP listener of the cluster's processes (on the host)."""
    done = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, timeout=30, check=True)
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) < 6 or "pid=" not in fields[5]:
            continue
        pid = int(fields[5].split("pid=")[1].split(",")[0])
        try:
            cgroup = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            continue
        if cluster.config.cgroup_root + "/" in cgroup:
            found[fields[3]] = fields[5].split('"')[1]
    return found


def test_every_listener_is_known_and_refuses_nobody(cluster: LocalCluster) -> None:
    found = cluster_listeners(cluster)
    streaming = {addr: proc for addr, proc in found.items() if proc == "containerd"}
    # containerd's CRI streaming server: loopback, a random port, one-time tokens from the API server.
    assert len(streaming) == 1 and next(iter(streaming)).startswith("127.0.0.1:"), streaming
    rest = {addr: proc for addr, proc in found.items() if proc != "containerd"}
    assert rest == {addr: proc for addr, (proc, _) in EXPECTED_LISTENERS.items()}
    ports = cluster.config.ports
    node_ip = cluster.config.network.node_ip
    # Authenticated endpoints refuse anonymous requests; the kubelet's read-only port is off.
    for url, refused in (
        (f"https://{node_ip}:{ports.kubelet}/pods", (401,)),
        (f"https://{node_ip}:{ports.kubelet}/exec/kube-system/x/y", (401,)),
        (f"https://127.0.0.1:{ports.controller_manager}/metrics", (401, 403)),
        (f"https://127.0.0.1:{ports.scheduler}/metrics", (401, 403)),
        (f"https://127.0.0.1:{ports.apiserver}/api/v1/secrets", (401, 403)),
        (f"https://{node_ip}:{ports.apiserver}/api/v1/secrets", (401, 403)),
    ):
        done = curl("-k", url, user=NOBODY)
        assert status_of(done) in refused, (url, done)
    for host in ("127.0.0.1", node_ip):
        assert status_of(curl(f"http://{host}:10255/pods", user=NOBODY)) == 0
    # Control: root with the admin certificate gets the Secrets through the same relay.
    admin = curl(
        "--cacert",
        f"{cluster.pki.ca_cert}",
        "--cert",
        f"{cluster.pki.cert('admin')}",
        "--key",
        f"{cluster.pki.key('admin')}",
        f"https://{node_ip}:{ports.apiserver}/api/v1/secrets?limit=1",
    )
    assert status_of(admin) == 200, admin


def test_the_kind_mirror_is_read_only_and_preloads_go_through_the_writer(tmp_path: Path) -> None:
    """kind's stand-in registry (kindcluster/mirror.py): the same storage, read-only; ``--pods-preload-image``
    pushes through :func:`writer`. Served here on loopback instead of the kind network's gateway."""
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.core.progress import Stopwatch, silent
    from pytest_pods.kindcluster import mirror
    from pytest_pods.localcluster import images

    real = CachePaths.default()
    pause = next(recipe for recipe in images.RECIPES if recipe.name == "pause")
    layout = images.layout_path(real, pause, images.recipe_key(pause, ""))
    archive = tmp_path / "app.tar"
    _docker_archive(layout, archive, "quay.io/pp-secure/app:1")
    cache = CachePaths(tmp_path / "cache")
    assert mirror.push_archives(cache, [archive], Stopwatch(silent)) == ["quay.io/pp-secure/app:1"]
    served = Registry(cache.registry_storage, tmp_path / "mirror", f"127.0.0.1:{free_port()}", read_only=True)
    assert mirror.config(cache, served.addr) == served.config()
    with running(served, tmp_path / "mirror.log"):
        assert served.has("quay.io/pp-secure/app", "1")
        upload = curl("-X", "POST", f"{served.url}/v2/quay.io/pp-secure/app/blobs/uploads/", user=NOBODY)
        assert status_of(upload) == 405, upload
