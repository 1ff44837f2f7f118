"""Labs collected as tests (``--pods-labs PATH...``): the pytest side of :mod:`pytest_pods.labs`.

Each lab (a markdown file) is one :class:`LabFile` with one namespace, made at its first step and
deleted (or kept, as ``--pods-keep-namespace`` says) after its last; each code block that holds
commands is one :class:`LabStep`, named ``line-N first command``, run in order. A failed step does not
stop the lab (``-x`` does, as pytest does); a later failure names the earlier one it may follow from.
Drift (shown output that differs where it could match) passes the step, and is listed per lab in the
terminal summary, as JUnit properties and in pytest-html's extras; ``--pods-labs-strict`` fails it.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_pods.errors import LabError, LabStepError
from pytest_pods.labs.reader import Step, read_file
from pytest_pods.labs.runner import COMMAND_TIMEOUT, LabRun, StepResult
from pytest_pods.pluginstate import NAMESPACE_KEY
from pytest_pods.session import Cluster

RESULT_KEY = pytest.StashKey[StepResult]()
DRIFT = "pods-lab drift"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("pods")
    group.addoption(
        "--pods-labs",
        nargs="+",
        action="extend",
        default=None,
        metavar="PATH",
        help="run these labs' markdown (files, or folders of .md files) as tests, step by step",
    )
    group.addoption(
        "--pods-labs-strict",
        action="store_true",
        default=None,
        help="a lab step whose shown output drifts from what its command prints now fails",
    )
    parser.addini("pods_labs", type="paths", default=[], help="labs to run as tests (as --pods-labs)")
    parser.addini("pods_labs_strict", type="bool", default=False, help="as --pods-labs-strict")


def lab_paths(config: pytest.Config) -> list[Path]:
    """The labs of ``--pods-labs`` and of the ini key ``pods_labs`` (relative to the ini file)."""
    given = [Path(p).resolve() for p in config.getoption("pods_labs") or []]
    return given + [Path(p).resolve() for p in config.getini("pods_labs")]


def configure(config: pytest.Config) -> None:
    """Collect the labs: ``--pods-labs`` paths join the command line's paths (and stand alone when no
    path was given: ``pytest --pods-labs lab/`` runs the lab only); the ini key's are collected
    wherever pytest walks (and walked when no path was given). A lab path that does not exist is a
    usage error."""
    labs = lab_paths(config)
    missing = [str(p) for p in labs if not p.exists()]
    if missing:
        raise pytest.UsageError(f"pytest-pods: --pods-labs: no such file or folder: {', '.join(missing)}")
    given = [str(Path(p).resolve()) for p in config.getoption("pods_labs") or []]
    by_args = config.args_source == pytest.Config.ArgsSource.ARGS
    if given and not by_args:
        config.args = given
    elif given:
        config.args += [p for p in given if p not in config.args]
    elif not by_args:
        walked = [Path(a).resolve() for a in config.args]
        config.args += [str(p) for p in labs if not any(p == w or w in p.parents for w in walked)]


def strict(config: pytest.Config) -> bool:
    option = config.getoption("pods_labs_strict")
    return bool(option if option is not None else config.getini("pods_labs_strict"))


def collect_file(file_path: Path, parent: pytest.Collector) -> LabFile | None:
    if file_path.suffix.lower() not in (".md", ".markdown"):
        return None
    labs = lab_paths(parent.config)
    resolved = file_path.resolve()
    if not any(resolved == p or p in resolved.parents for p in labs):
        return None
    lab: LabFile = LabFile.from_parent(parent, path=file_path)
    lab.named = resolved in labs
    return lab


class LabFile(pytest.File):
    """One lab: its steps in order, sharing one namespace and one :class:`LabRun`."""

    named = False  # named on the command line (a file with no commands is then an error)
    run: LabRun | None = None
    _stack: contextlib.ExitStack | None = None

    def collect(self) -> Iterator[pytest.Item]:
        try:
            steps = read_file(self.path)
        except LabError as exc:
            if not self.named and "holds no commands" in exc.problem:
                return  # a folder's README, a SOURCE.md: not a lab
            raise self.CollectError(f"pytest-pods: {exc}") from None
        for step in steps:
            yield LabStep.from_parent(self, name=step.name, callobj=_runner(step), step=step)

    def lab_run(self, cluster: Cluster, item: pytest.Item, workdir: Callable[[], Path]) -> LabRun:
        """The lab's run, made (with its namespace) at its first step; ``workdir`` makes the folder
        of its kubeconfig."""
        if self.run is None:
            self._stack = contextlib.ExitStack()
            ns = self._stack.enter_context(cluster.namespace(self.nodeid, base_dir=self.path.parent))
            try:
                self.run = LabRun(ns, self.path.parent, workdir(), timeout=COMMAND_TIMEOUT)
            except BaseException:
                self._stack.close()
                self._stack = None
                raise
        item.stash[NAMESPACE_KEY] = self.run.ns
        return self.run

    def teardown(self) -> None:
        if self._stack is not None:
            self._stack.close()
            self._stack = None
        self.run = None


class LabStep(pytest.Function):
    """One step of a lab (a code block that holds commands)."""

    def __init__(self, *, step: Step, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step
        if step.options.skip:
            self.add_marker(pytest.mark.skip(reason=f"the lab's annotation: {step.options.skip}"))
        elif all(c.kind == "skip" for c in step.commands):
            why = "; ".join(f"line {c.line}: {c.arg}" for c in step.commands)
            self.add_marker(pytest.mark.skip(reason=why))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.step.line - 1, f"{self.path.name}:{self.step.line}: {self.step.title}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, LabError):
            return f"pytest-pods lab: {excinfo.value}"
        return super().repr_failure(excinfo)


def _runner(step: Step) -> Callable[..., None]:
    def lab_step(
        request: pytest.FixtureRequest, pods_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        item = request.node
        assert isinstance(item, LabStep) and isinstance(item.parent, LabFile)
        run = item.parent.lab_run(pods_cluster, item, lambda: tmp_path_factory.mktemp("pods-lab"))
        try:
            result = run.run(step)
        finally:
            if run.current is not None:
                item.stash[RESULT_KEY] = run.current
        for drift in result.drift:
            item.user_properties.append((DRIFT, str(drift)))
        for ran in result.ran:
            if ran.note:
                item.user_properties.append(("pods-lab note", f"line {ran.command.line}: {ran.note}"))
        if result.drift and strict(item.config):
            run.failures.append(step.line)
            listed = "\n".join(f"  {d}" for d in result.drift)
            raise LabStepError(
                step.path, step.line, step.title, f"drifted from the lab (--pods-labs-strict):\n{listed}"
            )

    return lab_step


def add_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """A lab step's report: what ran and what it printed (a section, and pytest-html's extras)."""
    if not isinstance(item, LabStep) or report.when != "call":
        return
    result = item.stash.get(RESULT_KEY, None)
    if result is None:
        return
    if result.ran:
        report.sections.append((f"pods lab: {item.step.name}", result.transcript()))
    rows = "".join(
        f"<tr><td>{d.line}</td><td>{html.escape(d.what)}</td><td><pre>{html.escape(d.shown)}</pre></td>"
        f"<td><pre>{html.escape(d.now)}</pre></td></tr>"
        for d in result.drift
    )
    table = (
        f"<table><tr><th>line</th><th>what</th><th>the lab shows</th><th>printed now</th></tr>{rows}</table>"
        if rows
        else "<p>no drift</p>"
    )
    content = f"<h4>{html.escape(item.step.name)}</h4><pre>{html.escape(result.transcript())}</pre>{table}"
    extras = list(getattr(report, "extras", []))
    extras.append(
        {
            "name": "lab step",
            "format_type": "html",
            "content": content,
            "mime_type": None,
            "extension": "html",
        }
    )
    report.extras = extras  # type: ignore[attr-defined]


def summary(terminalreporter: Any) -> None:
    """The drift of every lab, per lab, in the terminal summary."""
    per_lab: dict[str, list[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == DRIFT:
                    lab = str(getattr(report, "nodeid", "")).split("::")[0]
                    step = str(getattr(report, "nodeid", "")).split("::")[-1]
                    per_lab.setdefault(lab, []).append(f"{step}: {value}")
    if not per_lab:
        return
    terminalreporter.write_sep("-", "pytest-pods: lab drift (shown output that differs now)")
    for lab, lines in sorted(per_lab.items()):
        terminalreporter.write_line(f"{lab}: {len(lines)} difference(s)")
        for line in lines:
            terminalreporter.write_line(f"  {line}")
