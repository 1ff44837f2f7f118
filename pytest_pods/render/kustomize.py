"""A kustomization directory as a manifest: found by its file (:func:`kustomization_file`), checked
offline for a remote base (:func:`remote_references`), and rendered by the real kustomize, the
``kubectl kustomize`` of the kubectl pytest-pods builds (:func:`build`), never by a copy of its rules."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import ManifestError
from pytest_pods.render import tools

#: The names kustomize reads, in its order of preference.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: The fields whose entries name other files or directories (``resources`` may be remote).
_REFERENCES = ("resources", "bases", "components")
#: A remote target as kustomize takes it: a URL, an scp-like git address, or a host/path
#: (``github.com/org/repo/dir?ref=v1``).
_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git@|[\w.-]+\.[a-z]{2,}(?::\d+)?/)|\?ref=|\.git(?:$|/|\?)|//", re.I
)


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file of ``directory``, or None when it is not a kustomization."""
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


@dataclass(frozen=True)
class RemoteReference:
    """A remote target named by a kustomization file (which file, which field, what)."""

    file: Path
    field: str
    target: str


def _read(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ManifestError(
            str(file), f"not valid YAML: {problem}", line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(str(file), f"not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ManifestError(str(file), f"a kustomization is a mapping, not {type(data).__name__}")
    return data


def remote_references(directory: Path) -> list[RemoteReference]:
    """Every remote base, resource or component that ``directory``'s kustomization (and each local
    one it names, however deep) would fetch: what cannot be had offline. Pure: reads files only."""
    found: list[RemoteReference] = []
    seen: set[Path] = set()

    def visit(d: Path) -> None:
        file = kustomization_file(d)
        if file is None or d.resolve() in seen:
            return
        seen.add(d.resolve())
        data = _read(file)
        for key in _REFERENCES:
            entries = data.get(key) or []
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, str):
                    continue
                local = Path(os.path.normpath(d / entry))
                if local.exists():
                    if local.is_dir():
                        visit(local)
                elif _REMOTE.search(entry):
                    found.append(RemoteReference(file, key, entry))
        charts = data.get("helmCharts")
        for chart in charts if isinstance(charts, list) else []:
            if isinstance(chart, dict) and chart.get("repo"):
                found.append(RemoteReference(file, "helmCharts", f"{chart.get('name')} from {chart['repo']}"))

    visit(directory)
    return found


def check_offline(directory: Path) -> None:
    """:class:`ManifestError` naming the kustomization file, the field and the target of the first
    remote reference, at once: pytest-pods never fetches (vendor it into a local directory)."""
    remote = remote_references(directory)
    if remote:
        r = remote[0]
        more = f" (and {len(remote) - 1} more)" if len(remote) > 1 else ""
        raise ManifestError(
            str(r.file),
            f"{r.field} names a remote target {r.target!r}{more}: pytest-pods renders offline and never "
            "fetches it; vendor it into a local directory and name that path instead",
        )


def error_detail(output: str) -> str:
    """kustomize's own message, without kubectl's ``error: `` prefix and its usage chatter."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    text = "\n".join(lines) or "kubectl kustomize failed with no message"
    return re.sub(r"^error: ", "", text)


def build(directory: Path, *, cache: CachePaths | None = None) -> str:
    """``kubectl kustomize directory`` as YAML text, after the offline check; its failure is a
    :class:`ManifestError` naming the kustomization file and kustomize's words."""
    file = kustomization_file(directory)
    if file is None:
        raise ManifestError(
            str(directory), f"is a directory without a kustomization ({', '.join(KUSTOMIZATION_FILES)})"
        )
    check_offline(directory)
    kubectl = tools.kubectl(cache)
    done = tools.run([kubectl, "kustomize", directory], what=f"kubectl kustomize {directory}")
    if done.returncode != 0:
        raise ManifestError(str(file), f"kustomize failed: {error_detail(done.stderr or done.stdout)}")
    return done.stdout
