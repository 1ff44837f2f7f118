"""One kind cluster, made, reused or deleted through the kind and docker commands. Creation is ours
(kind's output streamed as progress, a failed create diagnosed); deletion and the handle a test gets
(:meth:`KindCluster.handle`) go through pytest-kind's ``KindCluster``, made offline and free of side
effects by :class:`~pytest_pods.kindcluster.handle.OfflineKindHandle`.

A cluster is reused when the key it was made with (Kubernetes version, node image and its id, the
effective kind config) is the key asked for; otherwise it is recreated, and the progress line says
why. The key and the kubeconfig live in the cache (``kind/<name>/``), never in the user's directory.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_pods.core.api import ApiReader, KubeconfigError, dns_ready, usable_checks
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, Stopwatch
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.kindcluster import mirror
from pytest_pods.kindcluster.errors import KindError
from pytest_pods.kindcluster.tools import (
    KIND_MISSING_FIX,
    docker_command,
    docker_unavailable,
    find_kind,
    run,
    tail,
)

if TYPE_CHECKING:
    from pytest_pods.kindcluster.handle import OfflineKindHandle

CLUSTER_NAME = "pytest-pods"
#: Labels that ``pytest-pods kind build-node-image`` puts on its images.
OFFLINE_LABEL = "io.pytest-pods.kind-node.offline"
OWN_NODE_REPO = "pytest-pods/kind-node"
#: The etcd image tag an offline node carries (kubeadm asks for another): patched into kubeadm's config.
ETCD_LABEL = "io.pytest-pods.kind-node.etcd-tag"
#: The directory of kubeadm patches an offline node carries (``corednsdeployment``: CoreDNS's
#: readiness probed each second), passed to ``kubeadm init`` through kind's config.
PATCHES_LABEL = "io.pytest-pods.kind-node.kubeadm-patches"
CREATE_WAIT = "180s"
USABLE_TIMEOUT = 120.0
_TAIL_LINES = 30
_KIND_CHATTER = ("Have a", "You can now", "kubectl cluster-info", "Thanks", "Not sure what", "Set kubectl")


def _plain(line: str) -> str:
    """A line of kind's output without its emoji and bullets."""
    return "".join(ch for ch in line if ch.isascii() and (ch.isprintable() or ch == " ")).strip(" .•")


@dataclass(frozen=True)
class KindSpec:
    """What the cluster is asked to be."""

    name: str = CLUSTER_NAME
    kubernetes_version: str | None = None
    image: str | None = None
    config: Path | None = None
    kind_binary: Path | None = None

    @property
    def node_image(self) -> str | None:
        """The image kind is told to use: the one given, else ``kindest/node:<version>``, else
        None (kind's default)."""
        if self.image:
            return self.image
        return f"kindest/node:{self.kubernetes_version}" if self.kubernetes_version else None


@dataclass(frozen=True)
class KindInfo:
    name: str
    kubeconfig: Path
    context: str
    kubernetes_version: str
    image: str
    reused: bool
    why: str


def _docker() -> str:
    return docker_command() or "docker"


def image_labels(ref: str) -> dict[str, str] | None:
    """The image's labels ({} when it has none), or None when Docker does not have the image."""
    done = run([_docker(), "image", "inspect", "--format", "{{json .Config.Labels}}", ref], timeout=30)
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip() or "null") or {}


def image_id(ref: str) -> str:
    done = run([_docker(), "image", "inspect", "--format", "{{.Id}}", ref], timeout=30)
    return done.stdout.strip() if done.returncode == 0 else ""


class KindCluster:
    def __init__(self, spec: KindSpec, cache: CachePaths | None = None) -> None:
        self.spec = spec
        self.cache = cache or CachePaths.default()

    # ------------------------------------------------------------------ where things are
    @property
    def state_dir(self) -> Path:
        return self.cache.root / "kind" / self.spec.name

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def key_file(self) -> Path:
        return self.state_dir / "cluster.json"

    @property
    def context(self) -> str:
        return f"kind-{self.spec.name}"

    @property
    def node(self) -> str:
        return f"{self.spec.name}-control-plane"

    def kubectl(self) -> Path:
        """The cache's kubectl of the cluster's version (or the default one), else kubectl on PATH."""
        version = self.spec.kubernetes_version or DEFAULT_KUBERNETES_VERSION
        cached = self.cache.bin_dir("kubernetes", version) / "kubectl"
        if cached.is_file():
            return cached
        found = shutil.which("kubectl")
        return Path(found) if found else cached

    def handle(self, missing: Callable[[str], Exception] = KindError) -> OfflineKindHandle:
        """pytest-kind's handle of this cluster: ``kubectl()``, ``load_docker_image()``, ``delete()``...
        ``missing`` makes the error it raises when kind or kubectl is missing (the provider hands
        tests a handle that raises the plugin's ``ProviderError``)."""
        from pytest_pods.kindcluster.handle import OfflineKindHandle  # pytest-kind loads only when used

        return OfflineKindHandle(
            self.spec.name,
            kubeconfig=self.kubeconfig,
            kind_path=Path(self._kind()),
            kubectl_path=self.kubectl(),
            image=self.spec.node_image,
            missing=missing,
        )

    # ------------------------------------------------------------------ checks
    def unavailable(self) -> str | None:
        problem = docker_unavailable()
        if problem:
            return f"kind needs a Docker engine. {problem}"
        if self.kind() is None:
            return f"kind is not installed: {KIND_MISSING_FIX}"
        return None

    def kind(self) -> Path | None:
        return find_kind(self.spec.kind_binary, self.cache)

    def _kind(self) -> str:
        binary = self.kind()
        if binary is None:
            raise KindError(f"kind is not installed: {KIND_MISSING_FIX}")
        return str(binary)

    def exists(self) -> bool:
        done = run([self._kind(), "get", "clusters"], timeout=30, what="kind get clusters")
        return self.spec.name in done.stdout.split()

    def health(self) -> str | None:
        """None when the cluster exists, its node runs and its API server answers; else what is
        wrong. Starts and changes nothing (``cluster status``)."""
        problem = self.unavailable()
        if problem is not None:
            return problem
        if not self.exists():
            return f"there is no kind cluster named {self.spec.name!r}"
        state = run([_docker(), "inspect", "--format", "{{.State.Running}}", self.node], timeout=30)
        if state.returncode != 0 or state.stdout.strip() != "true":
            return f"its node container {self.node} is not running"
        try:
            self._server_version(timeout=3)
        except KindError as exc:
            return str(exc)
        return None

    def recorded(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.key_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # ------------------------------------------------------------------ the config and the key
    def effective_config(self, labels: dict[str, str]) -> dict[str, Any]:
        """The user's kind config (or an empty one) plus what an offline node image needs."""
        config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
        if self.spec.config is not None:
            try:
                loaded = yaml.safe_load(self.spec.config.read_text()) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise KindError(f"cannot read the kind config {self.spec.config}: {exc}") from exc
            if not isinstance(loaded, dict) or loaded.get("kind") != "Cluster":
                raise KindError(
                    f"{self.spec.config} is not a kind config: it needs `kind: Cluster` and "
                    "`apiVersion: kind.x-k8s.io/v1alpha4` (see https://kind.sigs.k8s.io/docs/user/configuration/)"
                )
            config = loaded
        if labels.get(OFFLINE_LABEL) == "true":
            nodes = config.get("nodes") or [{"role": "control-plane"}]
            if len(nodes) > 1:
                raise KindError(
                    f"the offline node image {self.spec.node_image} has no kindnetd, only a single-node "
                    f"bridge network: remove the extra nodes from {self.spec.config}, or use kindest/node"
                )
            config.setdefault("networking", {})["disableDefaultCNI"] = True
            patches = []
            if labels.get(ETCD_LABEL):
                etcd = labels[ETCD_LABEL]
                patches.append(f"kind: ClusterConfiguration\netcd:\n  local:\n    imageTag: {etcd}\n")
            if labels.get(PATCHES_LABEL):
                where = labels[PATCHES_LABEL]
                patches.append(f"kind: InitConfiguration\npatches:\n  directory: {where}\n")
            config["kubeadmConfigPatches"] = [*(config.get("kubeadmConfigPatches") or []), *patches]
        # containerd reads per-registry hosts.toml files from here: the stand-in mirror for an
        # offline node, and preloaded archives on any node
        config["containerdConfigPatches"] = [
            *(config.get("containerdConfigPatches") or []),
            mirror.CONTAINERD_PATCH,
        ]
        return config

    def key(self, image: str, config: dict[str, Any]) -> dict[str, str]:
        text = yaml.safe_dump(config, sort_keys=True)
        return {
            "kubernetes_version": self.spec.kubernetes_version or "(the node image's)",
            "image": image,
            "image_id": image_id(image) if image != "(kind's default)" else "",
            "config": hashlib.sha256(text.encode()).hexdigest()[:16],
        }

    # ------------------------------------------------------------------ lifecycle
    def up(self, progress: Progress) -> KindInfo:
        clock = Stopwatch.of(progress)
        problem = self.unavailable()
        if problem:
            raise KindError(problem)
        image = self.spec.node_image
        labels = self._ensure_image(image, clock) if image else {}
        config = self.effective_config(labels)
        key = self.key(image or "(kind's default)", config)
        why = "created: no kind cluster of that name yet"
        if self.exists():
            recorded = self.recorded()
            if recorded is None:
                raise KindError(
                    f"a kind cluster named {self.spec.name!r} exists that pytest-pods did not make (no "
                    f"record at {self.key_file}); it is left alone: delete it with `kind delete cluster "
                    f"--name "
                    f"{self.spec.name}` if it is not needed"
                )
            changed = [f"{k} {recorded.get(k)!r} -> {v!r}" for k, v in key.items() if recorded.get(k) != v]
            if changed:
                why = "recreated: " + "; ".join(changed)
                clock(
                    f"kind cluster {self.spec.name!r} differs from what is asked ({'; '.join(changed)}): "
                    "deleting it"
                )
                self.delete(clock)
            else:
                health = self._revive(clock)
                if health is None:
                    version = self._server_version()
                    clock(f"reusing kind cluster {self.spec.name!r} (Kubernetes {version})")
                    self._after_up(labels, clock)
                    self._wait_usable(clock)
                    return KindInfo(
                        self.spec.name,
                        self.kubeconfig,
                        self.context,
                        version,
                        image or "",
                        True,
                        "reused: same version, image and config",
                    )
                why = f"recreated: {health}"
                clock(f"kind cluster {self.spec.name!r} is not usable ({health}): deleting it")
                self.delete(clock)
        elif self.key_file.exists():
            self.key_file.unlink()
        self._create(image, config, clock)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.key_file.write_text(json.dumps(key, indent=2) + "\n")
        self._after_up(labels, clock)
        self._wait_usable(clock)
        version = self._server_version()
        return KindInfo(self.spec.name, self.kubeconfig, self.context, version, image or "", False, why)

    def _ensure_image(self, image: str, clock: Stopwatch) -> dict[str, str]:
        labels = image_labels(image)
        if labels is not None:
            return labels
        if image.startswith(OWN_NODE_REPO + ":"):
            version = image.rsplit(":", 1)[1]
            raise KindError(
                f"the offline node image {image} is not in Docker: build it with "
                f"`pytest-pods kind build-node-image --kubernetes-version {version}`"
            )
        clock(f"pulling the node image {image} (once)")
        began = time.monotonic()
        done = run([_docker(), "pull", image], timeout=1800, what=f"docker pull {image}")
        if done.returncode != 0:
            raise KindError(
                f"the node image {image} is not in Docker, and pulling it failed after "
                f"{time.monotonic() - began:.0f}s ({tail(done, 3)}): offline, build one with "
                "`pytest-pods kind build-node-image` and pass --pods-kind-image "
                "pytest-pods/kind-node:VERSION; online, check the name"
            )
        return image_labels(image) or {}

    def _create(self, image: str | None, config: dict[str, Any], clock: Stopwatch) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.state_dir / "config.yaml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        argv = [
            self._kind(),
            "create",
            "cluster",
            "--name",
            self.spec.name,
            "--config",
            str(config_file),
            "--kubeconfig",
            str(self.kubeconfig),
            "--wait",
            CREATE_WAIT,
        ]
        if image:
            argv += ["--image", image]
        tail: deque[str] = deque(maxlen=_TAIL_LINES)
        began = time.monotonic()
        with (
            clock.step(
                f"kind create cluster --name {self.spec.name}" + (f" --image {image}" if image else "")
            ),
            subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            ) as proc,
        ):
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                tail.append(line)
                shown = _plain(line)
                if shown and not shown.startswith(_KIND_CHATTER):
                    clock(f"  kind: {shown}")
            code = proc.wait()
        if code != 0:
            raise KindError(self._diagnose(code, "\n".join(tail), time.monotonic() - began))

    def _diagnose(self, code: int, tail: str, seconds: float) -> str:
        text = tail.lower()
        if "port is already allocated" in text or "address already in use" in text:
            cause = "a host port the kind config asks for is already in use"
            fix = (
                f"free that port, or change apiServerPort / extraPortMappings in "
                f"{self.spec.config or 'your --pods-kind-config'}"
            )
        elif "already in use by container" in text or "already exist for a cluster" in text:
            cause = f"Docker already has a container named {self.node} that is not this cluster's"
            fix = f"remove it (`docker rm -f {self.node}`) or `kind delete cluster --name {self.spec.name}`"
        else:
            cause = "kind create cluster failed"
            fix = (
                f"read the output below; `kind export logs --name {self.spec.name}` collects the node's logs "
                f"(the node is kept with --retain only)"
            )
        return (
            f"{cause} (exit {code} after {seconds:.0f}s): {fix}\n--- last lines of kind's output ---\n{tail}"
        )

    def _revive(self, clock: Stopwatch) -> str | None:
        """None when the cluster answers; restarts a stopped node first. Else what is wrong."""
        state = run([_docker(), "inspect", "--format", "{{.State.Running}}", self.node], timeout=30)
        if state.returncode != 0:
            return f"its node container {self.node} is missing"
        if state.stdout.strip() != "true":
            clock(f"starting the stopped kind node {self.node}")
            started = run([_docker(), "start", self.node], timeout=60)
            if started.returncode != 0:
                return f"`docker start {self.node}` failed: {tail(started, 2)}"
        if not self.kubeconfig.exists():
            export = run(
                [
                    self._kind(),
                    "export",
                    "kubeconfig",
                    "--name",
                    self.spec.name,
                    "--kubeconfig",
                    str(self.kubeconfig),
                ],
                timeout=60,
            )
            if export.returncode != 0:
                return f"its kubeconfig cannot be exported: {tail(export, 2)}"
        deadline = time.monotonic() + 90
        problem = "its API server does not answer"
        while time.monotonic() < deadline:
            try:
                self._server_version(timeout=3)
                return None
            except (KindError, OSError) as exc:
                problem = f"its API server does not answer ({type(exc).__name__})"
            time.sleep(1)
        return problem

    def server(self) -> str:
        """The API server's URL, from the kubeconfig ("" when it cannot be read)."""
        try:
            data = yaml.safe_load(self.kubeconfig.read_text()) or {}
            return str(data["clusters"][0]["cluster"]["server"])
        except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
            return ""

    def _wait_usable(self, clock: Stopwatch, timeout: float = USABLE_TIMEOUT) -> None:
        """A Ready node that takes pods (no NoSchedule taint), the default ServiceAccount and root CA
        ConfigMap published (:func:`pytest_pods.core.api.usable_checks`, as for the local cluster), and
        cluster DNS served: what a test's first pod needs. CoreDNS starts answering before it has synced
        with the API (and then names nothing); its readiness, hence a ready endpoint behind
        ``kube-dns``, says it has."""
        api = self._api()

        def get(path: str) -> dict[str, Any] | None:
            return api.get(path, timeout=5)

        checks = usable_checks(get)
        checks["a ready CoreDNS endpoint behind kube-system/kube-dns"] = lambda: dns_ready(
            api.get(
                "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
                query={"labelSelector": "kubernetes.io/service-name=kube-dns"},
                timeout=5,
            )
        )
        deadline = time.monotonic() + timeout
        for what, check in checks.items():
            while True:
                try:
                    if check():
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise KindError(
                        f"the kind cluster {self.spec.name!r} is up but {what} is missing after "
                        f"{timeout:g}s: "
                        f"see `kubectl --kubeconfig {self.kubeconfig} describe nodes`, or "
                        f"`kind export logs --name {self.spec.name}`"
                    )
                time.sleep(0.5)
            clock(f"{what}: ok")

    def _api(self) -> ApiReader:
        try:
            return ApiReader.from_kubeconfig(self.kubeconfig, self.context)
        except KubeconfigError as exc:
            raise KindError(f"cannot read the kind kubeconfig {self.kubeconfig}: {exc.cause}") from exc

    def _server_version(self, timeout: float = 10) -> str:
        api = self._api()
        try:
            return api.server_version(timeout=timeout)
        except OSError as exc:
            raise KindError(f"the kind cluster's API server does not answer: {exc}") from exc

    def _after_up(self, labels: dict[str, str], clock: Stopwatch) -> None:
        """An offline node pulls every image from the stand-in registry (mirrored on the Docker
        network's gateway); with kind's own image, only preloaded archives go there."""
        if labels.get(OFFLINE_LABEL) == "true":
            mirror.serve_node(self.cache, self.spec.name, self.node, clock, all_registries=True)

    def load_images(self, archives: Sequence[Path], progress: Progress) -> list[str]:
        clock = Stopwatch.of(progress)
        refs = mirror.push_archives(self.cache, archives, clock)
        registries = sorted({ref.split("/", 1)[0] for ref in refs})
        mirror.serve_node(self.cache, self.spec.name, self.node, clock, registries=registries)
        return refs

    def delete(self, progress: Progress) -> None:
        """Delete the cluster and its state. A :class:`KindError` that names the fix, and the
        state (the record that pytest-pods made the cluster) kept, when the cluster may exist but
        cannot be deleted now: Docker does not answer or kind is missing. The node container of a
        stopped engine comes back when the engine starts, and without its record it would be left
        alone as someone else's."""
        clock = Stopwatch.of(progress)
        blocked = self.unavailable()
        if blocked is not None:
            if self.recorded() is None:
                return  # never made by pytest-pods here (or already deleted): nothing of ours
            raise KindError(
                f"kind cluster {self.spec.name!r} was not deleted: {blocked}. Its record is kept "
                f"({self.key_file}); delete it once Docker answers: "
                "`pytest-pods cluster down --provider kind`"
            )
        if self.exists():
            with clock.step(f"kind delete cluster --name {self.spec.name}"):
                handle = self.handle()
                self._thaw(clock)  # a pod cgroup left frozen would keep the node's init from exiting
                try:
                    handle.delete()
                except subprocess.CalledProcessError:
                    self._thaw(clock)  # frozen while kind was deleting: thaw, then once more
                    try:
                        handle.delete()
                    except subprocess.CalledProcessError:
                        raise KindError(
                            f"kind delete cluster failed twice (its output is above): remove the node "
                            f"by hand: `docker rm -f {self.node}`"
                        ) from None
        mirror.stop(self.cache, self.spec.name)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def _thaw(self, clock: Stopwatch) -> int:
        """cgroup v1: a runc inside the node that dies while it has a pod's cgroup frozen leaves it
        FROZEN, and then the node's init never exits (`docker rm -f`: "did not receive an exit
        event"). Thaw what is frozen under the node's own cgroup; returns how many."""
        cid = run([_docker(), "inspect", "--format", "{{.Id}}", self.node], timeout=30).stdout.strip()
        root = Path("/sys/fs/cgroup/freezer")
        if not cid or not root.is_dir():
            return 0
        thawed = 0
        for top in [*root.glob(f"*/{cid}"), *root.glob(f"*/docker-{cid}.scope")]:
            for state in top.rglob("freezer.state"):
                try:
                    if state.read_text().strip() != "THAWED":
                        state.write_text("THAWED")
                        thawed += 1
                except OSError:
                    continue
        if thawed:
            clock(f"thawed {thawed} frozen cgroup(s) left in the node {self.node} by an interrupted runc")
        return thawed


def describe(spec: KindSpec) -> str:
    image = spec.node_image or "kind's default node image"
    version = spec.kubernetes_version or "of the node image"
    return (
        f"kind cluster {spec.name!r} from {image}, Kubernetes {version}; reused when its version, image "
        "and config match"
    )


__all__ = ["CLUSTER_NAME", "KindCluster", "KindInfo", "KindSpec", "describe"]
