"""The markers' signatures, as plain functions: called with a marker's arguments, so that Python
itself reports a wrong one (as pytest-django's ``validate_django_db``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from pytest_pods.manifests import ManifestSource
from pytest_pods.render.helm import Chart

# pytest's fixture scopes, narrowest first: the scope of a namespace is the narrowest of its markers'.
SCOPES = ("function", "class", "module", "package", "session")


class ManifestMarker(NamedTuple):
    """One ``pods_manifest`` marker, checked."""

    manifests: tuple[ManifestSource, ...]
    wait: bool = True
    timeout: float | None = None
    scope: str = "function"


def validate_pods_manifest(
    *manifests: ManifestSource, wait: bool = True, timeout: float | None = None, scope: str = "function"
) -> ManifestMarker:
    """The signature of ``@pytest.mark.pods_manifest(*manifests, wait=True, timeout=None,
    scope="function")``: called with the marker's arguments, so Python itself reports a wrong one."""
    if not manifests:
        raise TypeError("pods_manifest() needs at least one manifest: a path, YAML text or a dict")
    if not isinstance(wait, bool):
        raise TypeError(f"pods_manifest(wait=...) must be True or False, not {wait!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise TypeError(f"pods_manifest(timeout=...) must be a number of seconds > 0, not {timeout!r}")
    if scope not in SCOPES:
        raise TypeError(f"pods_manifest(scope=...) must be one of {', '.join(SCOPES)}, not {scope!r}")
    return ManifestMarker(manifests, wait, timeout, scope)


def validate_pods_chart(
    chart: str | os.PathLike[str],
    *,
    release: str | None = None,
    values: Mapping[str, Any] | None = None,
    values_files: Sequence[str | os.PathLike[str]] = (),
    set: Mapping[str, Any] | None = None,
    wait: bool = True,
    timeout: float | None = None,
    scope: str = "function",
) -> ManifestMarker:
    """The signature of ``@pytest.mark.pods_chart(chart, release=None, values=None, values_files=(),
    set=None, wait=True, timeout=None, scope="function")``: the chart rendered for the test's
    namespace and applied as a manifest (see :meth:`pytest_pods.Namespace.apply_chart`)."""
    if not isinstance(chart, (str, os.PathLike)):
        raise TypeError(f"pods_chart(chart) is a chart directory or .tgz path, not {chart!r}")
    if release is not None and not isinstance(release, str):
        raise TypeError(f"pods_chart(release=...) must be a string, not {release!r}")
    for name, given in (("values", values), ("set", set)):
        if given is not None and not isinstance(given, Mapping):
            raise TypeError(f"pods_chart({name}=...) must be a mapping, not {given!r}")
    if isinstance(values_files, (str, os.PathLike)):
        values_files = (values_files,)
    marker = validate_pods_manifest(
        Chart(chart, release, values, tuple(values_files), set), wait=wait, timeout=timeout, scope=scope
    )
    return marker


def narrowest_scope(markers: list[ManifestMarker]) -> str:
    """The scope a test's namespace can be shared at: the narrowest of its markers' (``function``
    without markers). A test that adds a per-test manifest to a module's gets a namespace of its own,
    with every manifest applied, so that nothing it applies leaks into the module's namespace."""
    return min((m.scope for m in markers), key=SCOPES.index, default="function")
