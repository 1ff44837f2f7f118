"""The lab reader (pytest_pods.labs.reader): code blocks by CommonMark, commands against output, prompts,
exec shells across blocks, git clone and cd, annotations, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods.errors import LabError
from pytest_pods.labs.reader import Exec, Options, blocks, interactive_exec, read, read_file, strip_prompt
from tests import seed

LAB = Path("lab.md")


def commands(text: str) -> list[tuple[int, str, str]]:
    return [(c.line, c.kind, c.text) for step in read(text, LAB) for c in step.commands]


def test_fenced_indented_and_listed_blocks_with_their_lines() -> None:
    text = (
        "# T\n\n```bash\nkubectl get pods\n```\n\nSay:\n\n    kubectl get svc\n\n"
        "- one\n\n  ~~~\n  kubectl get ns\n  ~~~\n"
    )
    found = blocks(text)
    assert [(b.line, b.lines, b.info) for b in found] == [
        (4, ("kubectl get pods",), "bash"),
        (9, ("kubectl get svc",), ""),
        (14, ("kubectl get ns",), ""),
    ]
    assert [s.name for s in read(text, LAB)] == [
        "line-4 kubectl get pods",
        "line-9 kubectl get svc",
        "line-14 kubectl get ns",
    ]


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("$ kubectl get pods", "kubectl get pods"),
        ("ubuntu@node1:~/lab$ kubectl get pods", "kubectl get pods"),
        ("root@webserver:/# cat /etc/hosts", "cat /etc/hosts"),
        ("[node1 Deployment101]$ kubectl get deploy", "kubectl get deploy"),
        ("[Captains-Bay]🚩 >  kubectl get po", "kubectl get po"),
        ("host:~ user$ kubectl get po", "kubectl get po"),
        ("/ # ls /", "ls /"),
    ],
)
def test_every_prompt_style_is_stripped(line: str, command: str) -> None:
    prompt, rest = strip_prompt(line)
    assert prompt is not None
    assert rest == command


def test_plain_lines_have_no_prompt() -> None:
    for line in ("NAME   READY", "pod/web created", "Name:  webserver", "# a comment"):
        assert strip_prompt(line)[0] is None


def test_bare_commands_then_output_in_one_block() -> None:
    text = "```\nkubectl apply -f pod.yaml\npod/web created\nkubectl get pods\nNAME  READY\nweb   1/1\n```\n"
    (step,) = read(text, LAB)
    first, second = step.commands
    assert (first.text, [s.text for s in first.shown]) == ("kubectl apply -f pod.yaml", ["pod/web created"])
    assert (second.line, [s.line for s in second.shown]) == (4, [5, 6])


def test_prompted_commands_and_their_output() -> None:
    text = '```\n$ kubectl delete -f p.yaml\npod "w" deleted\n\n$ kubectl get po\nNo resources found.\n```\n'
    (step,) = read(text, LAB)
    assert [(c.text, [s.text for s in c.shown]) for c in step.commands] == [
        ("kubectl delete -f p.yaml", ['pod "w" deleted']),
        ("kubectl get po", ["No resources found."]),
    ]


def test_an_exec_shell_spans_later_blocks_until_exit() -> None:
    text = (
        "```\n$ kubectl exec -it web -c side -- /bin/bash\nroot@web:/#\n```\n\ntext\n\n"
        "```\nroot@web:/# cat /etc/os-release\nNAME=x\n```\n\n```\nroot@web:/# exit\n```\n\n"
        "```\n$ kubectl get pods\n```\n"
    )
    steps = read(text, LAB)
    shell = Exec("web", "side", "/bin/bash")
    assert [(c.kind, c.container) for s in steps for c in s.commands] == [
        ("open", shell),
        ("run", shell),
        ("exit", None),
        ("run", None),
    ]
    assert steps[1].commands[0].shown[0].text == "NAME=x"
    assert shell.argv("cat /etc/hosts") == [
        "kubectl",
        "exec",
        "web",
        "-c",
        "side",
        "--",
        "/bin/bash",
        "-c",
        "cat /etc/hosts",
    ]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ("kubectl exec -it web -- sh", Exec("web", "", "sh")),
        ("kubectl exec -ti pod/web --container=c -- /bin/bash", Exec("web", "c", "/bin/bash")),
        ("kubectl exec --stdin --tty web -- bash", Exec("web", "", "bash")),
        ("kubectl exec web -- sh", None),  # not interactive
        ("kubectl exec -it web -- ls /", None),  # a command, not a shell
    ],
)
def test_interactive_exec(argv: str, expected: Exec | None) -> None:
    assert interactive_exec(argv.split()) == expected


def test_git_clone_then_cd_into_it_leads_to_the_lab_folder() -> None:
    text = "```\ngit clone https://github.com/o/labs.git\ncd labs/pods101\ncd other\nkubectl get po\n```\n"
    (step,) = read(text, LAB)
    assert [(c.kind, c.arg) for c in step.commands] == [
        ("clone", ""),
        ("cd", ""),
        ("cd", "other"),
        ("run", ""),
    ]


def test_commands_that_cannot_run_here_are_skipped_with_why() -> None:
    text = (
        "```\n$ vi pod.yaml\n$ kubectl edit pod web\n$ kubectl get pods -w\n"
        "$ gcloud container clusters create x\n```\n"
    )
    kinds = [(c.kind, c.arg) for c in read(text, LAB)[0].commands]
    assert all(kind == "skip" for kind, _ in kinds)
    assert "editor" in kinds[0][1] and "editor" in kinds[1][1] and "interrupted" in kinds[2][1]
    assert "cloud CLI" in kinds[3][1]


def test_continuations_and_heredocs_make_one_command() -> None:
    text = "```\n$ kubectl run web \\\n   --image=nginx\n$ cat <<EOF > x.yaml\nkind: Pod\nEOF\n```\n"
    assert [c.text for c in read(text, LAB)[0].commands] == [
        "kubectl run web --image=nginx",
        "cat <<EOF > x.yaml\nkind: Pod\nEOF",
    ]


def test_blocks_without_commands_are_not_steps_but_output_right_after_a_step_is_its_output() -> None:
    text = (
        "```\napiVersion: v1\nkind: Pod\n```\n\n```\n$ kubectl describe po\n```\n\n"
        "```\nName: web\n```\n\nprose\n\n```\nName: x\n```\n"
    )
    (step,) = read(text, LAB)
    assert [(s.line, s.text) for s in step.commands[0].shown] == [(11, "Name: web")]


def test_annotations() -> None:
    text = (
        '<!-- pytest-pods: skip="needs a cloud" -->\n```\n$ kubectl get pods\n```\n\n'
        "<!-- pytest-pods: timeout=120 fails -->\n```\n$ kubectl get pods\n```\n\n<!-- a plain comment -->\n"
        "```\n$ kubectl get pods\n```\n"
    )
    assert [s.options for s in read(text, LAB)] == [
        Options(skip="needs a cloud"),
        Options(timeout=120.0, fails=True),
        Options(),
    ]


def test_a_wrong_annotation_names_its_line() -> None:
    with pytest.raises(LabError, match=r"lab.md:3: unknown annotation 'retry'"):
        read("<!-- pytest-pods: retry -->\n```\n$ kubectl get pods\n```\n", LAB)


def test_an_unterminated_fence_names_its_line() -> None:
    with pytest.raises(LabError, match=r"lab.md:3: the code block opened here with ``` is never closed"):
        read("# x\n\n```\n$ kubectl get pods\n\nmore prose\n", LAB)


def test_a_file_with_no_commands(tmp_path: Path) -> None:
    lab = tmp_path / "empty.md"
    lab.write_text("# Nothing\n\n```\napiVersion: v1\n```\n")
    with pytest.raises(LabError, match=r"empty.md: holds no commands"):
        read_file(lab)


def test_the_pods101_lab_as_published() -> None:
    steps = read_file(seed.pods101() / "deploy-your-first-nginx-pod.md")
    names = [s.name for s in steps]
    assert "line-65 kubectl get pods" in names
    by_line = {c.line: c for s in steps for c in s.commands}
    assert by_line[180].kind == "open" and by_line[185].container == Exec("webserver", "", "/bin/bash")
    assert by_line[322].container == Exec("webserver", "webwatcher", "/bin/bash")
    assert by_line[58].kind == "cd" and by_line[58].arg == ""
    assert by_line[410].text == "kubectl describe po mc1" and by_line[410].shown[0].line == 411
    assert by_line[286].shown[0].text == "Containers:"  # the output block after it
