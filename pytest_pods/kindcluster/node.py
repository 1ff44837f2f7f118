"""``pytest-pods kind build-node-image``: a kind node image for one Kubernetes version, offline.

Everything comes from the Go module proxy and Debian packages, through the local cluster's builders
and caches (:mod:`pytest_pods.localcluster`):

- kubeadm, kubelet and kubectl in ``/usr/bin``;
- control-plane images (``registry.k8s.io/kube-apiserver:<v>`` ...), etcd, CoreDNS and
  local-path-provisioner made from their static binaries; kube-proxy on a Debian root with
  iptables, nftables and conntrack; the stand-in pause and debian (local-path's helper);
- a static bridge + host-local CNI config instead of kindnetd (single node only), and our own
  local-path storage manifest; the images are imported into the node's containerd.

The image is ``pytest-pods/kind-node:<version>``. Its labels tell the kind provider that it is
offline (no kindnetd: ``disableDefaultCNI``; registries: the stand-in mirror) and which kubeadm
patch names the etcd it carries (kubeadm of 1.37 asks for etcd 3.7.0; the local cluster's is 3.6.16).
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import time
from pathlib import Path

import yaml

from pytest_pods import localcluster
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, Stopwatch
from pytest_pods.core.versions import DEFAULT_KUBERNETES_VERSION
from pytest_pods.kindcluster.base import build_base_image, image_exists
from pytest_pods.kindcluster.cluster import ETCD_LABEL, OFFLINE_LABEL, OWN_NODE_REPO, PATCHES_LABEL
from pytest_pods.kindcluster.tools import docker_command, run, tail

NODE_RECIPE = "1"
KEY_LABEL = "io.pytest-pods.kind-node.key"

POD_SUBNET = "10.244.0.0/24"
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
NODE_BINARIES = ("kubeadm", "kubelet", "kubectl")
TOOLS_PACKAGES = ("iptables", "nftables", "conntrack", "ipset", "kmod", "iproute2")
STORAGE_DIR = "/var/local-path-provisioner"

#: Until kube-proxy has written its rules, a pod's connection to a Service address (CoreDNS's to the
#: API server's, at the service subnet's first address) leaves by the node's default route, where
#: nothing may answer: it hangs for the dial timeout (30 s in client-go), and CoreDNS is Ready only
#: after that. An unreachable route for the service subnet makes such a connection fail at once, so
#: the client retries within a second or two. kube-proxy's DNAT comes before routing, so Services
#: work as before. Run before each start of the kubelet (kind's /kind/kubeadm.conf names the subnet
#: by the time kubeadm starts it).
SERVICE_ROUTE_SCRIPT = """#!/bin/sh
# pytest-pods: an unreachable route for the service subnet (see the kubelet drop-in beside it)
[ -f /kind/kubeadm.conf ] || exit 0
subnets=$(sed -n 's/^ *serviceSubnet: *//p' /kind/kubeadm.conf | head -n 1 | tr -d '"' | tr ',' ' ')
for subnet in $subnets; do
  ip route replace unreachable "$subnet" || true
done
exit 0
"""
SERVICE_ROUTE_DROPIN = """[Service]
# pytest-pods: connections to Service addresses fail at once, not after 30 s, until kube-proxy's rules
ExecStartPre=/kind/bin/pytest-pods-service-route.sh
"""

#: kubeadm's patches in the node (``kubeadm init --patches``, through kind's config; see
#: :data:`~pytest_pods.kindcluster.cluster.PATCHES_LABEL`). CoreDNS's readiness is probed each second
#: instead of each 10 s, so that its endpoint (and a new cluster's DNS) is ready within a second of
#: CoreDNS having synced with the API; 30 failures in a row still make it unready, the 30 s of
#: kubeadm's 3 x 10 s.
KUBEADM_PATCHES_DIR = "/kind/pytest-pods-patches"
COREDNS_PATCH = """spec:
  template:
    spec:
      containers:
      - name: coredns
        readinessProbe:
          periodSeconds: 1
          failureThreshold: 30
"""
#: The controller manager's own client is throttled at 20 requests/s (burst 30) by default; with
#: ``--use-service-account-credentials`` (kubeadm's) each of its ~40 controllers first gets its
#: ServiceAccount and a token, so a new cluster's controllers started about 5 s after it won its
#: lease, and nothing (CoreDNS's pods, the node's not-ready taint) moved until then. A test cluster
#: has no other clients to protect. Measured: a new cluster usable 19.6 s vs 25.9 s (median of 2,
#: same run; see the README's Measured table). An offline node is a single control plane (kind's
#: config is refused otherwise), so its controller manager and scheduler hold no leader lease
#: either: they start at once instead of retrying the lease every 2 s while RBAC bootstraps.
CONTROLLER_MANAGER_FLAGS = ("--leader-elect=false", "--kube-api-qps=200", "--kube-api-burst=400")
SCHEDULER_FLAGS = ("--leader-elect=false",)


def appended_flags_patch(flags: tuple[str, ...]) -> str:
    """A kubeadm ``+json`` patch of a static pod manifest: ``flags`` appended to its command (a
    flag given twice takes its last value)."""
    return yaml.safe_dump(
        [{"op": "add", "path": "/spec/containers/0/command/-", "value": flag} for flag in flags],
        sort_keys=False,
    )


#: The files of :data:`KUBEADM_PATCHES_DIR`, named as kubeadm reads them (``target+patchtype.ext``).
KUBEADM_PATCHES = {
    "corednsdeployment+strategic.yaml": COREDNS_PATCH,
    "kube-controller-manager+json.yaml": appended_flags_patch(CONTROLLER_MANAGER_FLAGS),
    "kube-scheduler+json.yaml": appended_flags_patch(SCHEDULER_FLAGS),
}

CNI_CONFIG = {
    "cniVersion": "1.0.0",
    "name": "pytest-pods-bridge",
    "plugins": [
        {
            "type": "bridge",
            "bridge": "cni0",
            "isGateway": True,
            "ipMasq": False,
            "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": POD_SUBNET}]],
                "routes": [{"dst": "0.0.0.0/0"}],
            },
        },
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ],
}


def node_ref(version: str) -> str:
    return f"{OWN_NODE_REPO}:{version}"


def storage_manifest() -> str:
    """kind's ``/kind/manifests/default-storage.yaml``: the local cluster's own local-path add-on
    (StorageClass ``standard``, the same images), without its CoreDNS (kubeadm deploys that)."""
    settings = localcluster.AddonSettings(net=localcluster.Network(), storage_dir=Path(STORAGE_DIR))
    objects = [
        o
        for o in localcluster.addon_manifests(settings)
        if o["kind"] == "StorageClass" or "local-path" in json.dumps(o["metadata"])
    ]
    return "# pytest-pods offline kind node: local-path-provisioner\n" + yaml.safe_dump_all(objects)


def _docker(*args: str | Path, what: str, timeout: float = 600, stdin: bytes | None = None) -> str:
    done = run([docker_command() or "docker", *args], timeout=timeout, what=what, stdin=stdin)
    if done.returncode != 0:
        raise localcluster.BuildError(
            what, f"`docker {' '.join(str(a) for a in args[:3])} ...` exited {done.returncode}", tail(done)
        )
    return done.stdout


def _tools_image(cache: CachePaths, kube_proxy: Path, base_ref: str, watch: Stopwatch) -> str:
    """Debian with iptables/nftables/conntrack and kube-proxy: kube-proxy's image and local-path's
    helper. Built from the kind base image's own Debian (already here), cached by its inputs."""
    digest = hashlib.sha256(f"tools {NODE_RECIPE} {base_ref} {' '.join(TOOLS_PACKAGES)}\n".encode())
    digest.update(kube_proxy.read_bytes())
    ref = f"pytest-pods.local/kind-node-tools:{digest.hexdigest()[:12]}"
    if image_exists(ref):
        return ref
    what = "the kube-proxy image"
    with watch.step(f"{ref}: debootstrap base + {' '.join(TOOLS_PACKAGES)} + kube-proxy"):
        mirror = localcluster.debian_mirror()
        base_tar = localcluster.build_base(cache, mirror, localcluster.base_key(mirror), watch)
        with localcluster.base_rootfs(base_tar, cache.root / "kind" / "build", "kind-tools-", what) as rootfs:
            with localcluster.networked_chroot(rootfs):
                localcluster.apt_install(rootfs, TOOLS_PACKAGES, what)
                localcluster.chroot(
                    rootfs, ["/bin/sh", "-c", "apt-get clean; rm -rf /var/lib/apt/lists/*"], what
                )
            localcluster.empty_dir(rootfs / "dev")
            target = rootfs / "usr/local/bin/kube-proxy"
            target.write_bytes(kube_proxy.read_bytes())
            target.chmod(0o755)
            packed = rootfs.parent / "rootfs.tar"
            localcluster.pack_rootfs(rootfs, packed, what)
            _docker("import", "--change", 'ENTRYPOINT ["/usr/local/bin/kube-proxy"]', packed, ref, what=what)
    return ref


def build_node_image(
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    *,
    image: str | None = None,
    cache: CachePaths | None = None,
    progress: Progress,
) -> str:
    """Build (or find) the offline node image; returns its reference."""
    cache = cache or CachePaths.default()
    watch = Stopwatch.of(progress)
    version = kubernetes_version
    ref = image or node_ref(version)
    kube_dir = localcluster.kubernetes_binaries(
        version, (*NODE_BINARIES, *CONTROL_PLANE, "kube-proxy"), cache=cache, progress=watch
    )
    etcd = localcluster.etcd_binary(cache=cache, progress=watch)
    coredns = localcluster.coredns_binary(cache=cache, progress=watch)
    local_path = localcluster.local_path_provisioner_binary(cache=cache, progress=watch)
    etcd_version = etcd.parent.name.removeprefix("etcd-")
    coredns_version = coredns.parent.name.removeprefix("coredns-")
    local_path_version = local_path.parent.name.removeprefix("local-path-provisioner-")
    base_ref = build_base_image(cache, watch)
    tools = _tools_image(cache, kube_dir / "kube-proxy", base_ref, watch)

    wanted = [
        *(
            localcluster.BinaryImage(
                f"registry.k8s.io/{c}:{version}", kube_dir / c, path=f"/usr/local/bin/{c}"
            )
            for c in CONTROL_PLANE
        ),
        localcluster.BinaryImage(f"registry.k8s.io/etcd:{etcd_version}", etcd, path="/usr/local/bin/etcd"),
        localcluster.coredns_image(coredns, coredns_version),
        localcluster.local_path_provisioner_image(local_path, local_path_version),
    ]
    layouts = [(img.ref, localcluster.binary_image(img, cache=cache, progress=watch)) for img in wanted]
    mirror = localcluster.debian_mirror()
    stand_ins = {r.name: r for r in localcluster.IMAGE_RECIPES}
    pause = stand_ins["pause"]
    for recipe in (pause, stand_ins["debian"]):
        base = localcluster.base_key(mirror) if recipe.base == "debian" else ""
        key = localcluster.recipe_key(recipe, base)
        layout = localcluster.layout_path(cache, recipe, key)
        if not layout.exists():
            base_tar = localcluster.build_base(cache, mirror, base, watch) if base else None
            localcluster.build_image(cache, recipe, key, base_tar, watch)
        layouts += [(ref, layout) for ref in recipe.refs]

    digest = hashlib.sha256(f"node {NODE_RECIPE} {version} {base_ref} {tools}\n".encode())
    digest.update(f"{SERVICE_ROUTE_SCRIPT}{SERVICE_ROUTE_DROPIN}".encode())
    digest.update(json.dumps(KUBEADM_PATCHES, sort_keys=True).encode())
    for name in NODE_BINARIES:
        digest.update(hashlib.sha256((kube_dir / name).read_bytes()).digest())
    for name, layout in layouts:
        digest.update(f"{name} {localcluster.layout_digest(layout)}\n".encode())
    key = digest.hexdigest()[:16]
    labels = _labels_of(ref)
    if labels is not None and labels.get(KEY_LABEL) == key:
        watch(f"node image {ref} is up to date (key {key})")
        return ref

    what = f"the kind node image {ref}"
    container = f"pytest-pods-node-build-{int(time.time())}"
    work = cache.root / "kind" / "build"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kind-node-", dir=work) as tmp:
        archives = Path(tmp) / "images"
        with watch.step(f"saving {len(layouts) + 1} images as archives"):
            for name, layout in layouts:
                localcluster.save_docker_archive(
                    layout, name, archives / f"{re.sub(r'[^A-Za-z0-9.-]', '_', name)}.tar"
                )
            proxy = f"registry.k8s.io/kube-proxy:{version}"
            _docker("tag", tools, proxy, what=what)
            _docker("save", "-o", archives / "kube-proxy.tar", proxy, tools, what=what)
            _docker("rmi", proxy, what=what)  # the tag was only for the archive
        files = Path(tmp) / "files"
        (files / "kind/manifests").mkdir(parents=True)
        (files / "etc/cni/net.d").mkdir(parents=True)
        (files / "kind/version").write_text(version)
        (files / "kind/manifests/default-storage.yaml").write_text(storage_manifest())
        (files / "etc/cni/net.d/10-pytest-pods-bridge.conflist").write_text(json.dumps(CNI_CONFIG, indent=2))
        (files / "kind/bin").mkdir(parents=True)
        route = files / "kind/bin/pytest-pods-service-route.sh"
        route.write_text(SERVICE_ROUTE_SCRIPT)
        route.chmod(0o755)
        patches = files / KUBEADM_PATCHES_DIR.lstrip("/")
        patches.mkdir(parents=True)
        for name, patch in KUBEADM_PATCHES.items():
            (patches / name).write_text(patch)
        dropins = files / "etc/systemd/system/kubelet.service.d"
        dropins.mkdir(parents=True)
        (dropins / "12-pytest-pods-service-route.conf").write_text(SERVICE_ROUTE_DROPIN)
        _docker(
            "run",
            "-d",
            "--privileged",
            "--name",
            container,
            "--entrypoint",
            "sleep",
            base_ref,
            "infinity",
            what=what,
        )
        try:
            with watch.step(f"{ref}: kubeadm, kubelet, kubectl, CNI config, storage manifest"):
                for name in NODE_BINARIES:
                    _docker("cp", kube_dir / name, f"{container}:/usr/bin/{name}", what=what)
                _docker("cp", f"{files}/.", f"{container}:/", what=what)
                _docker("cp", archives, f"{container}:/kind/images", what=what)
                # our pause; and unprivileged ports, as containerd 2 allows by default: CoreDNS binds
                # port 53 as nonroot, as upstream's image does
                sed = (
                    f's#sandbox_image = .*#sandbox_image = "{pause.refs[0]}"\\n'
                    "  enable_unprivileged_ports = true#"
                )
                _docker("exec", container, "sed", "-i", sed, "/etc/containerd/config.toml", what=what)
            with watch.step(f"{ref}: importing {len(layouts) + 1} image archives into the node's containerd"):
                script = (
                    "set -e; containerd >/tmp/containerd.log 2>&1 & pid=$!; "
                    "for i in $(seq 1 100); do ctr version >/dev/null 2>&1 && break; sleep 0.1; done; "
                    "for f in /kind/images/*.tar; do "
                    "ctr -n k8s.io images import --no-unpack --all-platforms --digests "
                    '"$f" >/dev/null; done; '
                    "ctr -n k8s.io images ls -q; kill $pid; wait; rm -rf /kind/images /tmp/containerd.log"
                )
                listed = _docker("exec", container, "sh", "-c", script, what=what)
                names = sorted(
                    n for n in listed.split() if ":" in n and not n.startswith(("sha256", "import-"))
                )
                watch(f"  in the node: {', '.join(names)}")
            with watch.step(f"docker commit {ref}"):
                _docker(
                    "commit",
                    "--change",
                    'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
                    "--change",
                    f"LABEL {OFFLINE_LABEL}=true",
                    "--change",
                    f"LABEL {KEY_LABEL}={key}",
                    "--change",
                    f"LABEL {ETCD_LABEL}={etcd_version}",
                    "--change",
                    f"LABEL {PATCHES_LABEL}={KUBEADM_PATCHES_DIR}",
                    container,
                    ref,
                    what=what,
                )
        finally:
            run([docker_command() or "docker", "rm", "-f", "-v", container], timeout=120)
    return ref


def _labels_of(ref: str) -> dict[str, str] | None:
    from pytest_pods.kindcluster.cluster import image_labels

    return image_labels(ref)
