"""Settings in layers: a ``--pods-...`` option, then an ini key, then the ``pods_defaults`` fixture,
then the built-in default. The command line wins. A bad value is a :class:`ConfigError` naming
where it came from and the valid values (the plugin reports it as ``pytest.UsageError``). Nothing
here imports pytest: ``add_options`` and ``from_config`` only take its objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_pods.errors import ConfigError
from pytest_pods.waits import READY_STABLE

if TYPE_CHECKING:
    import pytest

KEEP_NAMESPACE = ("always", "never", "on-failure")
YES_NO = ("no", "yes")
CURRENT_CONTEXT = "current"


@dataclass(frozen=True)
class Settings:
    """What is in force for a session (see each option's help for the meaning)."""

    provider: str = "auto"
    kubeconfig: Path | None = None
    context: str | None = None
    kubernetes_version: str | None = None
    keep_cluster: bool = True
    keep_namespace: str = "never"
    #: Seconds a kept namespace lives before gc may delete it (``--pods-keep-for``).
    keep_for: float = 24 * 3600.0
    timeout: float = 120.0
    ready_stable: float = READY_STABLE
    preload_images: tuple[Path, ...] = ()
    kind_binary: Path | None = None
    kind_image: str | None = None
    kind_config: Path | None = None


@dataclass(frozen=True)
class Option:
    """One setting: its field, command-line flag, ini key and help."""

    field: str
    flag: str
    ini: str
    help: str
    metavar: str
    choices: tuple[str, ...] = ()
    repeat: bool = False

    @property
    def dest(self) -> str:
        return "pods_" + self.field


OPTIONS = (
    Option(
        "provider",
        "--pods-provider",
        "pods_provider",
        "where the cluster comes from: auto (kind where Docker answers, else local), local (Docker-free), "
        "kind, existing (needs --pods-kubeconfig), or a provider added by a plugin [auto]",
        "NAME",
    ),
    Option(
        "kubeconfig",
        "--pods-kubeconfig",
        "pods_kubeconfig",
        "kubeconfig of the cluster to use (required by, and only read by, the existing provider)",
        "PATH",
    ),
    Option(
        "context",
        "--pods-context",
        "pods_context",
        "context in that kubeconfig; 'current' means its current-context (needed when the file has "
        "several contexts, or is your default kubeconfig)",
        "NAME",
    ),
    Option(
        "kubernetes_version",
        "--pods-kubernetes-version",
        "pods_kubernetes_version",
        "Kubernetes version of a cluster the provider makes, e.g. v1.34.4 [the provider's default]",
        "VERSION",
    ),
    Option(
        "keep_cluster",
        "--pods-keep-cluster",
        "pods_keep_cluster",
        "yes: leave the cluster running for the next run to reuse; no: stop a cluster this run started "
        "(a cluster that was already running is always reused and never stopped) [yes]",
        "yes|no",
        YES_NO,
    ),
    Option(
        "keep_namespace",
        "--pods-keep-namespace",
        "pods_keep_namespace",
        "keep each test's namespace: never, on-failure or always [never]",
        "WHEN",
        KEEP_NAMESPACE,
    ),
    Option(
        "keep_for",
        "--pods-keep-for",
        "pods_keep_for",
        "how long a kept namespace lives: after that, `pytest-pods gc` (or any session's start, from any "
        "host) deletes it, e.g. 30m, 8h, 2d, 1h30m, or seconds [24h]",
        "DURATION",
    ),
    Option(
        "timeout",
        "--pods-timeout",
        "pods_timeout",
        "default timeout in seconds for waits and exec [120]",
        "SECONDS",
    ),
    Option(
        "ready_stable",
        "--pods-ready-stable",
        "pods_ready_stable",
        "seconds each container must be seen alive after it is first reported running before a "
        "wait succeeds: one that terminates or restarts in that window fails the wait with its "
        f"reason; 0 turns it off [{READY_STABLE}]",
        "SECONDS",
    ),
    Option(
        "preload_images",
        "--pods-preload-image",
        "pods_preload_images",
        "image archive (docker-archive or OCI tar) to load into the cluster before the tests; repeatable",
        "PATH",
        repeat=True,
    ),
    Option(
        "kind_binary",
        "--pods-kind-binary",
        "pods_kind_binary",
        "kind binary for the kind provider [the cached `pytest-pods kind install` build, else kind on PATH]",
        "PATH",
    ),
    Option(
        "kind_image",
        "--pods-kind-image",
        "pods_kind_image",
        "node image for the kind provider, e.g. pytest-pods/kind-node:v1.37.2 from `pytest-pods kind "
        "build-node-image` (offline) [kindest/node:<--pods-kubernetes-version>, else kind's default]",
        "IMAGE",
    ),
    Option(
        "kind_config",
        "--pods-kind-config",
        "pods_kind_config",
        "kind cluster config file passed to `kind create cluster` (extra nodes, feature gates, port "
        "mappings, kubeadm and containerd patches)",
        "PATH",
    ),
)
OPTION_BY_FIELD = {o.field: o for o in OPTIONS}


def add_options(parser: pytest.Parser) -> None:
    """Register every ``--pods-...`` option and ini key."""
    group = parser.getgroup("pods", "Kubernetes pods (pytest-pods)")
    for o in OPTIONS:
        if o.repeat:
            group.addoption(
                o.flag, dest=o.dest, action="append", default=None, metavar=o.metavar, help=o.help
            )
            parser.addini(o.ini, o.help, type="linelist", default=[])
        else:
            group.addoption(o.flag, dest=o.dest, default=None, metavar=o.metavar, help=o.help)
            parser.addini(o.ini, o.help, default=None)


def _usage(where: str, value: object, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {value!r} {problem}")


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _seconds(value: Any) -> float:
    """``value`` as a number of seconds; NaN (which fails every bound) when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """``"1h30m"``, ``"2d"``, ``"45s"`` or a number of seconds, in seconds; NaN if it is none of these."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    if not text or _DURATION.sub("", text):
        return math.nan
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))


def _parse_one(o: Option, value: Any, where: str, base: Path, providers: Sequence[str]) -> Any:
    if o.field == "provider":
        if value not in providers:
            raise _usage(where, value, f"is not a provider; valid: {', '.join(sorted(providers))}")
        return str(value)
    if o.choices:
        text = str(value).lower() if isinstance(value, str) else value
        if isinstance(value, bool) and o.choices == YES_NO:
            text = "yes" if value else "no"
        if text not in o.choices:
            raise _usage(where, value, f"is not valid; valid: {', '.join(o.choices)}")
        return text == "yes" if o.choices == YES_NO else text
    if o.field == "timeout":
        seconds = _seconds(value)
        if not seconds > 0:
            raise _usage(where, value, "is not valid; valid: a number of seconds greater than 0, e.g. 120")
        return seconds
    if o.field == "keep_for":
        seconds = value if isinstance(value, int | float) else duration(str(value))
        if not seconds > 0:
            raise _usage(
                where, value, "is not valid; valid: a duration greater than 0, e.g. 30m, 8h, 2d or 3600"
            )
        return float(seconds)
    if o.field == "ready_stable":
        seconds = _seconds(value)
        if not seconds >= 0:
            raise _usage(where, value, "is not valid; valid: a number of seconds, 0 or more, e.g. 2")
        return seconds
    if o.field == "kubernetes_version":
        text = str(value)
        if not re.fullmatch(r"v?1\.\d{1,2}(\.\d{1,3})?", text):
            raise _usage(where, value, "is not valid; valid: a version like v1.34.4 or 1.34")
        return text if text.startswith("v") else "v" + text
    if o.field == "preload_images":
        items = [value] if isinstance(value, (str, Path)) else list(value)
        paths = tuple(_path(v, base) for v in items)
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise _usage(where, ", ".join(missing), "is not a file; valid: paths of image archives (.tar)")
        return paths
    if o.field in ("kubeconfig", "kind_binary", "kind_config"):
        path = _path(value, base)
        if not path.is_file():
            raise _usage(where, str(path), "does not exist; valid: the path of an existing file")
        return path
    return str(value)


def resolve(
    cli: Mapping[str, Any],
    ini: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
    *,
    cli_base: Path,
    ini_base: Path,
    providers: Sequence[str],
) -> Settings:
    """Merge the layers (command line > ini > ``defaults`` > built-in) and validate each value."""
    defaults = dict(defaults or {})
    unknown = sorted(set(defaults) - set(OPTION_BY_FIELD))
    if unknown:
        raise ConfigError(
            f"pods_defaults fixture: unknown key(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(OPTION_BY_FIELD))}"
        )
    values: dict[str, Any] = {}
    for o in OPTIONS:
        for layer, where, base in (
            (cli, o.flag, cli_base),
            (ini, f"ini {o.ini}", ini_base),
            (defaults, f"pods_defaults[{o.field!r}]", cli_base),
        ):
            value = layer.get(o.field)
            if value is None or value == "" or value == []:
                continue
            values[o.field] = _parse_one(o, value, where, base, providers)
            break
    return Settings(**values)


def from_config(
    config: pytest.Config,
    defaults: Mapping[str, Any] | None,
    providers: Sequence[str],
) -> Settings:
    """The settings of a pytest run: its options, its ini file, and ``defaults`` (the fixture layer)."""
    cli = {o.field: config.getoption(o.dest) for o in OPTIONS}
    ini = {o.field: config.getini(o.ini) for o in OPTIONS}
    return resolve(
        cli,
        ini,
        defaults,
        cli_base=config.invocation_params.dir,
        ini_base=config.inipath.parent if config.inipath else config.rootpath,
        providers=providers,
    )


def describe(settings: Settings) -> list[str]:
    """``name=value`` for each setting that is not at its default, for the report header."""
    base = Settings()
    shown = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if value != getattr(base, f.name) and f.name not in ("provider", "kubeconfig", "context"):
            shown.append(f"{f.name}={_show(value)}")
    return shown


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
