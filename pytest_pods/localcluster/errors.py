"""The local cluster's own exception tree (it imports nothing of the plugin).

    LocalClusterError              base: everything this package raises on purpose
    └── ClusterError               the cluster could not be made, reached or torn down
        ├── PreflightError         the machine lacks something (root, a kernel feature, a free port)
        ├── BuildError             building a binary or an image failed
        └── ComponentError         a cluster process failed to start or died (names it, with its log tail)

The ``local`` provider translates each of them into the plugin's class of the same name
(:mod:`pytest_pods.errors`) at one boundary (:func:`pytest_pods.providers.local.local_errors`), keeping
the fields and the message; the two trees share no class. Each exception keeps its structured fields
and builds its message from them.
"""

from __future__ import annotations


class LocalClusterError(Exception):
    """Base of every error the local cluster raises on purpose."""


class ClusterError(LocalClusterError):
    """The cluster could not be made, reached or torn down."""


class PreflightError(ClusterError):
    """The machine lacks something the cluster needs; ``fix`` says how to get it."""

    def __init__(self, missing: str, fix: str) -> None:
        self.missing = missing
        self.fix = fix
        super().__init__(f"{missing}\n  how to fix: {fix}")


class BuildError(ClusterError):
    """Building a binary or image failed; ``log_tail`` holds the end of the build output."""

    def __init__(self, what: str, detail: str, log_tail: str = "") -> None:
        self.what = what
        self.detail = detail
        self.log_tail = log_tail
        msg = f"building {what} failed: {detail}"
        if log_tail:
            msg += "\n--- last lines of the build output ---\n" + log_tail
        super().__init__(msg)


class ComponentError(ClusterError):
    """A cluster component failed to start, or died; names it and shows its log tail."""

    def __init__(self, component: str, detail: str, log_path: str = "", log_tail: str = "") -> None:
        self.component = component
        self.detail = detail
        self.log_path = log_path
        self.log_tail = log_tail
        msg = f"{component}: {detail}"
        if log_path:
            msg += f"\n  log: {log_path}"
        if log_tail:
            msg += f"\n--- last lines of {component}'s log ---\n{log_tail}"
        super().__init__(msg)
