"""Running a lab's steps, in order, in one namespace of the session layer (no pytest).

:class:`LabRun` runs each :class:`~pytest_pods.labs.reader.Step` as a learner would: ``kubectl``
against the session's cluster and the lab's namespace (a kubeconfig of its own whose context names
the namespace, so that any shell form of kubectl finds it), from the markdown's folder (``cd`` moves
it; ``git clone`` downloads nothing); a shell opened by ``kubectl exec -it`` runs the lines after it in
its container; anything else runs in ``bash -c`` with a timeout. After a command that creates or
changes workloads, the next one starts only once what changed is up (or gone), by the one wait loop
(:meth:`Namespace.wait_up`, :meth:`Namespace.wait_for`), so that a broken image fails at its step.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pytest_pods import manifests
from pytest_pods.core.commands import CommandNotFound, CommandTimedOut
from pytest_pods.core.commands import run as run_command
from pytest_pods.core.paths import CachePaths
from pytest_pods.errors import LabError, LabStepError, PodsError
from pytest_pods.kube import JSON
from pytest_pods.labs.compare import Drift, compare, looks_like_error
from pytest_pods.labs.reader import Command, Exec, Step
from pytest_pods.render import kustomize
from pytest_pods.session import Namespace

#: A command's own timeout unless a lab's annotation gives another.
COMMAND_TIMEOUT = 60.0
#: kubectl verbs after which what changed is waited for (up), and those after which it is gone.
UP_VERBS = frozenset({"apply", "create", "run", "scale", "set", "rollout", "replace", "expose"})
SHELL_SYNTAX = re.compile(r"[|;&<>`$(){}]")


@dataclass(frozen=True)
class Ran:
    """One command as it ran: ``where`` (``host`` or the container), what it printed, its exit code,
    the drift of its shown output, and a note on what was not compared or not run."""

    command: Command
    where: str
    output: str = ""
    code: int = 0
    drift: tuple[Drift, ...] = ()
    note: str = ""


@dataclass
class StepResult:
    """What a step did: each command in order (run, or skipped with why)."""

    step: Step
    ran: list[Ran] = field(default_factory=list)

    @property
    def drift(self) -> list[Drift]:
        return [d for r in self.ran for d in r.drift]

    @property
    def skipped(self) -> list[Ran]:
        return [r for r in self.ran if r.command.kind == "skip"]

    @property
    def all_skipped(self) -> bool:
        return all(r.command.kind == "skip" for r in self.ran)

    def transcript(self) -> str:
        """What ran and what it printed, as a learner's terminal would show it."""
        out: list[str] = []
        for r in self.ran:
            prompt = "$" if r.where == "host" else f"[{r.where}] #"
            out.append(f"{prompt} {r.command.text}   # line {r.command.line}")
            if r.command.kind == "skip":
                out.append(f"(skipped: {r.command.arg})")
            elif r.output.strip():
                out.append(r.output.rstrip())
            if r.code:
                out.append(f"(exit code {r.code})")
            out += [f"DRIFT {d}" for d in r.drift]
            if r.note:
                out.append(f"(note: {r.note})")
        return "\n".join(out)


def find_kubectl(kubernetes_version: str) -> Path | None:
    """The cache's kubectl of the cluster's version, else kubectl on PATH (None: the lab's kubectl
    commands then fail as a learner's would, with ``kubectl: command not found``)."""
    version = "v" + kubernetes_version.lstrip("v")
    cached = CachePaths.default().bin_dir("kubernetes", version) / "kubectl"
    if cached.is_file():
        return cached
    found = shutil.which("kubectl")
    return Path(found) if found else None


class LabRun:
    """The steps of one lab, run in order in the namespace ``ns``, from ``folder`` (the markdown's).
    ``workdir`` holds the lab's kubeconfig; ``timeout`` is each command's (an annotation's wins).
    Each failed step is remembered (:attr:`failures`) so that a later failure names it."""

    def __init__(
        self,
        ns: Namespace,
        folder: Path,
        workdir: Path,
        *,
        kubectl: Path | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.ns = ns
        self.folder = self.cwd = folder.resolve()
        self.timeout = timeout
        self.kubectl = kubectl or find_kubectl(ns.info.kubernetes_version)
        self.failures: list[int] = []
        self.shell: Exec | None = None
        #: The step running or last run (what it ran so far, when it failed).
        self.current: StepResult | None = None
        self.kubeconfig = workdir / f"kubeconfig-{ns.name}"
        self._write_kubeconfig()
        path = os.environ.get("PATH", "")
        if self.kubectl is not None:
            path = os.pathsep.join([str(self.kubectl.parent), path])
        self.env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PATH": path}

    def _write_kubeconfig(self) -> None:
        """The session's kubeconfig, its context naming the lab's namespace (relative file paths in
        it made absolute), so that every kubectl of the lab finds the cluster and the namespace."""
        info = self.ns.info
        try:
            config = yaml.safe_load(Path(info.kubeconfig).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise LabError(info.kubeconfig, 0, f"the session's kubeconfig cannot be read: {exc}") from None
        base = Path(info.kubeconfig).parent
        for section, inner in (("clusters", "cluster"), ("users", "user")):
            for entry in config.get(section) or []:
                body = entry.get(inner) or {}
                for key in ("certificate-authority", "client-certificate", "client-key", "tokenFile"):
                    if isinstance(body.get(key), str) and not Path(body[key]).is_absolute():
                        body[key] = str(base / body[key])
        context = info.context or config.get("current-context")
        found = [c for c in config.get("contexts") or [] if c.get("name") == context]
        if not found:
            raise LabError(info.kubeconfig, 0, f"the session's kubeconfig has no context {context!r}")
        found[0].setdefault("context", {})["namespace"] = self.ns.name
        config["current-context"] = context
        self.kubeconfig.touch(mode=0o600)
        self.kubeconfig.write_text(yaml.safe_dump(config))

    # --- one step ---------------------------------------------------------------------------------
    def run(self, step: Step) -> StepResult:
        """Run every command of ``step``; a failure is a :class:`LabStepError` naming the step's line,
        the command, its output, and the earlier failed step it may follow from. A step whose
        annotation says ``fails`` must have a command that fails."""
        result = self.current = StepResult(step)
        timeout = step.options.timeout or self.timeout
        try:
            for command in step.commands:
                result.ran.append(self._command(step, command, timeout))
            if step.options.fails and not any(r.code for r in result.ran):
                last = step.commands[-1]
                raise self._error(step, last, "succeeded, and the lab's annotation says it fails")
        except LabStepError:
            self.failures.append(step.line)
            raise
        return result

    def _error(self, step: Step, command: Command, reason: str, output: str = "") -> LabStepError:
        follows = self.failures[-1] if self.failures else 0
        return LabStepError(step.path, command.line, command.text, reason, output, follows=follows)

    def _command(self, step: Step, command: Command, timeout: float) -> Ran:
        if command.kind == "skip":
            return Ran(command, "host")
        if command.kind == "clone":
            return Ran(command, "host", note="nothing downloaded: the lab's own folder is used")
        if command.kind == "cd":
            return self._cd(step, command)
        if command.kind == "exit":
            where, self.shell = (self.shell.pod if self.shell else "container"), None
            return Ran(command, where)
        if command.kind == "open":
            assert command.container is not None
            ran = self._exec(step, command, command.container, "true", timeout)
            self.shell = command.container
            return ran
        if command.container is not None:
            return self._exec(step, command, command.container, command.text, timeout)
        return self._host(step, command, timeout)

    def _cd(self, step: Step, command: Command) -> Ran:
        if not command.arg:
            self.cwd = self.folder
            return Ran(command, "host", note=f"the lab's folder: {self.folder}")
        target = (self.cwd / Path(command.arg).expanduser()).resolve()
        if not target.is_dir():
            raise self._error(step, command, f"cannot run here: there is no folder {target}")
        self.cwd = target
        return Ran(command, "host")

    def _exec(self, step: Step, command: Command, shell: Exec, text: str, timeout: float) -> Ran:
        argv = [str(self.kubectl or "kubectl"), *shell.argv(text)[1:]]
        where = f"{shell.pod}/{shell.container}" if shell.container else shell.pod
        return self._judge(step, command, argv, where, timeout)

    def _host(self, step: Step, command: Command, timeout: float) -> Ran:
        ran = self._judge(step, command, ["bash", "-c", command.text], "host", timeout)
        if ran.code == 0:
            self._wait(step, command, timeout)
        return ran

    def _judge(self, step: Step, command: Command, argv: Sequence[str], where: str, timeout: float) -> Ran:
        try:
            done = run_command(argv, timeout=timeout, merge_output=True, env=self.env, cwd=self.cwd)
        except CommandTimedOut as exc:
            raise self._error(step, command, f"did not finish within {timeout:g}s", exc.output) from None
        except CommandNotFound as exc:
            raise self._error(step, command, f"cannot run: {exc}") from None
        output = done.stdout
        expected = step.options.fails or looks_like_error(command.shown)
        if done.returncode != 0 and not expected:
            raise self._error(step, command, f"exited with {done.returncode}", output)
        drift, note = compare(command.shown, output, self.ns.name) if command.kind != "open" else ([], "")
        return Ran(command, where, output, done.returncode, tuple(drift), note)

    # --- waits after a change ---------------------------------------------------------------------
    def _wait(self, step: Step, command: Command, timeout: float) -> None:
        change = changes(command.text, self.cwd)
        if change is None:
            return
        verb, objs, refs = change
        try:
            if verb == "up":
                resolved = [self._object(kind, name) for kind, name in refs]
                self.ns.wait_up(objs + resolved, timeout=max(timeout, self.ns.timeout))
            else:
                for obj in objs:
                    refs.append((str(obj.get("kind", "")), str((obj.get("metadata") or {}).get("name", ""))))
                for kind, name in refs:
                    self.ns.wait_for(kind, name, delete=True, timeout=max(timeout, self.ns.timeout))
        except PodsError as exc:
            what = "is not up" if verb == "up" else "is not gone"
            # the first line and the hint: the pods' states, events and logs are the report's sections
            lines = str(exc).splitlines()
            told = "\n".join(lines[:1] + [line for line in lines[1:] if line.startswith("hint:")])
            raise self._error(step, command, f"ran, but what it changed {what}: {told}") from None

    def _object(self, kind: str, name: str) -> JSON:
        resource = self.ns.resolver.resolve(kind)
        return {"apiVersion": resource.api_version, "kind": resource.kind, "metadata": {"name": name}}


def changes(text: str, cwd: Path) -> tuple[str, list[JSON], list[tuple[str, str]]] | None:
    """What a kubectl command changes: ``("up", objects, [(kind, name)])`` after apply, create, run,
    scale, set image, rollout undo/restart; ``("gone", ...)`` after delete; None for anything else
    (or a command in shell syntax, a URL: nothing is waited for). Objects come from the files of
    ``-f`` and the kustomization directories of ``-k`` (relative to ``cwd``; a kustomization is
    rendered by the same kustomize as ``kubectl apply -k``)."""
    if SHELL_SYNTAX.search(text):
        return None
    try:
        argv = shlex.split(text)
    except ValueError:
        return None
    if argv[:1] != ["kubectl"]:
        return None
    words: list[str] = []
    files: list[str] = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in ("-f", "--filename", "-k", "--kustomize") and i + 1 < len(argv):
            files.append(argv[i + 1])
            i += 2
            continue
        if arg.startswith(("--filename=", "--kustomize=")):
            files.append(arg.split("=", 1)[1])
        elif arg in (
            "-n",
            "--namespace",
            "-c",
            "--container",
            "--image",
            "-o",
            "--output",
            "-l",
            "--selector",
        ):
            i += 2
            continue
        elif arg in ("-A", "--all", "--all-namespaces") or arg.startswith(("--selector=", "-l=")):
            return None
        elif not arg.startswith("-"):
            words.append(arg)
        i += 1
    if not words:
        return None
    verb, rest = words[0], words[1:]
    if verb not in UP_VERBS and verb != "delete":
        return None
    if verb in ("set", "rollout"):
        if not rest or rest[0] not in ("image", "undo", "restart", "resources", "env"):
            return None
        rest = rest[1:]
    objs: list[JSON] = []
    for name in files:
        if "://" in name or not ((cwd / name).is_file() or kustomize.kustomization_file(cwd / name)):
            return None
        objs += [d.obj for d in manifests.load(cwd / name)]
    refs: list[tuple[str, str]] = []
    if verb == "run" and rest:
        refs.append(("pod", rest[0]))
    elif verb == "create" and not files and len(rest) >= 2 and rest[0] in ("deployment", "deploy", "job"):
        refs.append((rest[0], rest[1]))
    elif verb != "create" and verb != "apply" and not files and rest:
        if "/" in rest[0]:
            refs += [tuple(r.split("/", 1)) for r in rest if "/" in r]  # type: ignore[misc]
        elif len(rest) >= 2:
            refs += [(k, name) for k in rest[0].split(",") for name in rest[1:]]
    if verb in ("scale", "set", "rollout") and refs:
        refs = [(k, n) for k, n in refs if k.split(".")[0] not in ("pod", "pods", "po")]
    if not objs and not refs:
        return None
    return ("gone" if verb == "delete" else "up"), objs, refs
