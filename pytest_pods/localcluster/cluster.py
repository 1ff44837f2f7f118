"""``LocalCluster``: up, status, down, and image loading for the Docker-free single-node cluster.

``up`` is idempotent: a healthy cluster is reused in well under a second; a cluster that was left
behind by a killed run is cleaned up first. Everything but the cache is removed by ``down``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from pytest_pods.core.api import ApiReader, usable_checks
from pytest_pods.core.info import ClusterInfo
from pytest_pods.core.paths import CachePaths, log_tail
from pytest_pods.core.progress import Progress, Stopwatch, silent
from pytest_pods.core.versions import DEFAULT_ETCD_VERSION, DEFAULT_KUBERNETES_VERSION
from pytest_pods.localcluster import addons, cgroups, host
from pytest_pods.localcluster.build import KUBERNETES_COMMANDS, Binaries, ensure_binaries
from pytest_pods.localcluster.components import Plan, Ports, make_plan
from pytest_pods.localcluster.configs import (
    Network,
    cni_conflist,
    containerd_config,
    kube_proxy_config,
    kubelet_config,
    write_kubeconfig,
)
from pytest_pods.localcluster.errors import ClusterError, ComponentError
from pytest_pods.localcluster.health import dns_answers
from pytest_pods.localcluster.paths import StatePaths
from pytest_pods.localcluster.pki import PKI, cluster_cert_specs, etcd_cert_specs

if TYPE_CHECKING:  # both imported when needed: a session that never starts a cluster loads neither
    from pytest_pods.localcluster.images import PlannedImage
    from pytest_pods.localcluster.imagestore import ImageStore

_READY_TIMEOUT = 120.0
ADDONS_READY = "add-ons ready: "
_DNS_PROBE = "kubernetes.default.svc.cluster.local"
# Supervisors this process started. They outlive it on purpose (the cluster stays up for the next
# run), so they are plain pids, not Popen objects; down() reaps its own (PID 1 may never reap them).
_SPAWNED: set[int] = set()


def _inherited_fds() -> list[int]:
    """Our open file descriptors above stderr."""
    fds = []
    for name in os.listdir("/proc/self/fd"):  # includes listdir's own, closed by now
        with contextlib.suppress(OSError):
            if int(name) > 2 and fcntl.fcntl(int(name), fcntl.F_GETFD) >= 0:
                fds.append(int(name))
    return sorted(fds)


def _exit_code(pid: int) -> int | None:
    """The exit code of our child ``pid`` once it has exited (reaping it), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if cgroups.alive(pid) else -1
    return os.waitstatus_to_exitcode(status) if done else None


PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
_STOP_TIMEOUT = 60.0


@dataclass(frozen=True)
class ClusterConfig:
    """Everything that makes one local cluster; every field has a working default."""

    name: str = "local"
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    etcd_version: str = DEFAULT_ETCD_VERSION
    ports: Ports = field(default_factory=Ports)
    registry_port: int = 5000
    network: Network = field(default_factory=Network)
    #: kube-proxy, CoreDNS and local-path storage; False gives the bare cluster (for comparisons).
    with_addons: bool = True

    @property
    def cgroup_root(self) -> str:
        return f"/pytest-pods-{self.name}"

    @property
    def registry_addr(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def addon_settings(self, state: StatePaths) -> addons.AddonSettings:
        return addons.AddonSettings(self.network, state.storage)


@dataclass
class ClusterStatus:
    healthy: bool
    phase: str
    components: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    kubernetes_version: str = ""


class LocalCluster:
    """A single-node Kubernetes made of host processes, supervised by one detached process."""

    def __init__(
        self,
        config: ClusterConfig | None = None,
        cache: CachePaths | None = None,
        state: StatePaths | None = None,
    ) -> None:
        self.config = config or ClusterConfig()
        self.cache = cache or CachePaths.default()
        self.state = state or StatePaths(self.config.name)
        self.pki = PKI(self.state.pki)

    # -- queries ------------------------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.config.ports.apiserver}"

    @property
    def kubeconfig(self) -> Path:
        return self.state.admin_kubeconfig

    def _read_status(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.state.status_file.read_text())
            return data
        except (OSError, json.JSONDecodeError):
            return None

    def _api_get(self, path: str, timeout: float = 3.0) -> dict[str, Any] | None:
        """GET from the API server as admin; ``None`` on 404."""
        pki = self.pki
        api = ApiReader.from_files(self.server, pki.ca_cert, pki.cert("admin"), pki.key("admin"))
        return api.get(path, timeout=timeout)

    def status(self) -> ClusterStatus:
        """Healthy only when the supervisor and every component run and the node is Ready."""
        raw = self._read_status()
        if raw is None:
            return ClusterStatus(
                False, "absent", problems=["no cluster is running (run `pytest-pods cluster up`)"]
            )
        st = ClusterStatus(
            False, raw.get("phase", "unknown"), kubernetes_version=self.config.kubernetes_version
        )
        if not cgroups.alive(int(raw["supervisor_pid"])):
            st.problems.append(
                f"the supervisor (pid {raw['supervisor_pid']}) is gone: the cluster was killed"
            )
            st.phase = "dead"
        for name, comp in raw.get("components", {}).items():
            state = comp.get("state", "?")
            if state == "running" and not cgroups.alive(int(comp["pid"])):
                state = "dead"
            st.components[name] = state
            if state != "running":
                detail = f"{name} is {state}"
                if "exit_code" in comp:
                    detail += f" (exit code {comp['exit_code']})"
                tail = log_tail(comp.get("log", ""), 10)
                st.problems.append(detail + (f"; log {comp.get('log')}:\n{tail}" if tail else ""))
        if raw.get("error"):
            st.problems.append(f"{raw['error']['component']}: {raw['error']['reason']}")
        st.problems += self._outdated()
        if st.phase == "running" and not st.problems:
            try:
                node = self._api_get(f"/api/v1/nodes/{self.config.network.node_name}")
            except (OSError, ValueError) as e:
                st.problems.append(f"the API server does not answer: {e}")
                node = None
            if node is None and not st.problems:
                st.problems.append("the node is not registered")
            elif node is not None:
                ready = [c for c in node["status"].get("conditions", []) if c["type"] == "Ready"]
                if not ready or ready[0]["status"] != "True":
                    msg = ready[0].get("message", "") if ready else "no Ready condition yet"
                    st.problems.append(f"the node is not Ready: {msg}")
                st.kubernetes_version = node["status"].get("nodeInfo", {}).get("kubeletVersion", "")
            if not st.problems and self.config.with_addons:
                st.problems += self._addon_problems()
        st.healthy = st.phase == "running" and not st.problems
        return st

    def _outdated(self) -> list[str]:
        """What makes a running cluster older than this code's lock-down (``up`` then restarts it)."""
        from pytest_pods.localcluster import registry

        try:
            plan = Plan.from_json(self.state.plan_file.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return []
        found = []
        how = "it was started by an older pytest-pods; `pytest-pods cluster up` restarts it"
        if any(c.name == "etcd" and "--client-cert-auth=true" not in c.argv for c in plan.components()):
            found.append(f"etcd takes clients without certificates: {how}")
        if any(c.name == "registry" for c in plan.components()) and not registry.is_read_only(
            self.state.config_dir / "registry.yml"
        ):
            found.append(f"the registry on {self.config.registry_addr} takes pushes: {how}")
        return found

    def _addon_problems(self) -> list[str]:
        """What keeps an add-on Deployment from having a Ready pod."""
        problems = []
        for namespace, name in addons.DEPLOYMENTS:
            try:
                dep = self._api_get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
            except (OSError, ValueError) as e:
                problems.append(f"the API server does not answer: {e}")
                break
            if dep is None:
                problems.append(f"add-on {namespace}/{name} is not deployed")
            elif not dep.get("status", {}).get("availableReplicas"):
                problems.append(f"add-on {namespace}/{name} has no available pod yet")
        return problems

    def info(self, reused: bool) -> ClusterInfo:
        return ClusterInfo(
            provider="local",
            kubeconfig=self.kubeconfig,
            context=None,
            kubernetes_version=self.config.kubernetes_version,
            description=f"local cluster {self.config.name!r} (Docker-free) at {self.server}"
            + (", reused" if reused else ""),
            reused=reused,
            server=self.server,
            name=self.config.name,
        )

    # -- build ----------------------------------------------------------------------------------
    def build(self, progress: Progress = silent) -> list[Path]:
        """Build (or find in the cache) every binary and image the cluster needs, and (as root) fill
        containerd's kept image store; start nothing."""
        from pytest_pods.localcluster import images

        clock = Stopwatch.of(progress)
        cfg = self.config
        bins = self._binaries(clock)
        images.build_and_push(clock, self.cache, cfg.registry_addr, addons.addon_images(bins))
        if os.geteuid() == 0:  # containerd unpacks layers with mounts
            self._image_store(images.plan_images(self.cache, clock, addons.addon_images(bins)), clock)
        else:
            clock("containerd's kept image store needs root: the first `cluster up` fills it")
        return [
            *(bins.kube(c) for c in KUBERNETES_COMMANDS),
            bins.etcd,
            bins.coredns,
            bins.local_path_provisioner,
        ]

    def _binaries(self, clock: Stopwatch) -> Binaries:
        """The cluster's binaries (built once). On a cold cache the Debian stand-in images build
        meanwhile (their builder needs root: else they build after). Measured on 2 cores it pays
        little: debootstrap and dpkg want CPU too, and the compile beside them took longer."""
        from pytest_pods.localcluster import images

        cfg = self.config
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stand-ins") as pool:
            stand_ins = pool.submit(images.plan_images, self.cache, clock) if os.geteuid() == 0 else None
            bins = ensure_binaries(self.cache, cfg.kubernetes_version, cfg.etcd_version, clock)
            if stand_ins is not None:
                stand_ins.result()
        return bins

    # -- up -------------------------------------------------------------------------------------
    def up(self, progress: Progress = silent) -> ClusterInfo:
        """Start the cluster, or reuse it if it is already healthy. Returns when pods can be created."""
        clock = Stopwatch.of(progress)
        host.Preflight.check_root()
        self.state.lib_root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.state.lock_file)):
            st = self.status()
            if st.healthy:
                clock(f"cluster {self.config.name!r} is already up; reusing it")
                return self.info(reused=True)
            if st.phase != "absent" or self.state.lib.exists() or cgroups.exists(self.config.cgroup_root):
                outdated = self._outdated()
                clock(f"cleaning up what an earlier cluster left ({'; '.join(outdated) or st.phase})")
                self._stop_supervisor()
                self._cleanup(clock)
            self._start(clock)
            return self.info(reused=False)

    def _start(self, clock: Stopwatch) -> None:
        from pytest_pods.localcluster import images, registry

        cfg, state, net = self.config, self.state, self.config.network
        preflight = host.Preflight(net)
        preflight.check_tools()
        preflight.check_kernel()
        ports = cfg.ports
        preflight.check_ports(
            [
                ("kube-apiserver", ports.apiserver),
                ("etcd", ports.etcd_client),
                ("etcd peer", ports.etcd_peer),
                ("kube-controller-manager", ports.controller_manager),
                ("kube-scheduler", ports.scheduler),
                ("kubelet", ports.kubelet),
                ("kubelet healthz", ports.kubelet_healthz),
                ("kube-proxy healthz", ports.kube_proxy_healthz),
                ("kube-proxy metrics", ports.kube_proxy_metrics),
                ("registry", cfg.registry_port),
            ]
        )
        bins = self._binaries(clock)
        addon_images = addons.addon_images(bins) if cfg.with_addons else []
        planned = images.plan_images(self.cache, clock, addon_images)
        store, key = self._image_store(planned, clock)

        with (
            clock.step("preparing the host, certificates, configuration and containerd's image store"),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore") as restorer,
            contextlib.ExitStack() as stack,
        ):
            # cp (hard links) runs while this thread writes certificates and configuration
            def restore() -> None:
                store.restore(key, state.containerd_root)
                store.prune(keep=key)
                clock(f"containerd's kept image store {key} linked into its root")

            restored = restorer.submit(restore)
            for d in (
                state.lib,
                state.run,
                state.logs,
                state.config_dir,
                state.cni_conf_dir,
                state.cni_data_dir,
            ):
                d.mkdir(parents=True, exist_ok=True)
            # Root's alone: logs, configuration, PersistentVolume data (local-path makes its
            # directories 0777). Containers see their volumes through mounts that root made.
            os.chmod(state.lib, 0o700)
            supervisor = self._launch_supervisor()
            stack.callback(self._kill_unplanned, supervisor)
            host.prepare(state, net, cfg.cgroup_root)
            specs = cluster_cert_specs(net.node_name, net.node_ip, net.service_ip)
            self.pki.create(specs, ca_store=self.cache.ca(cfg.name))
            self.pki.etcd.create(etcd_cert_specs(), service_account=False, ca_name="pytest-pods-etcd-ca")
            write_kubeconfig(state.admin_kubeconfig, self.server, self.pki, "admin")
            for user in ("controller-manager", "scheduler", "kubelet-client", "kube-proxy"):
                write_kubeconfig(state.config_dir / f"{user}.kubeconfig", self.server, self.pki, user)
            # Read-only: anyone may pull, only root pushes (through registry.writer).
            reg = registry.Registry(
                self.cache.registry_storage, state.config_dir, cfg.registry_addr, read_only=True
            )
            reg.write_config()
            hosts_dir = state.config_dir / "certs.d"
            registry.write_containerd_hosts(hosts_dir, cfg.registry_addr)
            cni_dir = host.cni_bin_dir()
            assert cni_dir is not None
            (state.config_dir / "containerd.toml").write_text(
                containerd_config(state, hosts_dir, PAUSE_IMAGE, cni_dir, not host.can_lower_oom_score())
            )
            (state.cni_conf_dir / "10-pytest-pods.conflist").write_text(cni_conflist(state, net))
            (state.config_dir / "resolv.conf").write_text(
                "# pytest-pods: no DNS leaves this machine\nnameserver 127.0.0.1\n"
            )
            (state.config_dir / "kubelet.yaml").write_text(
                kubelet_config(state, self.pki, net, cfg.cgroup_root)
            )
            (state.config_dir / "kube-proxy.yaml").write_text(
                kube_proxy_config(net, state.config_dir / "kube-proxy.kubeconfig", net.pod_cidr)
            )
            state.storage.mkdir(parents=True, exist_ok=True)
            plan = make_plan(
                state=state,
                bins=bins,
                pki=self.pki,
                net=net,
                ports=ports,
                registry_argv=reg.argv(),
                registry_health_url=f"{reg.url}/v2/",
                registry_port=cfg.registry_port,
                containerd_config=state.config_dir / "containerd.toml",
                kubelet_config=state.config_dir / "kubelet.yaml",
                kube_proxy_config=state.config_dir / "kube-proxy.yaml",
                cgroup_root=cfg.cgroup_root,
            )
            if not cfg.with_addons:
                plan = without_components(plan, {"kube-proxy", "apiserver-relay"})
            restored.result()
            # Written last, at once: the supervisor starts the components when it appears.
            tmp = state.plan_file.with_suffix(".tmp")
            tmp.write_text(plan.to_json())
            tmp.rename(state.plan_file)
            stack.pop_all()

        # Work that needs only one component starts as soon as that one is healthy, while the
        # supervisor starts the rest: the registry gets what it lacks (usually nothing), and the
        # add-ons are applied once the API server is ready (the controllers, the scheduler and the
        # kubelet pick them up as they come).
        def push() -> None:
            with clock.step("stand-in and add-on images in the local registry"):
                images.push_images(reg, planned, clock)

        def apply_addons() -> None:
            with clock.step("applying the add-ons (CoreDNS, local-path storage)"):
                addons.apply(
                    bins.kube("kubectl"),
                    state.admin_kubeconfig,
                    addons.manifests(cfg.addon_settings(state)),
                    state.log("addons"),
                )

        hooks = {"registry": push, **({"kube-apiserver": apply_addons} if cfg.with_addons else {})}
        with ThreadPoolExecutor(max_workers=len(hooks), thread_name_prefix="up") as pool:
            started: list[Future[None]] = []
            self._follow_supervisor(supervisor, plan, clock, lambda name: _submit(pool, hooks, name, started))
            for done in started:
                done.result()
        self._wait_ready(clock)

    def _image_store(self, planned: Sequence[PlannedImage], clock: Stopwatch) -> tuple[ImageStore, str]:
        """The kept containerd image store for ``planned``, filled first if this build has none."""
        from pytest_pods.localcluster import images
        from pytest_pods.localcluster.imagestore import ImageStore, containerd_version, store_key

        store = ImageStore(self.cache.image_store)
        key = store_key(planned, containerd_version())
        if not store.ready(key):
            with (
                clock.step("filling containerd's kept image store (once for each build of the images)"),
                images.cache_registry(self.cache, clock, self.config.registry_addr) as reg,
            ):
                images.push_images(reg, planned, clock)
                run_dir = self.state.run_root / f".imagestore-{self.config.name}"
                try:
                    store.fill(key, planned, reg, run_dir, clock)
                finally:
                    shutil.rmtree(run_dir, ignore_errors=True)
        return store, key

    def _kill_unplanned(self, pid: int) -> None:
        """The supervisor of an ``up`` that failed before writing the plan: it started nothing."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _SPAWNED.discard(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def _wait_ready(self, clock: Stopwatch) -> None:
        """What ``up`` promises, checked together: the node Ready, the default ServiceAccount and
        root CA ConfigMap published, and (with add-ons) each add-on Deployment with a Ready pod."""
        node = self.config.network.node_name
        checks = usable_checks(self._api_get, node=node)
        if self.config.with_addons:
            checks[ADDONS_READY + ", ".join(f"{ns}/{name}" for ns, name in addons.DEPLOYMENTS)] = lambda: (
                not self._addon_problems()
            )
            # Through the kube-dns Service (kube-proxy's rules) to CoreDNS, from the node's address
            # (host.prepare routes the Service network there).
            net = self.config.network
            checks[f"cluster DNS at {net.dns_ip} answers {_DNS_PROBE}"] = lambda: (
                dns_answers(net.dns_ip, _DNS_PROBE, source=net.node_ip, timeout=0.2) is None
            )
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            for what, check in list(checks.items()):
                if check():
                    clock(what if what.startswith(ADDONS_READY) else f"{what}: ok")
                    del checks[what]
            if not checks:
                return
            if time.monotonic() > deadline:
                what = next(iter(checks))
                if what.startswith(ADDONS_READY):
                    component, log, problems = "add-ons", "kubelet", self._addon_problems()
                elif what.startswith("cluster DNS"):
                    net = self.config.network
                    reason = dns_answers(net.dns_ip, _DNS_PROBE, source=net.node_ip) or "it answers now"
                    component, log, problems = "kube-proxy", "kube-proxy", [reason]
                else:
                    component = "kubelet" if what.startswith("node") else "kube-controller-manager"
                    log, problems = component, self.status().problems
                raise ComponentError(
                    component,
                    f"{what}: not reached after {_READY_TIMEOUT:g}s; " + "; ".join(problems),
                    str(self.state.log(log)),
                    log_tail(self.state.log(log)),
                )
            time.sleep(0.1)

    def _launch_supervisor(self) -> int:
        """Start the supervisor process; it waits for the plan file (its interpreter and imports
        take a good part of a second, spent while ``up`` still prepares the host)."""
        self.state.plan_file.unlink(missing_ok=True)
        env = {**os.environ, "PATH": os.environ.get("PATH", "") + ":/usr/sbin:/sbin"}
        pkg_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = pkg_root + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        log_fd = os.open(self.state.log("supervisor"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "pytest_pods.localcluster.supervisor", str(self.state.plan_file)],
                env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log_fd, 1),
                    (os.POSIX_SPAWN_DUP2, log_fd, 2),
                    (os.POSIX_SPAWN_CLOSE, log_fd),
                    # Nothing else of ours: an inherited lock (`flock FILE pytest ...`) held by the
                    # long-lived supervisor would never be released.
                    *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds() if fd != log_fd),
                ],
                setsid=True,
            )
        finally:
            os.close(log_fd)
        _SPAWNED.add(pid)
        return pid

    def _follow_supervisor(
        self, pid: int, plan: Plan, clock: Stopwatch, on_running: Callable[[str], None] = lambda name: None
    ) -> None:
        """Follow the supervisor's status file until every component runs; calls ``on_running(name)``
        once for each component as it becomes healthy."""
        seen: dict[str, str] = {}
        deadline = time.monotonic() + sum(max(c.start_timeout for c in s) for s in plan.stages) + 30
        while time.monotonic() < deadline:
            raw = self._read_status()
            if raw:
                for name, comp in raw["components"].items():
                    if seen.get(name) != comp["state"]:
                        seen[name] = comp["state"]
                        clock(f"{name}: {comp['state']}")
                        if comp["state"] == "running":
                            on_running(name)
                if raw["phase"] == "running":
                    return
                if raw["phase"] == "failed":
                    err = raw["error"]
                    comp = raw["components"].get(err["component"], {})
                    log_path = comp.get("log", str(self.state.log("supervisor")))
                    raise ComponentError(err["component"], err["reason"], log_path, log_tail(log_path))
            code = _exit_code(pid)
            if code is not None and not (raw and raw["phase"] in ("running", "failed")):
                path = self.state.log("supervisor")
                raise ComponentError("supervisor", f"exited with code {code}", str(path), log_tail(path))
            time.sleep(0.05)
        raise ComponentError(
            "supervisor",
            "the components did not all start in time",
            str(self.state.log("supervisor")),
            log_tail(self.state.log("supervisor")),
        )

    # -- down -----------------------------------------------------------------------------------
    def _stop_supervisor(self) -> None:
        raw = self._read_status()
        if not raw:
            return
        pid = int(raw["supervisor_pid"])
        if cgroups.alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + _STOP_TIMEOUT
            while cgroups.alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if cgroups.alive(pid):
                os.kill(pid, signal.SIGKILL)
        if pid in _SPAWNED:  # our own child: reap it (dead or just stopped)
            _SPAWNED.discard(pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)

    def _cleanup(self, clock: Stopwatch) -> None:
        problems = host.cleanup(self.state, self.config.network, self.config.cgroup_root, clock)
        if problems:
            raise ClusterError("could not remove everything of the cluster:\n  " + "\n  ".join(problems))

    def down(self, progress: Progress = silent) -> None:
        """Stop every process and undo every host change; the cache stays."""
        clock = Stopwatch.of(progress)
        host.Preflight.check_root()
        self.state.lib_root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.state.lock_file)):
            with clock.step("stopping the components"):
                self._stop_supervisor()
            with clock.step("removing namespaces, mounts, links, iptables rules and state"):
                self._cleanup(clock)

    # -- images ---------------------------------------------------------------------------------
    def load_images(self, archives: Sequence[Path], progress: Progress = silent) -> list[str]:
        """Push image archives (``docker save`` or OCI tars) into the cluster's registry storage
        (through a push registry only root can use; the cluster's own registry is read-only)."""
        from pytest_pods.localcluster import images, registry

        reg = registry.Registry(
            self.cache.registry_storage, self.state.config_dir, self.config.registry_addr, read_only=True
        )
        refs: list[str] = []
        for archive in archives:
            progress(f"loading {archive}")
            refs += images.push_archive(Path(archive), reg, self.state.config_dir / "certs.d")
        return refs


def _submit(
    pool: ThreadPoolExecutor, hooks: dict[str, Callable[[], None]], name: str, started: list[Future[None]]
) -> None:
    if name in hooks:
        started.append(pool.submit(hooks.pop(name)))


def without_components(plan: Plan, names: set[str]) -> Plan:
    stages = [[c for c in stage if c.name not in names] for stage in plan.stages]
    return Plan([s for s in stages if s], plan.cgroup, plan.cgroup_root, plan.status_file)
