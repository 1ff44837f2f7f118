"""Cluster providers: one module each behind the :class:`~pytest_pods.providers.base.Provider` Protocol,
and the one registry of them.

The :class:`Registry` is the single source of the provider names: ``--pods-provider`` accepts its
names (plus ``auto``), ``auto`` tries its auto providers in order, and a plugin adds a provider with
the one hook ``pytest_pods_providers() -> dict[str, factory]``, whose answers are registered here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pytest_pods.errors import ProviderError
from pytest_pods.providers.base import ClusterInfo, Provider
from pytest_pods.providers.existing import ExistingProvider
from pytest_pods.providers.kind import KindProvider
from pytest_pods.providers.local import LocalProvider
from pytest_pods.settings import Settings

#: Makes a provider from the session's settings (a provider class is one).
ProviderFactory = Callable[[Settings], Provider]

AUTO = "auto"
BUILTIN: dict[str, ProviderFactory] = {
    "existing": ExistingProvider,
    "kind": KindProvider,
    "local": LocalProvider,
}
#: What ``auto`` tries, in order: the first that can work here wins.
AUTO_ORDER = ("kind", "local")
EXISTING_HINT = "existing: point --pods-provider=existing --pods-kubeconfig PATH at a cluster you have"

__all__ = [
    "AUTO",
    "BUILTIN",
    "ClusterInfo",
    "Provider",
    "ProviderFactory",
    "Registry",
    "builtin_registry",
    "installed_registry",
]


class Registry:
    """Provider names and factories: the built-in ones and those plugins add."""

    def __init__(
        self, factories: Mapping[str, ProviderFactory], auto_order: Iterable[str] = AUTO_ORDER
    ) -> None:
        if AUTO in factories:
            raise ValueError(f"{AUTO!r} is not a provider name: it means choose one")
        self._factories = dict(factories)
        self.auto_order = tuple(n for n in auto_order if n in self._factories)

    def names(self) -> list[str]:
        """Every valid ``--pods-provider`` value, ``auto`` included, sorted."""
        return sorted({AUTO, *self._factories})

    def providers(self) -> list[str]:
        """The providers' names (``auto`` is none), sorted."""
        return sorted(self._factories)

    def make(self, name: str, settings: Settings) -> Provider:
        factory = self._factories.get(name)
        if factory is None:
            raise ProviderError(f"no plugin makes provider {name!r}; valid: {', '.join(self.names())}")
        return factory(settings)

    def choose_auto(self, settings: Settings) -> tuple[str, str]:
        """``(name, why)`` of the first auto provider that can work here (probing the machine: kind
        asks ``docker info``), else :class:`ProviderError` saying what each one lacks."""
        problems: list[str] = []
        for name in self.auto_order:
            problem = self.make(name, settings).unavailable()
            if problem is None:
                why = "auto: " + "; ".join([*problems, f"{name} can work here"])
                return name, why
            problems.append(f"{name} cannot ({problem.splitlines()[0].split(': ')[0]})")
        lines = [f"  {p}" for p in problems]
        raise ProviderError(
            "--pods-provider=auto: no cluster provider can work on this machine:\n"
            + "\n".join([*lines, f"  {EXISTING_HINT}"])
        )

    def describe_auto(self) -> str:
        """What ``auto`` will do, without probing."""
        return (
            f"the first of {', '.join(self.auto_order)} that can work here, decided at the first pods fixture"
        )


def installed_registry() -> Registry:
    """The registry outside pytest (the ``pytest-pods`` command): the built-in providers, plus those
    of the installed pytest plugins (entry point group ``pytest11``) that implement
    ``pytest_pods_providers``. A conftest.py's providers exist only inside a pytest session."""
    from importlib.metadata import entry_points

    extra: list[Mapping[str, ProviderFactory]] = []
    for entry in entry_points(group="pytest11"):
        if entry.module.split(".")[0] == "pytest_pods":
            continue  # this plugin: its providers are the built-in ones
        try:
            module = entry.load()
        except ImportError:  # a broken plugin does not stop `cluster down`; pytest will name it
            continue
        hook = getattr(module, "pytest_pods_providers", None)
        if callable(hook):
            extra.append(hook())
    return builtin_registry(extra)


def builtin_registry(extra: Iterable[Mapping[str, ProviderFactory]] = ()) -> Registry:
    """The built-in providers, plus those plugins add (a plugin's name wins over a built-in's)."""
    factories = dict(BUILTIN)
    for added in extra:
        factories.update(added)
    return Registry(factories)
