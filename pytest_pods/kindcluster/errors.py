"""The kind lifecycle's own error (it imports nothing of the plugin).

    KindError      the kind cluster cannot be made, reached, used or deleted here (Docker, kind, the
                   node image, the config, the API server); the message says why and how to fix it

Builds that run through the local cluster's build (kind's Go build, the node image's Kubernetes
binaries and images, kind's base and node images) raise the local cluster's ``BuildError`` and its
kin (:mod:`pytest_pods.localcluster`). The ``kind`` provider translates both into the plugin's tree at
one boundary (:func:`pytest_pods.providers.kind.kind_errors`): ``KindError`` becomes
``ProviderError`` with the same message, the local cluster's errors their plugin namesakes.
"""

from __future__ import annotations


class KindError(Exception):
    """The kind cluster cannot be made, reached, used or deleted here; the message says why and the fix."""
