"""The binaries that render manifests: the cached kubectl (its ``kustomize``) and Helm v4, built from
the Go module proxy into the cache (``bin/helm-<version>/helm``) like kind, never downloaded."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from pytest_pods import kindcluster, localcluster
from pytest_pods.core import DEFAULT_KUBERNETES_VERSION, commands
from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, silent
from pytest_pods.errors import PreflightError
from pytest_pods.providers.local import translated

#: The Helm release ``pytest-pods helm install`` builds (and the one CI tests with).
HELM_VERSION = "v4.3.2"
HELM_MODULE = "helm.sh/helm/v4"
#: Where Helm's version is stamped (its Makefile's ``-X`` flag), so ``helm version`` tells the truth.
_HELM_VERSION_VAR = "helm.sh/helm/v4/internal/version.version"
#: How long one rendering may take (kustomize or helm; both are local and fast).
RENDER_TIMEOUT = 120.0
_INSTALL_FIX = "run .ci/install (or `pytest-pods cluster build`, which builds kubectl) once on this machine"


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.name.partition("-")[2]))


def kubectl(cache: CachePaths | None = None) -> Path:
    """The kubectl pytest-pods built (the default Kubernetes version's, else the newest cached), on
    every provider: kustomize is rendered by the same kubectl whether the cluster is local, kind or
    an existing one. :class:`PreflightError` naming ``.ci/install`` when none was built."""
    cache = cache or CachePaths.default()
    preferred = cache.bin_dir("kubernetes", DEFAULT_KUBERNETES_VERSION) / "kubectl"
    if preferred.is_file():
        return preferred
    built = sorted(
        (p for p in (cache.root / "bin").glob("kubernetes-v*/kubectl") if p.is_file()), key=_version_key
    )
    if built:
        return built[-1]
    raise PreflightError(
        f"no kubectl is built in {cache.root / 'bin'} (kustomize is rendered by the kubectl "
        f"pytest-pods builds, `kubectl kustomize`): {_INSTALL_FIX}",
        missing="kubectl",
        fix=_INSTALL_FIX,
    )


def cached_helm(cache: CachePaths, version: str = HELM_VERSION) -> Path:
    return cache.bin_dir("helm", version) / "helm"


HELM_MISSING_FIX = (
    f"install Go 1.24+ (pytest-pods then builds Helm {HELM_VERSION} from the Go module proxy on first "
    "use), or build it ahead with `pytest-pods helm install` (`bash .ci/install` does)"
)


def helm(cache: CachePaths | None = None, progress: Progress = silent) -> Path:
    """The cached Helm build. Built on first use (about 2 minutes on 2 cores, with ``progress``) when
    the go command is there, as ``pytest-pods helm install`` builds it; :class:`PreflightError`
    saying how to get it when Go is missing too."""
    cache = cache or CachePaths.default()
    found = cached_helm(cache)
    if found.is_file():
        return found
    if shutil.which("go") is not None:
        progress(
            f"Helm {HELM_VERSION} is not built yet: building it once, from the Go module proxy, into "
            f"{found.parent} (about 2 minutes on 2 cores; `pytest-pods helm install` builds it ahead)"
        )
        try:
            return install_helm(cache, progress)
        except localcluster.LocalClusterError as exc:  # the builder's own error, at this boundary
            raise translated(exc) from exc
    raise PreflightError(
        f"Helm {HELM_VERSION} is not built at {found}, and there is no go command to build it: "
        f"{HELM_MISSING_FIX}",
        missing="helm",
        fix=HELM_MISSING_FIX,
    )


def install_helm(cache: CachePaths, progress: Progress, version: str = HELM_VERSION) -> Path:
    """Build ``helm.sh/helm/v4/cmd/helm@version`` with ``go install`` through the Go module proxy only
    (the same Go caches as the cluster's build, kind's way), with progress; at once when built."""
    flags = f"-s -w -X {_HELM_VERSION_VAR}={version}"
    return kindcluster.go_install(
        cache, progress, "helm", f"{HELM_MODULE}/cmd/helm@{version}", version, flags
    )


def run(
    argv: list[str | Path], *, what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a renderer; :class:`PreflightError` when it cannot start, and a time-out says so."""
    try:
        return commands.run(argv, timeout=RENDER_TIMEOUT, cwd=cwd, env=env)
    except commands.CommandNotFound as exc:
        raise PreflightError(
            f"{what}: {exc.argv[0]} cannot be run", missing=exc.argv[0], fix=_INSTALL_FIX
        ) from exc
    except commands.CommandTimedOut as exc:
        raise PreflightError(
            f"{what}: no answer within {exc.timeout:g}s", missing=exc.argv[0], fix="see what it waits for"
        ) from exc
