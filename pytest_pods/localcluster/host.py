"""What the cluster needs from, and changes on, this machine: preflight checks, the node's dummy
link, sysctls, and the teardown that leaves nothing of ours behind.

Every change ``prepare`` makes is recorded in the state directory, so that ``cleanup`` can undo it,
even after a run that was killed with SIGKILL.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pytest_pods.core import commands
from pytest_pods.core.progress import Progress, silent
from pytest_pods.localcluster import cgroups
from pytest_pods.localcluster.configs import Network
from pytest_pods.localcluster.errors import PreflightError
from pytest_pods.localcluster.paths import StatePaths

CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")
REQUIRED_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "pids")
APT_HINT = (
    "apt-get install -y containerd runc containernetworking-plugins docker-registry iproute2 iptables "
    "socat conntrack"
)

# The kubelet writes these when it starts (protectKernelDefaults=false); we set them first and put
# the old values back on down. ip_forward is switched on by the CNI bridge plugin (isGateway).
SYSCTLS = {
    "vm.overcommit_memory": "1",
    "vm.panic_on_oom": "0",
    "kernel.panic": "10",
    "kernel.panic_on_oops": "1",
    "kernel.keys.root_maxkeys": "1000000",
    "kernel.keys.root_maxbytes": "25000000",
    "fs.inotify.max_user_watches": "524288",
    "fs.inotify.max_user_instances": "512",
    "net.ipv4.ip_forward": "1",
    # Pod -> Service -> pod on the same bridge: the reply is bridged, and must still pass conntrack
    # to be un-DNATed. kube-proxy needs it (kind and kubeadm's preflight check it too).
    "net.bridge.bridge-nf-call-iptables": "1",
}

#: The one rule of ours outside kube-proxy's chains: what a pod sends through the host may only go
#: back to the pod bridge (pods, and Services whose endpoints are pods). Nothing leaves the machine,
#: whatever routes a privileged pod adds or whatever endpoints a Service is given.
FORWARD_GUARD_COMMENT = "pytest-pods: pods reach nothing off this machine"


def forward_guard(net: Network) -> list[str]:
    """The iptables arguments (after ``-I FORWARD 1`` / ``-C FORWARD``) of the guard rule."""
    return [
        "-i",
        net.bridge,
        "!",
        "-o",
        net.bridge,
        "-m",
        "comment",
        "--comment",
        FORWARD_GUARD_COMMENT,
        "-j",
        "DROP",
    ]


_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def _run(argv: list[str], check: bool = False) -> subprocess.CompletedProcess[str]:
    done = commands.run(argv)
    if check:
        done.check_returncode()
    return done


def cni_bin_dir() -> str | None:
    for d in CNI_BIN_DIRS:
        if all(os.access(Path(d) / p, os.X_OK) for p in CNI_PLUGINS):
            return d
    return None


@dataclass(frozen=True)
class Preflight:
    """Checks that fail at once, naming what is missing and how to get it."""

    net: Network

    def check_all(self, ports: Iterable[tuple[str, int]]) -> None:
        self.check_root()
        self.check_tools()
        self.check_kernel()
        self.check_ports(ports)

    @staticmethod
    def check_root() -> None:
        if os.geteuid() != 0:
            raise PreflightError(
                "the local cluster must run as root (it starts containerd and the kubelet, and makes "
                "network namespaces, mounts and cgroups)",
                "run as root (e.g. `sudo pytest-pods cluster up`), or use another provider: "
                "--pods-provider=kind (needs Docker) or --pods-provider=existing --pods-kubeconfig=PATH",
            )

    @staticmethod
    def check_tools() -> None:
        tools = ("containerd", "runc", "ip", "iptables", "docker-registry", "socat", "conntrack")
        missing = [t for t in tools if not shutil.which(t, path=_SEARCH_PATH)]
        if missing:
            raise PreflightError(f"missing commands: {', '.join(missing)}", APT_HINT)
        if cni_bin_dir() is None:
            raise PreflightError(
                f"the CNI plugins {', '.join(CNI_PLUGINS)} are not in {' or '.join(CNI_BIN_DIRS)}",
                "apt-get install -y containernetworking-plugins",
            )

    @staticmethod
    def check_kernel() -> None:
        if os.uname().sysname != "Linux":
            raise PreflightError("the local cluster needs Linux", "use --pods-provider=kind or existing")
        if not cgroups.CGROUP_FS.exists() or not cgroups.hierarchies():
            raise PreflightError(
                "no cgroup v1 hierarchies under /sys/fs/cgroup (a cgroup-v2-only host is not supported yet)",
                "boot with cgroup v1 controllers mounted, or use --pods-provider=kind",
            )
        names = {p.name for p in cgroups.hierarchies()} | {
            part for p in cgroups.hierarchies() for part in p.name.split(",")
        }
        lacking = [c for c in REQUIRED_CONTROLLERS if c not in names]
        if lacking:
            raise PreflightError(
                f"cgroup controllers not mounted: {', '.join(lacking)}",
                "mount them, e.g. `mount -t cgroup -o cpu,cpuacct cgroup /sys/fs/cgroup/cpu,cpuacct`",
            )
        no_overlay = "overlay" not in Path("/proc/filesystems").read_text()
        if no_overlay and _run(["modprobe", "overlay"]).returncode != 0:
            raise PreflightError(
                "the kernel has no overlay filesystem (containerd's snapshotter needs it)",
                "`modprobe overlay` (package kmod), or a kernel built with CONFIG_OVERLAY_FS",
            )
        if not Path("/dev/kmsg").exists():
            raise PreflightError(
                "/dev/kmsg is missing (the kubelet's OOM watcher reads it)", "mknod /dev/kmsg c 1 11"
            )
        bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
        if not bridge_nf.exists() and _run(["modprobe", "br_netfilter"]).returncode != 0:
            raise PreflightError(
                "the kernel has no br_netfilter (Service traffic between pods on one bridge needs it)",
                "`modprobe br_netfilter` (package kmod), or a kernel built with CONFIG_BRIDGE_NETFILTER",
            )
        if not os.access("/proc/sys/vm/overcommit_memory", os.W_OK):
            raise PreflightError(
                "/proc/sys is read-only (the kubelet sets kernel sysctls)",
                "run on a host, or in a privileged container with a writable /proc/sys",
            )

    @staticmethod
    def check_ports(ports: Iterable[tuple[str, int]]) -> None:
        taken = []
        for owner, port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # As Go's listeners do: connections in TIME_WAIT from a previous run do not block the port.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken.append(f"{port} ({owner})")
            finally:
                s.close()
        if taken:
            raise PreflightError(
                f"ports already in use on 127.0.0.1: {', '.join(taken)}",
                "stop what listens there (`ss -ltnp` shows it), or, if it is an earlier cluster of ours, "
                "run `pytest-pods cluster down`",
            )


def can_lower_oom_score() -> bool:
    """Whether this process holds CAP_SYS_RESOURCE (needed to set a negative oom_score_adj)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def _sysctl_path(key: str) -> Path:
    return Path("/proc/sys") / key.replace(".", "/")


def prepare(state: StatePaths, net: Network, cgroup_root: str) -> None:
    """Make the host changes the cluster needs, recording the old values first."""
    changes: dict[str, object] = {"sysctls": {}}
    if state.host_changes_file.exists():  # an earlier, unfinished up: keep its originals
        changes = json.loads(state.host_changes_file.read_text())
    sysctls = changes.setdefault("sysctls", {})
    assert isinstance(sysctls, dict)
    for key, value in SYSCTLS.items():
        path = _sysctl_path(key)
        if not path.exists():
            continue
        sysctls.setdefault(key, path.read_text().strip())
        state.host_changes_file.parent.mkdir(parents=True, exist_ok=True)
        state.host_changes_file.write_text(json.dumps(changes))
        if path.read_text().strip() != value:
            path.write_text(value)
    if _run(["ip", "link", "show", net.node_link]).returncode != 0:
        _run(
            ["ip", "link", "add", net.node_link, "type", "bridge"], check=True
        )  # no dummy module on some kernels
        _run(["ip", "addr", "add", f"{net.node_ip}/32", "dev", net.node_link], check=True)
    _run(["ip", "link", "set", net.node_link, "up"], check=True)
    # The host's own packets to Service addresses stay on this machine: kube-proxy's DNAT sends them
    # on to a pod, and a Service kube-proxy has not programmed yet ends on the port-less node link,
    # never on the default route. (The route goes with the link on down.)
    _run(["ip", "route", "replace", net.service_cidr, "dev", net.node_link, "src", net.node_ip], check=True)
    if _run(["iptables", "-C", "FORWARD", *forward_guard(net)]).returncode != 0:
        _run(["iptables", "-I", "FORWARD", "1", *forward_guard(net)], check=True)
    cgroups.create(cgroup_root)


def _mounts_under(roots: Iterable[Path]) -> list[str]:
    prefixes = [str(r).rstrip("/") + "/" for r in roots]
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].replace("\\040", " ")
        if any(target.startswith(p) or target + "/" == p for p in prefixes):
            found.append(target)
    return sorted(set(found), key=lambda t: t.count("/"), reverse=True)


def _our_netns(net: Network) -> list[str]:
    """Network namespaces whose interfaces hold an address in our pod network."""
    out = _run(["ip", "-j", "netns", "list"])
    if out.returncode != 0 or not out.stdout.strip():
        return []
    subnet = ipaddress.ip_network(net.pod_cidr)
    ours = []
    for entry in json.loads(out.stdout):
        name = entry["name"]
        addrs = _run(["ip", "-n", name, "-j", "addr"])
        try:
            links = json.loads(addrs.stdout or "[]")
        except json.JSONDecodeError:
            links = []
        has_ours = any(
            ipaddress.ip_address(a["local"]) in subnet
            for link in links
            for a in link.get("addr_info", [])
            if a.get("family") == "inet"
        )
        # A namespace whose pod was killed may have lost its interfaces: judge it by its name prefix
        # and the absence of any interface besides lo.
        only_lo = all(link.get("ifname") == "lo" for link in links)
        if has_ours or (name.startswith("cni-") and only_lo and _netns_of_containerd(name)):
            ours.append(name)
    return ours


def _netns_of_containerd(name: str) -> bool:
    # containerd 1.6 names them cni-<uuid> under /run/netns; nobody else of ours makes those.
    return Path("/run/netns", name).exists()


def _kill_stragglers(state: StatePaths) -> None:
    """Processes outside our cgroup that still name our state directories (a torn-down cgroup)."""
    marks = (str(state.lib), str(state.run))
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(m in cmd for m in marks):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def iptables_leftovers() -> list[str]:
    """Rules and chains the kubelet or CNI leave in iptables (filtered to the names they use)."""
    found = []
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool):
            continue
        for table in ("filter", "nat", "mangle"):
            out = _run([tool, "-t", table, "-S"]).stdout
            found += [f"{tool} -t {table} {line}" for line in out.splitlines() if _is_ours(line)]
    return found


def _is_ours(rule: str) -> bool:
    return any(mark in rule for mark in ("KUBE-", "CNI-", "pytest-pods"))


def cleanup_iptables() -> None:
    """Delete every rule that jumps to or lives in a KUBE-/CNI- chain, then those chains."""
    for tool in ("iptables", "ip6tables"):
        if not shutil.which(tool):
            continue
        for table in ("filter", "nat", "mangle"):
            rules = _run([tool, "-t", table, "-S"]).stdout.splitlines()
            chains = [r.split()[1] for r in rules if r.startswith("-N ") and _is_ours(r)]
            for rule in rules:
                if rule.startswith("-A ") and _is_ours(rule):
                    chain = rule.split()[1]
                    if chain not in chains:  # a jump from a built-in chain into ours
                        _run([tool, "-t", table, "-D", *_split_rule(rule)[1:]])
            for chain in chains:
                _run([tool, "-t", table, "-F", chain])
            for chain in chains:
                _run([tool, "-t", table, "-X", chain])


def _split_rule(rule: str) -> list[str]:
    return shlex.split(rule)


def _our_networks(net: Network) -> list[ipaddress.IPv4Network]:
    return [
        ipaddress.IPv4Network(net.pod_cidr),
        ipaddress.IPv4Network(net.service_cidr),
        ipaddress.IPv4Network(f"{net.node_ip}/32"),
    ]


def conntrack_leftovers(net: Network, table: Path = Path("/proc/net/nf_conntrack")) -> list[str]:
    """Connection-tracking entries with an address of ours (pods, Services, the node)."""
    try:
        lines = table.read_text().splitlines()
    except OSError:
        return []
    ours = _our_networks(net)
    found = []
    for line in lines:
        addrs = [f.split("=", 1)[1] for f in line.split() if f.startswith(("src=", "dst="))]
        try:
            if any(ipaddress.ip_address(a) in n for a in addrs for n in ours if ":" not in a):
                found.append(line)
        except ValueError:
            continue
    return found


def cleanup_conntrack(net: Network) -> None:
    """Delete every conntrack entry to or from our addresses (original or reply direction)."""
    if not shutil.which("conntrack", path=_SEARCH_PATH):
        return
    for network in _our_networks(net):
        for flag in ("--orig-src", "--orig-dst", "--reply-src", "--reply-dst"):
            _run(["conntrack", "-D", flag, str(network)])


def cleanup(state: StatePaths, net: Network, cgroup_root: str, progress: Progress = silent) -> list[str]:
    """Undo everything of ours on this host; returns what could not be removed."""
    problems: list[str] = []
    survivors = cgroups.kill_all(cgroup_root, timeout=10)
    if survivors:
        problems.append(f"processes that would not die: {sorted(survivors)}")
    _kill_stragglers(state)
    for ns in _our_netns(net):
        if _run(["ip", "netns", "delete", ns]).returncode != 0:
            problems.append(f"network namespace {ns}")
    for target in _mounts_under([state.lib, state.run, state.lib_root, state.run_root]):
        if _run(["umount", target]).returncode != 0 and _run(["umount", "-l", target]).returncode != 0:
            problems.append(f"mount {target}")
    for link in (net.bridge, net.node_link):
        exists = _run(["ip", "link", "show", link]).returncode == 0
        if exists and _run(["ip", "link", "delete", link]).returncode != 0:
            problems.append(f"link {link}")
    cleanup_iptables()
    leftover_rules = iptables_leftovers()
    if leftover_rules:
        problems.append("iptables rules: " + "; ".join(leftover_rules[:5]))
    cleanup_conntrack(net)
    leftover_flows = conntrack_leftovers(net)
    if leftover_flows:
        problems.append(f"{len(leftover_flows)} conntrack entries, e.g. {leftover_flows[0]}")
    problems += cgroups.remove(cgroup_root)
    if state.host_changes_file.exists():
        changes = json.loads(state.host_changes_file.read_text())
        for key, value in changes.get("sysctls", {}).items():
            try:
                _sysctl_path(key).write_text(value)
            except OSError as e:
                problems.append(f"sysctl {key}: {e.strerror}")
    for d in (state.run, state.lib):
        shutil.rmtree(d, ignore_errors=True)
        if d.exists():
            problems.append(f"directory {d}")
    return problems
