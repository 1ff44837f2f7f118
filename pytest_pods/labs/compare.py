"""The output a lab shows against what the command printed now, compared as a maintainer would (pure).

What kubectl prints is parsed rather than diffed: a table by its NAME column, ``describe`` by its
fields, JSON by its keys; other text line by line. What can never match is ignored: ages, IPs, node
names, container and image IDs, generated name suffixes, timestamps and the namespace's name. Any other
difference is :class:`Drift`: the shown value and the printed one, with the shown line's place.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_pods.labs.reader import Shown

#: Table columns whose values differ from one cluster or run to the next.
VOLATILE_COLUMNS = frozenset(
    {"AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES", "CLUSTER-IP", "EXTERNAL-IP", "LAST SEEN"}
)
#: ``describe`` fields (their last word) that differ from one cluster or run to the next.
VOLATILE_FIELDS = frozenset(
    {
        "Namespace",
        "Node",
        "Start Time",
        "IP",
        "IPs",
        "Container ID",
        "Image ID",
        "Started",
        "Finished",
        "Annotations",
        "Events",
        "Mounts",
        "Volumes",
        "Priority",
        "Service Account",
        "Controlled By",
        "Tolerations",
        "Node-Selectors",
        "QoS Class",
        "Requests",
        "Limits",
        "Environment",
        "Created",
        "Creation Timestamp",
        "Last State",
        "Reason",
        "Message",
        "Host Port",
        "cpu",
        "memory",
    }
)
#: JSON keys whose values differ from one run to the next.
VOLATILE_KEYS = frozenset(
    {
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "namespace",
        "selfLink",
        "nodeName",
        "podIP",
        "podIPs",
        "hostIP",
        "hostIPs",
        "containerID",
        "imageID",
        "startedAt",
        "startTime",
        "lastTransitionTime",
        "lastProbeTime",
        "managedFields",
        "generation",
        "annotations",
        "ip",
        "finishedAt",
    }
)
_VOLATILE_TEXT = (
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d+|:\d+)?\b"), "<ip>"),
    (re.compile(r"\b[0-9a-f]{4}(?::[0-9a-f]{0,4}){2,7}\b"), "<ip>"),
    (re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (
        re.compile(
            r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +(?:\d\d? +)?[A-Z][a-z]{2} +\d\d?(?: +\d{4})?"
            r"(?: +\d\d:\d\d:\d\d)?(?: +[A-Z]{2,5})?(?: +\d{4})?(?: +[+-]\d{4})?"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "<time>"),
    (re.compile(r"\b(?:docker|containerd|cri-o)://[0-9a-f]+"), "<id>"),
    (re.compile(r"\bsha256:[0-9a-f]{12,}"), "<id>"),
    (re.compile(r"\b[0-9a-f]{12,}\b"), "<id>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<id>"),
    (re.compile(r"\b(?:\d+[dhms])+\b"), "<age>"),
    (re.compile(r"-[0-9a-f]{8,10}-[a-z0-9]{5}\b"), "-<hash>"),
)
_SUFFIX = re.compile(r"(-[0-9a-f]{8,10})?-[bcdfghjklmnpqrstvwxz2-9]{5}$")


@dataclass(frozen=True)
class Drift:
    """A difference in what can match: at ``line`` of the markdown, ``what`` (a column, field or
    line), ``shown`` there and ``now`` as printed."""

    line: int
    what: str
    shown: str
    now: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}: shown {self.shown!r}, now {self.now!r}"


def normalize(text: str, namespace: str = "") -> str:
    """``text`` with what can never match replaced by placeholders."""
    if namespace:
        text = text.replace(namespace, "<namespace>")
    for pattern, placeholder in _VOLATILE_TEXT:
        text = pattern.sub(placeholder, text)
    return " ".join(text.split())


# --- tables -------------------------------------------------------------------------------------------
def _is_header(text: str) -> bool:
    cells = re.split(r"\s{2,}", text.strip())
    return cells[0] == "NAME" and len(cells) >= 2 and all(c.upper() == c for c in cells)


def _tables(lines: Sequence[tuple[int, str]]) -> list[tuple[list[str], list[tuple[int, list[str]]]]]:
    tables: list[tuple[list[str], list[tuple[int, list[str]]]]] = []
    for line, text in lines:
        if not text.strip():
            continue
        if _is_header(text):
            tables.append((re.split(r"\s{2,}", text.strip()), []))
        elif tables:
            tables[-1][1].append((line, re.split(r"\s{2,}", text.strip())))
    return tables


def is_table(shown: Sequence[Shown]) -> bool:
    first = next((s.text for s in shown if s.text.strip()), "")
    return _is_header(first)


def _row_key(name: str, namespace: str) -> str:
    return _SUFFIX.sub("", name.replace(namespace, "<namespace>")) if namespace else _SUFFIX.sub("", name)


def compare_tables(shown: Sequence[Shown], printed: str, namespace: str = "") -> list[Drift]:
    """Rows by NAME (generated suffixes ignored), then each column but the volatile ones. A row the
    lab shows that is not printed is drift; rows printed that the lab does not show are not."""
    now_rows: dict[str, tuple[list[str], list[str]]] = {}
    for header, rows in _tables([(0, t) for t in printed.splitlines()]):
        for _, cells in rows:
            now_rows.setdefault(_row_key(cells[0], namespace), (header, cells))
    drift: list[Drift] = []
    for header, rows in _tables([(s.line, s.text) for s in shown]):
        for line, cells in rows:
            found = now_rows.get(_row_key(cells[0], namespace))
            if found is None:
                drift.append(Drift(line, f"row {cells[0]}", "  ".join(cells), "(not printed)"))
                continue
            now_header, now_cells = found
            for column, value in zip(header, cells, strict=False):
                if column in VOLATILE_COLUMNS or column == "NAME":
                    continue
                if column not in now_header:
                    drift.append(Drift(line, f"{cells[0]} {column}", value, "(no such column now)"))
                    continue
                index = now_header.index(column)
                now = now_cells[index] if index < len(now_cells) else ""
                if column == "RESTARTS":
                    value, now = value.split()[0], now.split()[0] if now else now
                if normalize(value, namespace) != normalize(now, namespace):
                    drift.append(Drift(line, f"{cells[0]} {column}", value, now))
    return drift


# --- describe -----------------------------------------------------------------------------------------
_FIELD = re.compile(r"^(?P<indent> *)(?P<key>\w[\w .()/-]*?):(?:\s+(?P<value>\S.*?))?\s*$")


def _fields(lines: Sequence[tuple[int, str]]) -> Iterator[tuple[str, int, str]]:
    """(path of keys, line, value) of each ``Key: value`` line, the path built from the indentation."""
    stack: list[tuple[int, str]] = []
    for line, text in lines:
        match = _FIELD.match(text)
        if not match:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"].strip()))
        yield " > ".join(k for _, k in stack), line, (match["value"] or "")


def is_describe(shown: Sequence[Shown]) -> bool:
    texts = [s.text for s in shown if s.text.strip()]
    return bool(texts) and sum(1 for t in texts if _FIELD.match(t)) * 2 >= len(texts)


def compare_describe(shown: Sequence[Shown], printed: str, namespace: str = "") -> list[Drift]:
    """Each field the lab shows with a value (by its path: ``Containers > web > Image``), but the
    volatile ones and those under them; a field no longer printed is drift."""
    now = {path: value for path, _, value in _fields([(0, t) for t in printed.splitlines()])}
    drift: list[Drift] = []
    for path, line, value in _fields([(s.line, s.text) for s in shown]):
        keys = path.split(" > ")
        if any(k in VOLATILE_FIELDS for k in keys):
            continue
        if path not in now:
            drift.append(Drift(line, path, value, "(not printed)"))
        elif value and normalize(value, namespace) != normalize(now[path], namespace):
            drift.append(Drift(line, path, value, now[path]))
    return drift


# --- JSON ---------------------------------------------------------------------------------------------
def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key not in VOLATILE_KEYS:
                yield from _leaves(inner, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _leaves(inner, f"{path}[{i}]")
    else:
        yield path, value


def compare_json(shown: Sequence[Shown], printed: str, namespace: str = "") -> tuple[list[Drift], str]:
    """Each leaf the lab shows (by its path), but the volatile keys; and a note when the shown JSON
    cannot be read (labs often cut it short): then nothing is compared."""
    try:
        lab = json.loads("\n".join(s.text for s in shown))
    except ValueError:
        return [], "the shown JSON is cut short or not JSON: not compared"
    try:
        now = dict(_leaves(json.loads(printed)))
    except ValueError:
        return [Drift(shown[0].line, "output", "JSON", "(not JSON)")], ""
    line = shown[0].line
    drift = [
        Drift(line, path, str(value), str(now.get(path, "(not printed)")))
        for path, value in _leaves(lab)
        if normalize(str(value), namespace) != normalize(str(now.get(path, "(not printed)")), namespace)
    ]
    return drift, ""


# --- text ---------------------------------------------------------------------------------------------
def compare_text(shown: Sequence[Shown], printed: str, namespace: str = "") -> list[Drift]:
    """Line by line, volatile parts ignored, in any order and number (a shown ``...`` line stands for
    any lines): each shown line that is printed nowhere is drift, beside the printed line in its place
    (if any)."""
    lab = [s for s in shown if s.text.strip() and s.text.strip() not in ("...", "…")]
    now_lines = [t for t in printed.splitlines() if t.strip()]
    a = [normalize(s.text, namespace) for s in lab]
    b = [normalize(t, namespace) for t in now_lines]
    beside: dict[int, str] = {}
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "replace":
            for k in range(i1, i2):
                if j1 + (k - i1) < j2:
                    beside[k] = now_lines[j1 + (k - i1)].strip()
    printed_set = set(b)
    return [
        Drift(lab[k].line, "line", lab[k].text.strip(), beside.get(k, "(not printed)"))
        for k in range(len(lab))
        if a[k] not in printed_set
    ]


def compare(shown: Sequence[Shown], printed: str, namespace: str = "") -> tuple[list[Drift], str]:
    """The drift between what the lab shows and what was printed, and a note on what was not compared."""
    if not any(s.text.strip() for s in shown):
        return [], ""
    first = next(s.text.strip() for s in shown if s.text.strip())
    if is_table(shown):
        return compare_tables(shown, printed, namespace), ""
    if first.startswith(("{", "[")):
        return compare_json(shown, printed, namespace)
    if is_describe(shown):
        return compare_describe(shown, printed, namespace), ""
    return compare_text(shown, printed, namespace), ""


def looks_like_error(shown: Sequence[Shown]) -> bool:
    """Whether the lab shows a command failing (so that a non-zero exit is what it expects)."""
    return any(
        re.match(r"^\s*(Error from server|error:|Error:|\w+: command not found)", s.text) for s in shown
    )
