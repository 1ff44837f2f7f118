"""The markers' signatures, as plain functions: called with a marker's arguments, so that Python
itself reports a wrong one (as pytest-django's ``validate_django_db``)."""

from __future__ import annotations

from pytest_pods.manifests import ManifestSource


def validate_pods_manifest(
    *manifests: ManifestSource, wait: bool = True, timeout: float | None = None
) -> tuple[tuple[ManifestSource, ...], bool, float | None]:
    """The signature of ``@pytest.mark.pods_manifest(*manifests, wait=True, timeout=None)``: called
    with the marker's arguments, so Python itself reports a wrong one."""
    if not manifests:
        raise TypeError("pods_manifest() needs at least one manifest: a path, YAML text or a dict")
    if not isinstance(wait, bool):
        raise TypeError(f"pods_manifest(wait=...) must be True or False, not {wait!r}")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise TypeError(f"pods_manifest(timeout=...) must be a number of seconds > 0, not {timeout!r}")
    return manifests, wait, timeout
