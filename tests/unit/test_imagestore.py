"""Pure logic of containerd's kept image store: its key, and restore/prune on a made-up store tree
(the real fill and a containerd on a restored root: tests/localcluster/test_images_real.py)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_pods.localcluster import imagestore
from pytest_pods.localcluster.errors import ComponentError
from pytest_pods.localcluster.images import PlannedImage
from pytest_pods.localcluster.imagestore import CONTENT, METADATA, SNAPSHOTS, ImageStore, store_key

NGINX = PlannedImage("docker.io/library/nginx:latest", Path("/l/nginx"), "sha256:" + "a" * 64)
PAUSE = PlannedImage("registry.k8s.io/pause:3.10", Path("/l/pause"), "sha256:" + "b" * 64)


def test_key_depends_on_refs_digests_and_containerd_only() -> None:
    key = store_key([NGINX, PAUSE], "containerd 1.6.20")
    assert key == store_key([PAUSE, NGINX], "containerd 1.6.20")  # order does not matter
    # where the layout lies does not matter either: what containerd stores is the same
    assert key == store_key(
        [NGINX, PlannedImage(PAUSE.ref, Path("/elsewhere"), PAUSE.digest)], "containerd 1.6.20"
    )
    rebuilt = PlannedImage(NGINX.ref, NGINX.layout, "sha256:" + "c" * 64)
    renamed = PlannedImage("docker.io/library/nginx:1.27", NGINX.layout, NGINX.digest)
    others = {
        store_key([rebuilt, PAUSE], "containerd 1.6.20"),  # a stand-in changed
        store_key([renamed, PAUSE], "containerd 1.6.20"),  # served under another name
        store_key([NGINX], "containerd 1.6.20"),  # one image fewer
        store_key([NGINX, PAUSE], "containerd 1.7.0"),  # another containerd
    }
    assert key not in others and len(others) == 4


def _fake_store(store: ImageStore, key: str) -> Path:
    root = store.path(key)
    (root / CONTENT / "blobs" / "sha256").mkdir(parents=True)
    (root / CONTENT / "blobs" / "sha256" / ("a" * 64)).write_text("blob")
    (root / SNAPSHOTS / "snapshots" / "1" / "fs" / "etc").mkdir(parents=True)
    (root / SNAPSHOTS / "snapshots" / "1" / "fs" / "etc" / "hostname").write_text("layer")
    (root / SNAPSHOTS / "metadata.db").write_text("snapshots db")
    (root / METADATA).mkdir()
    (root / METADATA / "meta.db").write_text("images db")
    (root / "images.json").write_text(json.dumps({NGINX.ref: NGINX.digest}))
    return root


def test_restore_links_blobs_and_layers_and_copies_the_databases(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "cache")
    src = _fake_store(store, "k1")
    assert store.ready("k1") and store.images("k1") == {NGINX.ref: NGINX.digest}
    dest = tmp_path / "containerd"
    store.restore("k1", dest)

    blob = Path(CONTENT, "blobs", "sha256", "a" * 64)
    assert (dest / blob).stat().st_ino == (src / blob).stat().st_ino  # hard link
    layer = dest / SNAPSHOTS / "snapshots" / "1"
    assert layer.is_symlink() and layer.resolve() == (src / SNAPSHOTS / "snapshots" / "1").resolve()
    assert (layer / "fs" / "etc" / "hostname").read_text() == "layer"
    for copied in (Path(METADATA, "meta.db"), Path(SNAPSHOTS, "metadata.db")):
        assert (dest / copied).read_text() == (src / copied).read_text()
        assert (dest / copied).stat().st_ino != (src / copied).stat().st_ino
    assert not (dest / "images.json").exists()
    # containerd writing its databases, or removing a layer (os.RemoveAll: the link), and down
    # removing the root leave the kept store as it was
    (dest / METADATA / "meta.db").write_text("a container was created")
    layer.unlink()
    shutil.rmtree(dest)
    assert (src / METADATA / "meta.db").read_text() == "images db"
    assert (src / SNAPSHOTS / "snapshots" / "1" / "fs" / "etc" / "hostname").read_text() == "layer"


def test_restore_refuses_a_root_in_use(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "cache")
    _fake_store(store, "k1")
    dest = tmp_path / "containerd"
    (dest / METADATA).mkdir(parents=True)
    with pytest.raises(ComponentError, match="not empty"):
        store.restore("k1", dest)


def test_an_unfinished_store_is_not_ready(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "cache")
    root = _fake_store(store, "k1")
    (root / "images.json").unlink()  # the index is written last
    assert not store.ready("k1")


def test_prune_keeps_only_the_current_store(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "cache")
    _fake_store(store, "old")
    _fake_store(store, "new")
    (store.root / ".lock").write_text("")
    store.prune(keep="new")
    assert sorted(p.name for p in store.root.iterdir()) == [".lock", "new"]


def _fake_containerd(bin_dir: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``containerd`` first on PATH that runs ``script`` (so the test knows what it printed)."""
    bin_dir.mkdir()
    exe = bin_dir / "containerd"
    exe.write_text(f"#!/bin/sh\n{script}\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


VERSION = "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+b1"


def test_containerd_version_is_what_the_binary_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_containerd(tmp_path / "bin", f'[ "$1" = --version ] && echo "{VERSION}"', monkeypatch)
    assert imagestore.containerd_version() == VERSION


def test_containerd_version_falls_back_to_what_the_binary_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_containerd(tmp_path / "bin", "echo 'no such flag' >&2; exit 2", monkeypatch)
    assert imagestore.containerd_version() == "unknown (no such flag)"
