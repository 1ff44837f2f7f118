"""Pure parts of the binary builds: CoreDNS's plugin selection, the command sets, binary images' keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods.core.progress import Stopwatch
from pytest_pods.localcluster import build
from pytest_pods.localcluster.errors import BuildError
from pytest_pods.localcluster.images import BinaryImage

PLUGIN_CFG = """# comment
root:root
reload:reload
health:health
prometheus:metrics
errors:errors
cache:cache
kubernetes:kubernetes
on:github.com/coredns/caddy/onevent
forward:forward
"""


def test_coredns_directives_keep_plugin_cfg_order_not_ours() -> None:
    chosen = build.coredns_directives(PLUGIN_CFG, ["forward", "kubernetes", "errors", "prometheus", "on"])
    assert chosen == [
        ("prometheus", "github.com/coredns/coredns/plugin/metrics"),
        ("errors", "github.com/coredns/coredns/plugin/errors"),
        ("kubernetes", "github.com/coredns/coredns/plugin/kubernetes"),
        ("on", "github.com/coredns/caddy/onevent"),
        ("forward", "github.com/coredns/coredns/plugin/forward"),
    ]


def test_coredns_unknown_plugin_is_named() -> None:
    with pytest.raises(BuildError, match="route66"):
        build.coredns_directives(PLUGIN_CFG, ["errors", "route66"])


def test_coredns_main_sets_directives_and_imports_each_plugin_once() -> None:
    source = build.coredns_main(build.coredns_directives(PLUGIN_CFG, ["errors", "cache", "kubernetes"]))
    assert '\t_ "github.com/coredns/coredns/plugin/cache"\n' in source
    assert source.count("plugin/kubernetes") == 1
    names = source.split("dnsserver.Directives = []string{")[1].split("}")[0]
    assert [n.strip().strip('",') for n in names.split()] == ["errors", "cache", "kubernetes"]
    assert "coremain.Run()" in source


def test_default_plugins_cover_kubeadms_corefile() -> None:
    # kubeadm's default Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go) uses these.
    kubeadm = {"errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "loop", "reload"}
    assert kubeadm | {"loadbalance", "template"} <= set(build.COREDNS_PLUGINS)


def test_the_local_cluster_builds_kube_proxy_and_kind_also_gets_kubeadm() -> None:
    assert "kube-proxy" in build.KUBERNETES_COMMANDS
    assert "kubeadm" not in build.KUBERNETES_COMMANDS
    assert set(build.ALL_KUBERNETES_COMMANDS) == {*build.KUBERNETES_COMMANDS, "kubeadm"}


def test_unknown_kubernetes_command_is_refused_before_any_build(tmp_path: Path) -> None:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.core.progress import Stopwatch, silent

    with pytest.raises(ValueError, match="kube-nothing"):
        build.build_kubernetes(CachePaths(tmp_path), "v1.37.2", Stopwatch(silent), ["kube-nothing"])


def test_present_commands_are_not_rebuilt(tmp_path: Path) -> None:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.core.progress import Stopwatch, silent

    cache = CachePaths(tmp_path)
    out = cache.bin_dir("kubernetes", "v1.37.2")
    out.mkdir(parents=True)
    for command in ("kubelet", "kube-proxy"):
        (out / command).write_text("")
    # Everything asked for is there: no go command runs (there is no wrapper module to run it in).
    assert build.build_kubernetes(cache, "v1.37.2", Stopwatch(silent), ["kubelet", "kube-proxy"]) == out
    assert not cache.build_dir("kubernetes", "v1.37.2").exists()


def test_a_cache_with_every_binary_built_starts_without_the_go_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_pods.core.paths import CachePaths
    from pytest_pods.core.versions import (
        DEFAULT_COREDNS_VERSION,
        DEFAULT_ETCD_VERSION,
        DEFAULT_KUBERNETES_VERSION,
        DEFAULT_LOCAL_PATH_PROVISIONER_VERSION,
    )

    cache = CachePaths(tmp_path)
    kube = cache.bin_dir("kubernetes", DEFAULT_KUBERNETES_VERSION)
    built = [kube / c for c in build.KUBERNETES_COMMANDS]
    built += [
        cache.bin_dir("etcd", DEFAULT_ETCD_VERSION) / "etcd",
        cache.bin_dir("coredns", DEFAULT_COREDNS_VERSION) / "coredns",
        cache.bin_dir("local-path-provisioner", DEFAULT_LOCAL_PATH_PROVISIONER_VERSION)
        / "local-path-provisioner",
    ]
    wrapper = cache.build_dir("kubernetes", DEFAULT_KUBERNETES_VERSION) / "go.mod"  # as a build leaves it
    for path in [*built, wrapper]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    # a cache restored on a machine without Go (e.g. a CI cache): GoBuilder would refuse to start
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    bins = build.ensure_binaries(cache, DEFAULT_KUBERNETES_VERSION, DEFAULT_ETCD_VERSION)
    assert (bins.kubernetes_dir, bins.etcd, bins.coredns, bins.local_path_provisioner) == (kube, *built[-3:])


def test_binary_image_key_follows_the_binary_and_config(tmp_path: Path) -> None:
    binary = tmp_path / "coredns"
    binary.write_bytes(b"one")
    image = BinaryImage("registry.k8s.io/coredns/coredns:v1.14.6", binary, user="65532:65532")
    first = image.key()
    assert image.slug == "bin-coredns_v1_14_6"
    assert image.binary_path == "/coredns"
    assert BinaryImage("registry.k8s.io/coredns/coredns:v1.14.6", binary, user="65532:65532").key() == first
    assert BinaryImage("registry.k8s.io/coredns/coredns:v1.14.6", binary, user="0").key() != first
    binary.write_bytes(b"two")
    assert image.key() != first


class RecordingGo:
    """Stands in for GoBuilder: records the arguments and makes the binaries ``go build`` would."""

    def __init__(self) -> None:
        self.args: list[str] = []

    def run(self, args: list[str], cwd: Path, log: Path, what: str) -> str:
        self.args = list(args)
        out = Path(args[args.index("-o") + 1])
        (out if not str(out).endswith("/") else out / "kubelet").write_text("")
        return ""


def test_one_build_writes_no_dwarf_strips_and_stamps_the_real_version(tmp_path: Path) -> None:
    go = RecordingGo()
    flags = build._version_ldflags("v1.37.2")
    build._build_many(
        go,  # type: ignore[arg-type]
        tmp_path,
        tmp_path / "log",
        tmp_path / "bin",
        {"kubelet": "k8s.io/kubernetes/cmd/kubelet"},
        flags,
        "compiling kubelet",
    )
    assert "-gcflags=all=-dwarf=false" in go.args and "-trimpath" in go.args
    ldflags = next(a for a in go.args if a.startswith("-ldflags="))
    assert "-s -w" in ldflags and "-X k8s.io/component-base/version.gitVersion=v1.37.2" in ldflags
    assert (tmp_path / "bin" / "kubelet").exists()


def test_shared_modules_take_kubernetes_versions_and_the_commands_own_keep_theirs() -> None:
    kubernetes = {
        "k8s.io/client-go": "v0.37.2",
        "google.golang.org/grpc": "v1.82.1",
        "go.etcd.io/etcd/client/v3": "v3.7.0",
        "golang.org/x/net": "v0.50.0",
    }
    etcd = {
        "google.golang.org/grpc": "v1.83.2",  # newer in etcd: required anyway, MVS keeps the newer
        "go.etcd.io/etcd/client/v3": "v3.6.16",  # its own module: untouched
        "golang.org/x/net": "v0.50.0",  # the same already
        "github.com/spf13/cobra": "v1.10.0",  # Kubernetes's build does not have it
    }
    assert build.aligned_requirements(kubernetes, etcd, "go.etcd.io/etcd/") == [
        "google.golang.org/grpc@v1.82.1"
    ]
    coredns = {"k8s.io/client-go": "v0.35.4", "golang.org/x/net": "v0.49.0"}
    assert build.aligned_requirements(kubernetes, coredns, "github.com/coredns/coredns") == [
        "golang.org/x/net@v0.50.0",
        "k8s.io/client-go@v0.37.2",
    ]


def test_a_build_that_does_not_compile_aligned_is_fetched_again_with_its_own_versions(tmp_path: Path) -> None:
    work = tmp_path
    for name in ("go.mod", "go.sum", "main.go", "aligned-with-kubernetes"):
        (work / name).write_text("x")
    tries: list[str] = []
    said: list[str] = []

    def compile_() -> None:
        tries.append("aligned" if (work / "aligned-with-kubernetes").exists() else "own")
        if tries[-1] == "aligned":
            raise BuildError("coredns", "undefined: wait.PollImmediate")

    def refetch() -> None:
        assert not (work / "go.mod").exists() and not (work / "main.go").exists()
        (work / "go.mod").write_text("own")

    build._compile_or_unalign(work, Stopwatch(said.append), "coredns", compile_, refetch)
    assert tries == ["aligned", "own"]
    assert any(
        "does not compile with Kubernetes's module versions (undefined: wait.PollImmediate)" in s
        for s in said
    )

    # a build with its own versions that fails is not retried
    def fails() -> None:
        raise BuildError("x", "broken")

    with pytest.raises(BuildError, match="broken"):
        build._compile_or_unalign(work, Stopwatch(said.append), "x", fails, refetch)
