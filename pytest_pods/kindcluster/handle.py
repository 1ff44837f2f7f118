"""pytest-kind's cluster handle, offline and without side effects.

pytest-kind's ``KindCluster`` is the handle pytest users of kind already know: ``kubectl(...)``,
``load_docker_image(...)``, ``port_forward(...)``, ``delete()``. Two of its habits do not fit an offline
run: its constructor writes ``.pytest-kind/<name>/`` into the working directory, and ``ensure_kind`` /
``ensure_kubectl`` download kind and kubectl from the internet when they are missing. This subclass keeps
the handle and drops both: its files live in our cache, and a missing binary is an error that says how
to get it. Creating the cluster stays with :class:`pytest_pods.kindcluster.cluster.KindCluster`, which
streams kind's output as progress and diagnoses a failed create.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

from pytest_kind import KindCluster as PytestKindCluster

from pytest_pods.kindcluster.errors import KindError


class OfflineKindHandle(PytestKindCluster):  # type: ignore[misc]  # pytest-kind ships no types
    """A pytest-kind ``KindCluster`` whose files are ours and which never downloads."""

    def __init__(
        self,
        name: str,
        *,
        kubeconfig: Path,
        kind_path: Path,
        kubectl_path: Path,
        image: str | None = None,
        missing: Callable[[str], Exception] = KindError,
    ) -> None:
        # Not pytest-kind's __init__: it would make .pytest-kind/<name> in the working directory.
        # These are the attributes it sets, pointed at our cache.
        self.name = name
        self.image = image
        self.path = kubeconfig.parent
        self.kubeconfig_path = kubeconfig
        self.kind_path = kind_path
        self.kubectl_path = kubectl_path
        self.platform = platform.system().lower()
        self.missing = missing

    def ensure_kind(self) -> None:
        if not self.kind_path.is_file():
            raise self.missing(
                f"kind is not at {self.kind_path}, and pytest-pods never downloads it: "
                "build it with `pytest-pods kind install` or pass --pods-kind-binary PATH"
            )

    def ensure_kubectl(self) -> None:
        if not self.kubectl_path.is_file():
            raise self.missing(
                f"kubectl is not at {self.kubectl_path}, and pytest-pods never downloads it: "
                "`pytest-pods cluster build` builds it, or put kubectl on PATH"
            )

    def kubectl(self, *args: str, **kwargs: object) -> str:
        self.ensure_kubectl()
        return str(super().kubectl(*args, **kwargs))
