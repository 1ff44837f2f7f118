"""errors.py: one documented tree; the cluster builders' own errors, translated at the providers'
boundaries into it with the same class name, fields and message."""

from __future__ import annotations

import pytest

from pytest_pods import errors, kindcluster, localcluster
from pytest_pods.providers.kind import kind_errors
from pytest_pods.providers.local import local_errors


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (localcluster.PreflightError("no root", "run as root"), errors.PreflightError),
        (localcluster.BuildError("etcd", "go build failed", "tail"), errors.BuildError),
        (localcluster.BuildError("etcd", "go build failed"), errors.BuildError),
        (
            localcluster.ComponentError("etcd", "exited 1", "/var/log/etcd.log", "panic"),
            errors.ComponentError,
        ),
        (localcluster.ComponentError("etcd", "exited 1"), errors.ComponentError),
        (localcluster.ClusterError("cannot stop"), errors.ClusterError),
    ],
)
def test_local_errors_become_the_plugins_keeping_fields_and_message(
    raised: localcluster.LocalClusterError, expected: type[errors.ClusterError]
) -> None:
    for boundary in (local_errors, kind_errors):  # kind's builds run through the local cluster's
        with pytest.raises(expected) as info, boundary():
            raise raised
        translated = info.value
        assert type(translated) is expected
        assert type(translated).__name__ == type(raised).__name__
        assert not isinstance(translated, localcluster.LocalClusterError)
        assert str(translated) == str(raised)
        assert vars(translated) == vars(raised)
        assert translated.__cause__ is raised


def test_kind_errors_become_provider_errors_keeping_the_message() -> None:
    raised = kindcluster.KindError("kind is not installed: build it with `pytest-pods kind install`")
    with pytest.raises(errors.ProviderError) as info, kind_errors():
        raise raised
    assert str(info.value) == str(raised)
    assert info.value.__cause__ is raised


def test_plugin_errors_pass_the_boundaries_untouched() -> None:
    original = errors.BuildError("building kind failed: no go", what="kind", detail="no go")
    for boundary in (local_errors, kind_errors):
        with pytest.raises(errors.BuildError) as info, boundary():
            raise original
        assert info.value is original


def test_the_builders_errors_are_not_the_plugins() -> None:
    """No diamond: a builder's error is the plugin's only after its provider's boundary."""
    plugin = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.PodsError)]
    builders = [
        localcluster.LocalClusterError,
        localcluster.ClusterError,
        localcluster.PreflightError,
        localcluster.BuildError,
        localcluster.ComponentError,
        kindcluster.KindError,
    ]
    assert len(plugin) > 15
    for builder in builders:
        for ours in plugin:
            assert not issubclass(builder, ours), (builder, ours)
            assert not issubclass(ours, builder), (ours, builder)
