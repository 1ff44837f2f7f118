"""The markers' signatures, as plain functions: called with a marker's arguments, so that Python
itself reports a wrong one (as pytest-django's ``validate_django_db``)."""

from __future__ import annotations

from typing import NamedTuple

from pytest_pods.manifests import ManifestSource

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


def narrowest_scope(markers: list[ManifestMarker]) -> str:
    """The scope a test's namespace can be shared at: the narrowest of its markers' (``function``
    without markers). A test that adds a per-test manifest to a module's gets a namespace of its own,
    with every manifest applied, so that nothing it applies leaks into the module's namespace."""
    return min((m.scope for m in markers), key=SCOPES.index, default="function")
