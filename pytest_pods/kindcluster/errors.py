"""The kind lifecycle's own exception tree (it imports nothing of the plugin).

    KindError                      base: the kind cluster cannot be made, reached, used or deleted here
    └── KindBuildError             building kind, the kind base image or an offline node image failed

Builds that run through the local cluster's build (kind's Go build, the node image's Kubernetes
binaries and images) raise the local cluster's own errors (:mod:`pytest_pods.localcluster`). The
``kind`` provider translates both into the plugin's tree at one boundary
(:func:`pytest_pods.providers.kind.kind_errors`): ``KindError`` becomes ``ProviderError``,
``KindBuildError`` ``BuildError``. Each message says what is wrong and how to fix it.
"""

from __future__ import annotations


class KindError(Exception):
    """The kind cluster cannot be made, reached, used or deleted here; the message says why and the fix."""


class KindBuildError(KindError):
    """Building kind or an image for it failed; ``log_tail`` holds the end of the build's output."""

    def __init__(self, what: str, detail: str, log_tail: str = "") -> None:
        self.what = what
        self.detail = detail
        self.log_tail = log_tail
        tail = f"\n--- last lines of the build output ---\n{log_tail}" if log_tail else ""
        super().__init__(f"building {what} failed: {detail}{tail}")
