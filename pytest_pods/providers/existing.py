"""The ``existing`` provider: a cluster the user names by kubeconfig (and context).

It never falls back to ``$KUBECONFIG`` or ``~/.kube/config``; with a kubeconfig of several contexts,
or the user's default kubeconfig, the context must be named (``current`` means its current-context).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from pytest_pods.core.progress import Progress
from pytest_pods.errors import ApiError, ClusterError, ConfigError, ProviderError
from pytest_pods.kube import Kube
from pytest_pods.providers.base import ClusterInfo, ProviderStatus
from pytest_pods.settings import CURRENT_CONTEXT, Settings


def default_kubeconfigs() -> list[Path]:
    """The files kubectl would read without being told: ``$KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG")
    paths = [Path(p) for p in env.split(os.pathsep) if p] if env else [Path.home() / ".kube" / "config"]
    return [p.expanduser().resolve() for p in paths]


def choose_context(kubeconfig: Path, requested: str | None) -> str:
    """The context to use, by the rules above; a wrong or missing choice is a :class:`ConfigError`
    that lists the contexts in the file."""
    try:
        data = yaml.safe_load(kubeconfig.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"--pods-kubeconfig {kubeconfig}: cannot read it: {exc}") from exc
    names = [str(c.get("name")) for c in data.get("contexts") or [] if isinstance(c, dict)]
    current = data.get("current-context") or None
    listed = ", ".join(names) or "(none)"
    if requested == CURRENT_CONTEXT:
        if not current:
            raise ConfigError(
                f"--pods-context=current, but {kubeconfig} has no current-context; valid: {listed}"
            )
        return str(current)
    if requested is not None:
        if requested not in names:
            raise ConfigError(
                f"--pods-context: {requested!r} is not a context of {kubeconfig}; "
                f"valid: {listed}, or 'current'"
            )
        return requested
    if kubeconfig.resolve() in default_kubeconfigs():
        raise ConfigError(
            f"{kubeconfig} is your default kubeconfig: name the context to test against with "
            f"--pods-context NAME (valid: {listed}) or --pods-context=current"
        )
    if len(names) == 1:
        return names[0]
    raise ConfigError(
        f"{kubeconfig} has {len(names)} contexts: name one with --pods-context; valid: {listed}"
    )


class ExistingProvider:
    """A cluster that already runs; pytest-pods neither starts nor stops it."""

    name = "existing"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def unavailable(self) -> str | None:
        if self.settings.kubeconfig is None:
            return (
                "the existing provider needs --pods-kubeconfig PATH (or the pods_kubeconfig ini key); it "
                "never falls back to $KUBECONFIG or ~/.kube/config"
            )
        return None

    def describe(self) -> str:
        if self.settings.kubeconfig is None:
            return "(no --pods-kubeconfig given)"
        kubeconfig = self.settings.kubeconfig
        context = choose_context(kubeconfig, self.settings.context)
        kube = Kube.from_kubeconfig(kubeconfig, context)
        try:
            return f"kubeconfig {kubeconfig}, context {context} at {kube.server}"
        finally:
            kube.close()

    def start(self, progress: Progress) -> ClusterInfo:
        problem = self.unavailable()
        if problem or self.settings.kubeconfig is None:
            raise ConfigError(str(problem))
        kubeconfig = self.settings.kubeconfig
        context = choose_context(kubeconfig, self.settings.context)
        kube = Kube.from_kubeconfig(kubeconfig, context)
        server = kube.server
        progress(f"connecting to {server} (context {context})")
        try:
            version = kube.server_version()
        except ApiError as exc:
            raise ClusterError(
                f"cannot reach the cluster of context {context!r} at {server}: {exc}; is it running? "
                f"Check --pods-kubeconfig ({kubeconfig}) and --pods-context"
            ) from exc
        finally:
            kube.close()
        return ClusterInfo(
            self.name, kubeconfig, context, version, f"context {context!r} at {server}", reused=True
        )

    def stop(self, progress: Progress) -> None:
        """Nothing: the cluster is not ours."""
        progress("the existing provider stops nothing: the cluster is not pytest-pods'")

    def status(self) -> ProviderStatus:
        """Whether the named cluster's API server answers (it is never started or changed here)."""
        problem = self.unavailable()
        if problem or self.settings.kubeconfig is None:
            return ProviderStatus("existing cluster: not configured", False, [f"problem: {problem}"])
        try:
            info = self.start(lambda message: None)
        except (ClusterError, ConfigError) as exc:
            return ProviderStatus("existing cluster: NOT healthy", False, [f"problem: {exc}"])
        return ProviderStatus(
            f"existing cluster: answers ({info.description}, Kubernetes {info.kubernetes_version})", True
        )

    def load_images(self, archives: Sequence[Path], progress: Progress) -> None:
        if archives:
            raise ProviderError(
                "the existing provider cannot load image archives: push the images to a registry the "
                "cluster pulls from, or drop --pods-preload-image"
            )
