"""Pure logic of the stand-in images: recipe keys, apt sources, archives, umoci arguments, preflight."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_pods.localcluster import images
from pytest_pods.localcluster.errors import BuildError, PreflightError
from pytest_pods.localcluster.images import RECIPES, ImageRecipe
from pytest_pods.localcluster.registry import parse_ref

SOURCES = """\
Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

# a disabled stanza
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian
 http://second.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


def _recipe(name: str) -> ImageRecipe:
    return next(recipe for recipe in RECIPES if recipe.name == name)


@pytest.fixture
def imagefiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of imagefiles/ that a test may change."""
    copy = tmp_path / "imagefiles"
    shutil.copytree(images.IMAGEFILES, copy)
    monkeypatch.setattr(images, "IMAGEFILES", copy)
    return copy


def test_debian_mirror_reads_the_first_enabled_deb_stanza(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(SOURCES)
    assert images.debian_mirror(sources) == "http://mirror.example/debian"
    assert images.debian_mirror(sources, suite="bookworm-security") == "http://mirror.example/debian-security"


def test_debian_mirror_says_what_is_missing(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text("Types: deb\nURIs: http://m.example/debian\nSuites: trixie\n")
    with pytest.raises(PreflightError, match="no `deb` source for bookworm"):
        images.debian_mirror(sources)
    with pytest.raises(PreflightError, match="cannot read"):
        images.debian_mirror(tmp_path / "absent.sources")


def test_recipe_key_follows_the_recipe_files(imagefiles: Path) -> None:
    nginx = images.load_recipe(imagefiles / "nginx")
    before = images.recipe_key(nginx, "base1")
    assert images.recipe_key(nginx, "base1") == before
    conf = imagefiles / "nginx" / "rootfs" / "etc" / "nginx" / "conf.d" / "default.conf"
    conf.write_text(conf.read_text() + "# changed\n")
    changed = images.recipe_key(nginx, "base1")
    assert changed != before
    conf.chmod(0o755)
    assert images.recipe_key(nginx, "base1") != changed


def test_recipe_key_follows_packages_config_and_base() -> None:
    watcher = _recipe("watcher")
    key = images.recipe_key(watcher, "base1")
    assert images.recipe_key(replace(watcher, packages=("curl", "jq")), "base1") != key
    assert images.recipe_key(replace(watcher, cmd=("--once",)), "base1") != key
    assert images.recipe_key(watcher, "base2") != key
    pause = _recipe("pause")
    assert images.recipe_key(pause, "base1") == images.recipe_key(pause, "base2")  # FROM scratch


def test_recipe_key_of_one_image_ignores_the_files_of_another(imagefiles: Path) -> None:
    pause = images.load_recipe(imagefiles / "pause")
    pause_key = images.recipe_key(pause, "b")
    (imagefiles / "nginx" / "setup.sh").write_text("#!/bin/sh\ntrue\n")
    assert images.recipe_key(pause, "b") == pause_key
    (imagefiles / "pause" / "pause.c").write_text("int main(void) { return 0; }\n")
    assert images.recipe_key(pause, "b") != pause_key


def test_the_built_in_stand_ins_are_read_from_their_image_toml() -> None:
    by_name = {recipe.name: recipe for recipe in RECIPES}
    assert sorted(by_name) == ["debian", "nginx", "pause", "watcher"]
    assert by_name["nginx"].refs == ("docker.io/library/nginx:latest",)
    assert by_name["nginx"].cmd == ("nginx", "-g", "daemon off;")
    assert by_name["debian"].refs == ("docker.io/library/debian:latest", "docker.io/library/debian:bookworm")
    assert (by_name["pause"].base, by_name["pause"].env, by_name["pause"].user) == (
        "scratch",
        (),
        "65535:65535",
    )
    assert by_name["watcher"].files == images.IMAGEFILES / "watcher"


def test_the_recipe_key_does_not_depend_on_where_the_recipe_is_read_from(tmp_path: Path) -> None:
    shutil.copytree(images.IMAGEFILES / "nginx", tmp_path / "nginx")
    assert images.recipe_key(images.load_recipe(tmp_path / "nginx"), "b") == images.recipe_key(
        _recipe("nginx"), "b"
    )


def test_a_users_stand_in_is_read_from_pytest_pods_standins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = tmp_path / "standins" / "myapp"
    (mine / "rootfs" / "usr" / "local" / "bin").mkdir(parents=True)
    (mine / "image.toml").write_text(
        'refs = ["registry.example.com/team/myapp:1.2"]\n'
        'description = "my app, from Debian packages"\n'
        'packages = ["python3"]\n'
        'cmd = ["python3", "-m", "http.server", "8080"]\n'
        'ports = ["8080/tcp"]\n'
        '[labels]\nteam = "a"\n'
    )
    monkeypatch.setenv(images.STANDINS_ENV, str(tmp_path / "standins"))
    recipes = images.load_recipes(images.standin_roots())
    myapp = recipes[-1]
    assert [r.name for r in recipes] == ["debian", "nginx", "pause", "watcher", "myapp"]
    assert (myapp.refs, myapp.packages, myapp.labels) == (
        ("registry.example.com/team/myapp:1.2",),
        ("python3",),
        (("team", "a"),),
    )
    assert myapp.files == mine


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('description = "x"\n', "missing refs"),
        ('refs = ["a/b:1"]\ndescription = "x"\ncommand = ["sh"]\n', "unknown key\\(s\\) command"),
        ('refs = "a/b:1"\ndescription = "x"\n', "refs must be a list of strings"),
        ('refs = ["a/b:1"]\ndescription = "x"\nbase = "alpine"\n', "base must be debian or scratch"),
        ("refs = [", "cannot read"),
    ],
)
def test_a_bad_recipe_is_a_build_error_naming_the_file(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "image.toml").write_text(toml)
    with pytest.raises(BuildError, match=message) as info:
        images.load_recipe(tmp_path / "bad")
    assert "stand-in bad" in str(info.value)


def test_a_reference_given_twice_names_both_stand_ins(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "image.toml").write_text(
        'refs = ["docker.io/library/nginx:latest"]\ndescription = "x"\n'
    )
    with pytest.raises(
        BuildError, match=r"reference docker.io/library/nginx:latest is given by both .*nginx and .*other"
    ):
        images.load_recipes([images.IMAGEFILES, tmp_path])


def test_base_key_follows_mirror_sources_and_base_files(tmp_path: Path, imagefiles: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(SOURCES)
    key = images.base_key("http://a.example/debian", sources)
    assert images.base_key("http://b.example/debian", sources) != key
    sources.write_text(SOURCES + "\n")
    changed = images.base_key("http://a.example/debian", sources)
    assert changed != key
    (imagefiles / "base" / "rootfs" / "etc" / "apt" / "apt.conf.d" / "pytest-pods-slim").write_text("//\n")
    assert images.base_key("http://a.example/debian", sources) != changed


def test_recipes_name_valid_upstream_refs_and_existing_files() -> None:
    refs = [ref for recipe in RECIPES for ref in recipe.refs]
    assert len(refs) == len(set(refs))
    assert {str(parse_ref(ref)) for ref in refs} >= {
        "docker.io/library/nginx:latest",
        "docker.io/library/debian:latest",
        "docker.io/afakharany/watcher:latest",
        "registry.k8s.io/pause:3.10",
    }
    for recipe in RECIPES:
        if recipe.name != "debian":
            assert recipe.files.is_dir(), recipe.name
    assert (_recipe("pause").files / "pause.c").is_file()
    assert (_recipe("watcher").files / "rootfs/usr/local/bin/watcher").stat().st_mode & 0o111


def test_umoci_config_of_pause_and_nginx() -> None:
    pause = images._umoci_config_args(_recipe("pause"), "k1")
    assert "--config.user=65535:65535" in pause
    assert "--config.entrypoint=/pause" in pause
    assert not any(arg.startswith("--config.env=") for arg in pause)
    nginx = images._umoci_config_args(_recipe("nginx"), "k2")
    assert [a for a in nginx if a.startswith("--config.cmd=")] == [
        "--config.cmd=nginx",
        "--config.cmd=-g",
        "--config.cmd=daemon off;",
    ]
    assert "--config.entrypoint=/docker-entrypoint.sh" in nginx
    assert "--config.exposedports=80/tcp" in nginx
    assert "--config.stopsignal=SIGQUIT" in nginx
    assert "--config.label=io.pytest-pods.stand-in=true" in nginx
    assert "--config.label=io.pytest-pods.recipe=nginx-k2" in nginx


def test_layout_digest_reads_the_tag(tmp_path: Path) -> None:
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"digest": "sha256:aa", "annotations": {"org.opencontainers.image.ref.name": "other"}},
            {"digest": "sha256:bb", "annotations": {"org.opencontainers.image.ref.name": "image"}},
        ],
    }
    (tmp_path / "index.json").write_text(json.dumps(index))
    assert images.layout_digest(tmp_path) == "sha256:bb"
    with pytest.raises(BuildError, match="no tag 'missing'"):
        images.layout_digest(tmp_path, "missing")


def _tar(path: Path, files: dict[str, object]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_archive_images_of_a_docker_save(tmp_path: Path) -> None:
    manifest = [
        {"Config": "c1.json", "RepoTags": ["myapp:1.0", "quay.io/me/myapp:1.0"], "Layers": []},
        {"Config": "c2.json", "RepoTags": None, "Layers": []},
    ]
    archive = _tar(tmp_path / "app.tar", {"manifest.json": manifest, "repositories": {}})
    assert images.archive_images(archive) == [
        (f"docker-archive:{archive}:myapp:1.0", "myapp:1.0"),
        (f"docker-archive:{archive}:quay.io/me/myapp:1.0", "quay.io/me/myapp:1.0"),
    ]


def test_archive_images_of_an_oci_archive(tmp_path: Path) -> None:
    index = {
        "schemaVersion": 2,
        "manifests": [
            {"digest": "sha256:1", "annotations": {"org.opencontainers.image.ref.name": "ghcr.io/me/tool:2"}},
            {
                "digest": "sha256:2",
                "annotations": {
                    "org.opencontainers.image.ref.name": "3",
                    "io.containerd.image.name": "docker.io/me/tool:3",
                },
            },
            {"digest": "sha256:3", "annotations": {"org.opencontainers.image.ref.name": "only-a-tag"}},
        ],
    }
    archive = _tar(
        tmp_path / "tool.tar", {"./oci-layout": {"imageLayoutVersion": "1.0.0"}, "./index.json": index}
    )
    assert images.archive_images(archive) == [
        (f"oci-archive:{archive}:ghcr.io/me/tool:2", "ghcr.io/me/tool:2"),
        (f"oci-archive:{archive}:3", "docker.io/me/tool:3"),
    ]


def test_archive_without_a_name_is_a_clear_error(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "anon.tar", {"manifest.json": [{"Config": "c.json", "RepoTags": None}]})
    with pytest.raises(BuildError, match="names no image"):
        images.archive_images(archive)
    not_an_image = _tar(tmp_path / "other.tar", {"hello.json": {}})
    with pytest.raises(BuildError, match="neither a docker-archive"):
        images.archive_images(not_an_image)
    garbage = tmp_path / "garbage.tar"
    garbage.write_bytes(b"not a tar at all")
    with pytest.raises(BuildError, match="cannot read the image archive"):
        images.archive_images(garbage)


def test_preflight_names_the_tool_and_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(images, "_SEARCH_PATH", str(tmp_path))
    with pytest.raises(PreflightError) as info:
        images.preflight(["debootstrap", "skopeo", "docker-registry"], need_root=False)
    assert "debootstrap" in info.value.missing
    assert info.value.fix == "apt-get install -y debootstrap docker-registry skopeo"


def test_preflight_wants_root_for_building(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(PreflightError, match="needs root"):
        images.preflight([], need_root=True)


def test_install_files_never_writes_through_a_symlink(tmp_path: Path) -> None:
    source = tmp_path / "files"
    (source / "etc" / "app").mkdir(parents=True)
    (source / "etc" / "app" / "conf").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "etc").symlink_to(outside)
    with pytest.raises(BuildError, match="symlink"):
        images._install_files(source, rootfs)
    assert not any(outside.iterdir())


def test_install_files_replaces_a_symlinked_file(tmp_path: Path) -> None:
    source = tmp_path / "files"
    source.mkdir()
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o755)
    outside = tmp_path / "outside.sh"
    outside.write_text("keep")
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "run.sh").symlink_to(outside)
    images._install_files(source, rootfs)
    assert outside.read_text() == "keep"
    assert not (rootfs / "run.sh").is_symlink()
    assert (rootfs / "run.sh").stat().st_mode & 0o777 == 0o755


def test_a_failing_step_is_named_with_its_exit_code_and_last_lines() -> None:
    step = "the stand-in's own setup.sh (/s/app/setup.sh, run in the image by its /bin/sh)"
    with pytest.raises(BuildError) as info:
        script = "echo first; echo last >&2; exit 3"
        images._run(["sh", "-c", script], "the example.test/app:1 stand-in", step=step)
    assert str(info.value).splitlines() == [
        f"building the example.test/app:1 stand-in failed: {step} exited 3",
        "--- last lines of the build output ---",
        "first",
        "last",
    ]
    with pytest.raises(BuildError, match=r"failed: `sh -c 'exit 4'` exited 4$"):
        images._run(["sh", "-c", "exit 4"], "x")  # without a name: the command line


def test_setup_sh_is_never_copied_through_a_link_out_of_the_image(tmp_path: Path) -> None:
    """An image whose /tmp is a link to a host path (absolute): in the image that path does not exist,
    so there is nowhere to put the script; nothing is written on the host."""
    host = tmp_path / "host-tmp"
    host.mkdir()
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "tmp").symlink_to(host)
    script = tmp_path / "setup.sh"
    script.write_text("exit 0\n")
    with pytest.raises(BuildError, match=r"the image has no /tmp directory to run its setup\.sh \(/"):
        images._run_setup(rootfs, script, "the example.test/app:1 stand-in")
    assert list(host.iterdir()) == []
