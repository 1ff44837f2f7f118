"""A Helm chart as a manifest: a chart directory or ``.tgz`` (:class:`Chart`), checked offline (a
remote reference, a dependency that is not vendored under ``charts/``), rendered by ``helm template``
of the Helm v4 pytest-pods builds, with the test's namespace and the cluster's version and API
versions (:func:`render`); Helm's refusals become :class:`~pytest_pods.errors.ChartError` naming the
file Helm names (:func:`chart_error`). Pure of pytest and of the cluster: the caller hands in the
namespace and the cluster's capabilities."""

from __future__ import annotations

import json
import os
import re
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_pods.core.paths import CachePaths
from pytest_pods.core.progress import Progress, silent
from pytest_pods.errors import ChartError
from pytest_pods.render import tools

#: A chart reference that only a network can resolve: a URL, an OCI reference, or ``repo/name``.
_REMOTE_REF = re.compile(r"^(?:oci|https?)://|^[\w.-]+/[\w.-]+$")
#: The annotation that makes a template a hook, and the hook that ``helm test`` runs.
HOOK = "helm.sh/hook"
TEST_HOOKS = ("test", "test-success")
#: A file of the chart that Helm names in an error, and its line: ``template: c/templates/x.yaml:7:20:``,
#: ``parse error at (c/templates/x.yaml:3)``, ``execution error at (...)``, ``YAML parse error on ...``.
_NAMED = re.compile(
    r"(?:template: |parse error at \(|execution error at \(|YAML parse error on )"
    r"([\w.-]+/[^\s:()]+?)(?::(\d+))?[:)\s]"
)
#: ``# Source: chart/templates/x.yaml``, the first line Helm writes before each rendered document.
_SOURCE = re.compile(r"^# Source: (.+)$", re.M)


@dataclass(frozen=True)
class Chart:
    """A chart to render: what ``@pytest.mark.pods_chart`` and :meth:`Namespace.apply_chart` take.
    ``chart`` is a chart directory or a packaged ``.tgz`` (a relative path from the test's
    directory); ``release`` defaults to the chart's name; ``values`` is a mapping given as a values
    file, ``values_files`` more of them (relative to the test's directory), ``set`` single values
    (``--set-json``: the types are kept)."""

    chart: str | os.PathLike[str]
    release: str | None = None
    values: Mapping[str, Any] | None = None
    values_files: tuple[str | os.PathLike[str], ...] = ()
    set: Mapping[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class ChartTest:
    """The outcome of one ``helm test`` pod (:meth:`Namespace.chart_tests`): its ``name``, whether it
    ``passed`` (phase Succeeded), its ``phase`` and its ``log``."""

    name: str
    passed: bool
    phase: str
    log: str


@dataclass(frozen=True)
class Rendered:
    """What ``helm template`` made of a chart: its ``release`` name, the chart's ``path``, each
    document as (source file, YAML text), and the ``helm test`` hooks apart."""

    release: str
    path: Path
    documents: list[tuple[str, str]]
    tests: list[tuple[str, str]]


def resolve(chart: str | os.PathLike[str], base_dir: Path | None = None) -> Path:
    """The chart's path; a reference only the network can resolve (``oci://``, ``https://``,
    ``repo/name``) is refused at once with that reason, as is a path that does not exist."""
    text = os.fspath(chart)
    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if path.exists():
        return path
    if _REMOTE_REF.search(text):
        raise ChartError(
            text,
            text,
            "a remote chart reference: pytest-pods renders charts offline and never pulls one; "
            "pull it once (`helm pull`) and give the .tgz or the unpacked directory",
        )
    raise ChartError(text, str(path), "no such chart (a chart directory with a Chart.yaml, or a .tgz)")


def _chart_yaml(path: Path) -> dict[str, Any]:
    file = path / "Chart.yaml"
    if not file.is_file():
        raise ChartError(str(path), str(path), "is not a chart: it has no Chart.yaml")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ChartError(str(path), str(file), f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ChartError(str(path), str(file), "Chart.yaml is not a mapping")
    return data


def chart_name(path: Path) -> str:
    """The name in a chart's Chart.yaml (a directory, or a packaged ``.tgz``: its top Chart.yaml)."""
    if path.is_dir():
        return str(_chart_yaml(path).get("name") or path.name)
    try:
        with tarfile.open(path) as tar:
            member = next(
                (m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/Chart.yaml")),
                None,
            )
            data = tar.extractfile(member) if member is not None else None
            meta = yaml.safe_load(data.read()) if data is not None else None
    except (tarfile.TarError, OSError, yaml.YAMLError) as exc:
        raise ChartError(
            str(path), str(path), f"not a packaged chart (a .tgz with a Chart.yaml): {exc}"
        ) from None
    if not isinstance(meta, dict) or not meta.get("name"):
        raise ChartError(str(path), str(path), "not a packaged chart: no Chart.yaml with a name at its top")
    return str(meta["name"])


def _vendored(path: Path, name: str) -> bool:
    charts = path / "charts"
    if (charts / name / "Chart.yaml").is_file():
        return True
    if not charts.is_dir():
        return False
    for entry in charts.iterdir():
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            try:
                if _chart_yaml(entry).get("name") == name:
                    return True
            except ChartError:
                continue
        elif entry.name.startswith(f"{name}-") and entry.name.endswith(".tgz"):
            return True
    return False


def check_dependencies(path: Path) -> None:
    """Each dependency of a chart directory (Chart.yaml's, or an old chart's requirements.yaml) is
    vendored under ``charts/``; one that would need a download (or ``helm dependency build``) is
    refused at once, naming it, its repository and the fix. A ``.tgz`` carries its own."""
    if not path.is_dir():
        return
    deps = _chart_yaml(path).get("dependencies")
    source = path / "Chart.yaml"
    if deps is None and (path / "requirements.yaml").is_file():
        deps = (yaml.safe_load((path / "requirements.yaml").read_text(encoding="utf-8")) or {}).get(
            "dependencies"
        )
        source = path / "requirements.yaml"
    for dep in deps if isinstance(deps, list) else []:
        if not isinstance(dep, dict) or not dep.get("name") or _vendored(path, str(dep["name"])):
            continue
        repo = str(dep.get("repository") or "")
        if repo.startswith("file://"):
            why = (
                f"is not vendored under charts/ (its repository is {repo}: `helm dependency build` copies it)"
            )
        elif repo:
            why = (
                f"needs a download from {repo}: pytest-pods renders charts offline and never fetches one; "
                "vendor it under charts/ (`helm dependency build` once, where the network is)"
            )
        else:
            why = "is not under charts/ and names no repository"
        raise ChartError(str(path), str(source), f"dependency {dep['name']!r} {why}")


def chart_error(chart: str, path: Path, output: str) -> ChartError:
    """Helm's refusal as a :class:`ChartError`: Helm's own message, and the file it names (a template
    and its line, a values file, the chart's values.schema.json), else the chart."""
    chatter = ("Use --debug flag",)
    message = "\n".join(
        line for line in output.strip().splitlines() if line.strip() and not line.startswith(chatter)
    )
    message = re.sub(r"^Error: ", "", message) or "helm template failed with no message"
    root = path if path.is_dir() else path.parent

    def in_chart(named: str) -> str:
        inner = named.split("/", 1)[1] if "/" in named else named
        return str(root / inner) if path.is_dir() else f"{path}:{named}"

    # template: mychart/templates/x.yaml:7:20: executing ...; parse error at (mychart/templates/x.yaml:3)
    m = _NAMED.search(message)
    if m:
        return ChartError(chart, in_chart(m[1]), message, line=int(m[2]) if m[2] else None)
    if "values don't meet the specifications of the schema" in message:
        return ChartError(chart, str(root / "values.schema.json") if path.is_dir() else str(path), message)
    m = re.search(r"failed to parse (\S+?):", message)
    if m:
        line = re.search(r"line (\d+)", message)
        return ChartError(chart, m[1], message, line=int(line[1]) if line else None)
    return ChartError(chart, str(path), message)


def split(text: str, path: Path) -> list[tuple[str, str]]:
    """``helm template``'s output as (source file, document), each named by its ``# Source:`` line
    (a file of the chart; the chart itself where a document has none)."""
    root = path if path.is_dir() else path.parent
    out = []
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        if not chunk.strip() or not any(
            line.strip() and not line.startswith("#") for line in chunk.splitlines()
        ):
            continue
        m = _SOURCE.search(chunk)
        named = m[1].strip() if m else ""
        if named and path.is_dir():
            source = str(root / named.split("/", 1)[1]) if "/" in named else str(root / named)
        else:
            source = f"{path}:{named}" if named else str(path)
        out.append((source, chunk))
    return out


def is_test_hook(document: str) -> bool:
    """Whether a rendered document is a ``helm test`` hook (``helm.sh/hook: test``)."""
    try:
        obj = yaml.safe_load(document)
    except yaml.YAMLError:
        return False
    hooks = (
        str(((obj or {}).get("metadata") or {}).get("annotations", {}).get(HOOK, ""))
        if isinstance(obj, dict)
        else ""
    )
    return any(h.strip() in TEST_HOOKS for h in hooks.split(","))


def render(
    chart: Chart,
    *,
    namespace: str,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    base_dir: Path | None = None,
    cache: CachePaths | None = None,
    progress: Progress = silent,
) -> Rendered:
    """``helm template`` of ``chart`` for ``namespace`` (``.Release.Namespace``), the cluster's
    ``kube_version`` and ``api_versions`` (``.Capabilities``), CRDs of ``crds/`` included; checked
    offline first. :class:`ChartError` with Helm's message and the file before any cluster work.
    Helm is built on first use (:func:`~pytest_pods.render.tools.helm`), reported to ``progress``."""
    path = resolve(chart.chart, base_dir)
    check_dependencies(path)
    release = chart.release or chart_name(path)
    helm = tools.helm(cache, progress)
    with tempfile.TemporaryDirectory(prefix="pytest-pods-helm-") as tmp:
        home = Path(tmp)
        argv: list[str | Path] = [helm, "template", release, path, "--namespace", namespace, "--include-crds"]
        if kube_version:
            argv += ["--kube-version", kube_version]
        for api in api_versions:
            argv += ["--api-versions", api]
        for file in chart.values_files:
            f = Path(os.fspath(file)).expanduser()
            argv += ["--values", base_dir / f if base_dir is not None and not f.is_absolute() else f]
        if chart.values:
            given = home / "values.yaml"
            given.write_text(json.dumps(dict(chart.values)))
            argv += ["--values", given]
        for key, value in (chart.set or {}).items():
            argv += ["--set-json", f"{key}={json.dumps(value)}"]
        env = {
            **os.environ,
            # a Helm of its own: no user's repositories, registries or plugins, nothing kept
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
            "HELM_PLUGINS": str(home / "plugins"),
        }
        done = tools.run(argv, what=f"helm template {path}", env=env)
    if done.returncode != 0:
        raise chart_error(os.fspath(chart.chart), path, done.stderr or done.stdout)
    docs: list[tuple[str, str]] = []
    tests: list[tuple[str, str]] = []
    for source, text in split(done.stdout, path):
        (tests if is_test_hook(text) else docs).append((source, text))
    return Rendered(release, path, docs, tests)
