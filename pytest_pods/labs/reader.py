"""A lab's markdown, read as a learner reads it (pure: text in, steps out).

:func:`blocks` reads the code blocks with a CommonMark parser (markdown-it-py): fenced and indented
blocks, fences inside lists, each with its first line in the file and the HTML comment right before
it (a lab's optional annotation). :func:`read` turns them into :class:`Step`\\ s: each block that holds
commands is one step; in it, command lines (after a prompt such as ``$ ``, ``user@host:path$ ``,
``[node1 lab]$ ``, ``host:~ user$ ``, or bare ``kubectl ...`` lines) are told apart from the output the
lab shows after them. An interactive ``kubectl exec -it POD -- bash`` opens a shell: the
``root@POD:/# cmd`` lines after it, in that block or later ones, run in that container until ``exit``.
``git clone URL`` and ``cd CLONE/PATH`` lead to the lab's own folder.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt

from pytest_pods.errors import LabError

#: A prompt, stripped from a command line; each names the prompt styles labs use.
PROMPTS = (
    re.compile(r"^\$(?:[ \t]+|$)"),  # $ kubectl get pods
    re.compile(r"^[\w.-]+@[\w.-]+:[^\s$#]*[ \t]?[$#](?:[ \t]+|$)"),  # user@host:~/lab$ , root@pod:/#
    re.compile(r"^\[[^\]\n]*\]\S*[ \t]*[$#>](?:[ \t]+|$)"),  # [node1 Deployment101]$ , [Bay]🚩 >
    re.compile(r"^[\w.-]+:\S*[ \t]+[\w.-]+[$#](?:[ \t]+|$)"),  # host:~ user$
    re.compile(r"^(?:/\S*|~)[ \t]?[#$](?:[ \t]+|$)"),  # / # ls (busybox sh in a container)
)
#: Prompts that belong to a shell in a container (while one is open): ``user@host:`` and ``/ #``.
CONTAINER_PROMPTS = (PROMPTS[1], PROMPTS[4])

#: First words that make a bare line (no prompt) a command.
COMMAND_WORDS = frozenset(
    {
        *("kubectl", "git", "cd", "curl", "wget", "helm", "kind", "minikube", "docker", "echo", "cat"),
        *("export", "ls", "mkdir", "rm", "cp", "mv", "sleep", "watch", "vi", "vim", "nano", "emacs"),
        *("gcloud", "aws", "az", "eksctl", "kustomize", "kubeadm", "sudo", "touch", "grep", "sed", "awk"),
        *("tee", "source", "chmod", "openssl", "base64", "jq", "yq", "head", "tail", "wc"),
    }
)
SHELLS = frozenset(
    {"sh", "bash", "ash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/bin/zsh", "/usr/bin/bash"}
)
#: Commands that cannot run here, with why.
CANNOT_RUN = {
    "vi": "an interactive editor",
    "vim": "an interactive editor",
    "nano": "an interactive editor",
    "emacs": "an interactive editor",
    "gcloud": "a cloud CLI (the session's cluster is given)",
    "aws": "a cloud CLI (the session's cluster is given)",
    "az": "a cloud CLI (the session's cluster is given)",
    "eksctl": "a cloud CLI (the session's cluster is given)",
    "minikube": "it makes its own cluster (the session's cluster is given)",
    "kind": "it makes its own cluster (the session's cluster is given)",
    "watch": "it repeats until interrupted",
    "sudo": "it needs a password or root on the learner's machine",
}
KUBECTL_CANNOT_RUN = {
    "edit": "an interactive editor",
    "proxy": "it serves until interrupted",
    "port-forward": "it forwards until interrupted",
    "attach": "an interactive session",
}
ANNOTATION = re.compile(r"^\s*<!--\s*pytest-pods:?\s*(?P<body>.*?)\s*-->\s*$", re.S)


@dataclass(frozen=True)
class Block:
    """A code block of the markdown: ``line`` is the file's line (1-based) of its first content line,
    ``lines`` its content, ``info`` a fence's info string, ``comment`` the HTML comment right before it."""

    line: int
    lines: tuple[str, ...]
    info: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Options:
    """A block's annotation, ``<!-- pytest-pods: skip="why" timeout=120 fails -->``: skip the step
    (with why), give its commands and waits a longer timeout, or expect its (last) command to fail."""

    skip: str = ""
    timeout: float | None = None
    fails: bool = False


Kind = Literal["run", "open", "exit", "cd", "clone", "skip"]


@dataclass(frozen=True)
class Shown:
    """A line of output the lab shows, with its line in the file."""

    line: int
    text: str


@dataclass(frozen=True)
class Command:
    """One command of a step, as a learner would type it (prompt stripped). ``kind``: ``run``
    (on the host, or in ``container`` when a shell is open there), ``open`` (an interactive
    ``kubectl exec`` that opens a shell), ``exit`` (it closes), ``cd`` (to ``arg``; empty: the lab's
    folder), ``clone`` (a ``git clone``: nothing is downloaded), ``skip`` (cannot run here: ``arg``
    says why). ``shown``: the output the lab shows after it."""

    line: int
    text: str
    kind: Kind = "run"
    arg: str = ""
    container: Exec | None = None
    shown: tuple[Shown, ...] = ()


@dataclass(frozen=True)
class Exec:
    """A shell open in a container: ``kubectl exec POD [-c CONTAINER] -- SHELL``."""

    pod: str
    container: str = ""
    shell: str = "sh"

    def argv(self, command: str) -> list[str]:
        """``kubectl exec`` of ``command`` in this container's shell (no TTY, no stdin)."""
        where = ["-c", self.container] if self.container else []
        return ["kubectl", "exec", self.pod, *where, "--", self.shell, "-c", command]


@dataclass(frozen=True)
class Step:
    """A code block that holds commands: one test item, named ``line-N first command``."""

    path: Path
    line: int
    commands: tuple[Command, ...]
    options: Options = field(default_factory=Options)

    @property
    def title(self) -> str:
        first = self.commands[0].text.splitlines()[0]
        return first if len(first) <= 60 else first[:57] + "..."

    @property
    def name(self) -> str:
        return f"line-{self.line} {self.title}".replace("::", ":")


def blocks(text: str) -> list[Block]:
    """Every code block of a CommonMark document, in order. An unterminated fence (it runs to the end
    of the file) is a :class:`LabError` naming its line: the rest of the lab would be read as code."""
    source = text.splitlines()
    found: list[Block] = []
    previous = None
    for token in MarkdownIt("commonmark").parse(text):
        if token.type in ("fence", "code_block") and token.map is not None:
            start, end = token.map
            first = start + 1 if token.type == "fence" else start
            if token.type == "fence":
                closing = source[end - 1].strip() if start < end - 1 < len(source) else ""
                if not closing.startswith(token.markup) or closing.strip(token.markup[0]):
                    raise LabError(
                        "",
                        start + 1,
                        f"the code block opened here with {token.markup} is never closed",
                        f"close it with a line of {token.markup}",
                    )
            content = token.content.split("\n")
            if content and content[-1] == "":
                content.pop()
            comment = previous.content if previous is not None and previous.type == "html_block" else ""
            found.append(Block(first + 1, tuple(content), token.info.strip(), comment))
        previous = token
    return found


def options(block: Block, path: Path) -> Options:
    """The block's annotation, if its comment is one (``<!-- pytest-pods: ... -->``)."""
    match = ANNOTATION.match(block.comment) if block.comment else None
    if match is None:
        return Options()
    skip, timeout, fails = "", None, False
    try:
        words = shlex.split(match["body"])
    except ValueError as exc:
        raise LabError(path, block.line, f"the annotation before this block cannot be read: {exc}") from None
    for word in words:
        key, _, value = word.partition("=")
        if key == "skip":
            skip = value or "the lab says so"
        elif key == "timeout":
            try:
                timeout = float(value)
            except ValueError:
                raise LabError(path, block.line, f"timeout={value!r} is not a number of seconds") from None
        elif key == "fails":
            fails = True
        else:
            raise LabError(
                path, block.line, f"unknown annotation {word!r}", 'use skip="why", timeout=SECONDS or fails'
            )
    return Options(skip, timeout, fails)


def strip_prompt(line: str) -> tuple[re.Pattern[str] | None, str]:
    """The prompt that starts ``line`` (or None) and the rest."""
    for prompt in PROMPTS:
        match = prompt.match(line)
        if match:
            return prompt, line[match.end() :]
    return None, line


def is_bare_command(line: str) -> bool:
    words = line.strip().split()
    return bool(words) and words[0] in COMMAND_WORDS


def _logical_lines(lines: Sequence[str], start: int) -> Iterator[tuple[int, str, int]]:
    """(file line, text, count of source lines) with backslash continuations joined."""
    i = 0
    while i < len(lines):
        text, n = lines[i], 1
        while text.rstrip().endswith("\\") and i + n < len(lines):
            text = text.rstrip()[:-1].rstrip() + " " + lines[i + n].strip()
            n += 1
        yield start + i, text, n
        i += n


@dataclass
class _Reader:
    path: Path
    shell: Exec | None = None
    clones: list[str] = field(default_factory=list)

    def classify(self, line: int, text: str) -> Command:
        """What a command line does (``text``: the command, prompt stripped)."""
        try:
            argv = shlex.split(text, comments=True)
        except ValueError:
            argv = text.split()
        if not argv:
            return Command(line, text, "skip", "an empty command")
        word = argv[0]
        if self.shell is not None and word in ("exit", "logout"):
            self.shell = None
            return Command(line, text, "exit")
        if self.shell is not None:
            return Command(line, text, container=self.shell)
        if word in CANNOT_RUN:
            return Command(line, text, "skip", f"`{word}` cannot run here: {CANNOT_RUN[word]}")
        if word == "git" and argv[1:2] == ["clone"]:
            urls = [a for a in argv[2:] if not a.startswith("-")]
            if urls:
                name = urls[1] if len(urls) > 1 else urls[0].rstrip("/").rsplit("/", 1)[-1]
                self.clones.append(name.removesuffix(".git"))
            return Command(line, text, "clone")
        if word == "cd" and len(argv) <= 2:
            target = argv[1] if len(argv) == 2 else "~"
            head = target.strip("/").split("/", 1)[0]
            return Command(line, text, "cd", "" if head in self.clones else target)
        if word == "kubectl":
            verb = next((a for a in argv[1:] if not a.startswith("-")), "")
            if verb in KUBECTL_CANNOT_RUN:
                return Command(
                    line, text, "skip", f"`kubectl {verb}` cannot run here: {KUBECTL_CANNOT_RUN[verb]}"
                )
            watch = {"get": {"-w", "--watch"}, "logs": {"-f", "--follow"}}.get(verb, set())
            if watch & set(argv):
                return Command(line, text, "skip", f"`kubectl {verb}` with a watch runs until interrupted")
            opened = interactive_exec(argv)
            if opened is not None:
                self.shell = opened
                return Command(line, text, "open", container=opened)
        return Command(line, text)

    def block(self, block: Block) -> list[tuple[int, str, list[Shown]]]:
        """The block's commands (file line, command text) each with the output shown after it; empty
        if the block holds no command (a manifest, an output-only block)."""
        prompted = any(strip_prompt(t)[0] is not None for t in block.lines)
        first = next((t for t in block.lines if t.strip()), "")
        if not prompted and not is_bare_command(first):
            return []
        found: list[tuple[int, str, list[Shown]]] = []
        heredoc = ""
        lines = list(_logical_lines(block.lines, block.line))
        for line, text, _ in lines:
            if heredoc:
                found[-1] = (found[-1][0], found[-1][1] + "\n" + text, found[-1][2])
                if text.strip() == heredoc:
                    heredoc = ""
                continue
            prompt, rest = strip_prompt(text)
            if prompted:
                is_command = prompt is not None
            else:
                is_command = is_bare_command(text) or text.lstrip().startswith("#")
                if text.lstrip().startswith("#"):
                    continue  # a comment among bare commands
            if is_command and rest.strip():
                found.append((line, rest.strip(), []))
                marker = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", rest)
                heredoc = marker.group(1) if marker else ""
            elif is_command:
                continue  # a prompt alone (e.g. the shell's first prompt after kubectl exec -it)
            elif found:
                found[-1][2].append(Shown(line, text))
        return found


def interactive_exec(argv: Sequence[str]) -> Exec | None:
    """The shell a ``kubectl exec -it POD [-c C] -- SHELL`` opens, or None for any other command."""
    if argv[:2] != ["kubectl", "exec"] or "--" not in argv:
        return None
    cut = list(argv).index("--")
    after, before = argv[cut + 1 :], argv[2:cut]
    if len(after) != 1 or after[0] not in SHELLS:
        return None
    flags = "".join(a.lstrip("-") for a in before if a.startswith("-") and not a.startswith("--"))
    if not ({"i", "t"} <= set(flags) or {"--stdin", "--tty"} <= set(before)):
        return None
    pod, container, i = "", "", 0
    while i < len(before):
        arg = before[i]
        if arg in ("-c", "--container", "-n", "--namespace"):
            if arg in ("-c", "--container") and i + 1 < len(before):
                container = before[i + 1]
            i += 2
            continue
        if arg.startswith("--container="):
            container = arg.split("=", 1)[1]
        elif not arg.startswith("-") and not pod:
            pod = arg.removeprefix("pod/").removeprefix("pods/").removeprefix("po/")
        i += 1
    return Exec(pod, container, after[0]) if pod else None


def _trim(shown: list[Shown]) -> tuple[Shown, ...]:
    while shown and not shown[0].text.strip():
        shown.pop(0)
    while shown and not shown[-1].text.strip():
        shown.pop()
    return tuple(shown)


def read(text: str, path: Path) -> list[Step]:
    """The steps of a lab, in order. A block without commands that comes right after a step whose
    last command shows no output (only blank lines between) is that command's shown output."""
    reader = _Reader(path)
    steps: list[Step] = []
    source = text.splitlines()
    end_of_last = -1
    try:
        found = blocks(text)
    except LabError as exc:
        raise LabError(path, exc.line, exc.problem, exc.fix) from None
    for block in found:
        parsed = reader.block(block)
        if not parsed:
            between = source[end_of_last : block.line - 2] if end_of_last >= 0 else ["x"]
            last = steps[-1].commands[-1] if steps else None
            if last is not None and not last.shown and all(not s.strip() for s in between):
                shown = tuple(Shown(block.line + i, t) for i, t in enumerate(block.lines))
                commands = (*steps[-1].commands[:-1], _with_shown(last, shown))
                steps[-1] = Step(steps[-1].path, steps[-1].line, commands, steps[-1].options)
            end_of_last = -1
            continue
        made = [_with_shown(reader.classify(line, command), _trim(out)) for line, command, out in parsed]
        steps.append(Step(path, parsed[0][0], tuple(made), options(block, path)))
        end_of_last = block.line - 1 + len(block.lines) + 1  # the closing fence's index + 1
    return steps


def _with_shown(command: Command, shown: tuple[Shown, ...]) -> Command:
    return Command(command.line, command.text, command.kind, command.arg, command.container, shown)


def read_file(path: Path) -> list[Step]:
    """:func:`read` of a file; a file that cannot be read, or holds no command, is a :class:`LabError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabError(path, 0, f"cannot be read: {exc}") from None
    steps = read(text, path)
    if not steps:
        raise LabError(
            path,
            0,
            "holds no commands: no code block starts with a prompt ($ ) or a command (kubectl ...)",
            "point --pods-labs at the lab's markdown",
        )
    return steps
