"""Labs through pytester (``--pods-labs``): collection, names, order, a failed step that hides
nothing, ``-x``, annotations, timeouts, drift in the summary and JUnit, usage errors.

No cluster here: a conftest stands in for ``pods_cluster`` with a namespace that is only a name and a
kubeconfig, and every lab below runs shell commands only (``echo``, ``false``, ``sleep``). What
kubectl does with a lab is tested against the real cluster (tests/cluster/test_labs.py).
"""

from __future__ import annotations

import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import pytest_pods

pytest_plugins = ["pytester"]

STAND_IN = """
import contextlib, json
from pathlib import Path
import pytest
from pytest_pods.providers.base import ClusterInfo

LOG = Path(__file__).parent / "namespaces.jsonl"
KUBECONFIG = Path(__file__).parent / "kubeconfig"
KUBECONFIG.write_text(
    "apiVersion: v1\\nkind: Config\\nclusters:\\n- name: c\\n  cluster: {server: 'https://127.0.0.1:9'}\\n"
    "contexts:\\n- name: only\\n  context: {cluster: c, user: u}\\ncurrent-context: only\\n"
    "users:\\n- name: u\\n  user: {token: x}\\n"
)

class Ns:
    kube = None
    timeout = 5.0
    def __init__(self, name):
        self.name, self.failures = name, []
        self.info = ClusterInfo("fake", KUBECONFIG, None, "v1.99.0", "a stand-in")
    def kept(self):
        return False

class StandIn:
    @contextlib.contextmanager
    def namespace(self, nodeid, base_dir=None, **kwargs):
        with LOG.open("a") as f:
            f.write(json.dumps({"made": nodeid}) + "\\n")
        yield Ns("pp-lab-" + str(len(LOG.read_text().splitlines())))
        with LOG.open("a") as f:
            f.write(json.dumps({"deleted": nodeid}) + "\\n")

@pytest.fixture(scope="session")
def pods_cluster():
    return StandIn()
"""


@pytest.fixture(autouse=True)
def this_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Subprocess runs import this checkout's pytest_pods; the runs' state directory is temporary."""
    root = str(Path(pytest_pods.__file__).parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def lab(pytester: pytest.Pytester) -> Path:
    """A folder ``labs/`` with the stand-in conftest beside it; returns the folder."""
    pytester.makeconftest(STAND_IN)
    folder = pytester.path / "labs"
    folder.mkdir()
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


THREE_STEPS = """\
    # A lab

    First:

    ```
    $ echo one
    one
    ```

    Then something that breaks:

    ```
    $ false
    ```

    And after it:

    ```
    $ echo three
    three
    ```
    """


def test_collects_one_item_per_step_named_after_its_line_and_command(
    pytester: pytest.Pytester, lab: Path
) -> None:
    write(lab, "first.md", THREE_STEPS)
    write(lab, "README.md", "# Just prose\n\nNo commands here.\n")
    result = pytester.runpytest("--pods-labs", str(lab), "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "labs/first.md::line-6 echo one",
            "labs/first.md::line-13 false",
            "labs/first.md::line-19 echo three",
            "3 tests collected*",
        ]
    )


def test_a_failed_step_hides_nothing_and_a_later_failure_names_it(
    pytester: pytest.Pytester, lab: Path
) -> None:
    write(lab, "first.md", THREE_STEPS + "\n    ```\n    $ ls /no/such/folder\n    ```\n")
    result = pytester.runpytest("--pods-labs", str(lab / "first.md"), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*first.md:13: `false` exited with 1",
            "*first.md:24: `ls /no/such/folder` exited with 2 (it may follow from the failed step at line 13)",  # noqa: E501
        ]
    )
    log = (pytester.path / "namespaces.jsonl").read_text().splitlines()
    assert len(log) == 2 and '"made"' in log[0] and '"deleted"' in log[1], "one namespace for the whole lab"


def test_dash_x_stops_at_the_first_failure_and_reports_nothing_else_as_passed(
    pytester: pytest.Pytester, lab: Path
) -> None:
    write(lab, "first.md", THREE_STEPS)
    result = pytester.runpytest("--pods-labs", str(lab), "-x", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    assert "echo three" not in result.stdout.str().split("short test summary")[-1]


def test_each_lab_is_a_module_with_its_own_namespace(pytester: pytest.Pytester, lab: Path) -> None:
    write(lab, "a.md", "```\n$ echo a\n```\n")
    write(lab, "b.md", "```\n$ echo b\n```\n")
    pytester.runpytest("--pods-labs", str(lab)).assert_outcomes(passed=2)
    log = (pytester.path / "namespaces.jsonl").read_text()
    assert log.count('"made"') == 2 and log.count('"deleted"') == 2


def test_annotations_skip_expect_a_failure_and_give_a_timeout(pytester: pytest.Pytester, lab: Path) -> None:
    write(
        lab,
        "notes.md",
        """\
        <!-- pytest-pods: skip="needs a cloud account" -->
        ```
        $ echo never
        ```

        <!-- pytest-pods: fails -->
        ```
        $ false
        ```

        <!-- pytest-pods: timeout=1 -->
        ```
        $ echo started; sleep 20
        ```

        ```
        $ vi pod.yaml
        ```
        """,
    )
    result = pytester.runpytest("--pods-labs", str(lab), "-rs")
    result.assert_outcomes(passed=1, failed=1, skipped=2)
    result.stdout.fnmatch_lines_random(
        [
            "SKIPPED *labs/notes.md*: the lab's annotation: needs a cloud account",
            "SKIPPED *labs/notes.md*: line 17: `vi` cannot run here: an interactive editor*",
            "*notes.md:13: `echo started; sleep 20` did not finish within 1s*",
            "started",
        ]
    )


def test_drift_is_listed_per_lab_and_in_junit_and_strict_fails_it(
    pytester: pytest.Pytester, lab: Path
) -> None:
    write(
        lab,
        "drift.md",
        '```\n$ echo \'VERSION_ID="12"\'\nVERSION_ID="10"\n```\n\n```\n$ echo same\nsame\n```\n',
    )
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest("--pods-labs", str(lab), f"--junitxml={xml}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*pytest-pods: lab drift*",
            "labs/drift.md: 1 difference(s)",
            "  line-2 echo 'VERSION_ID=\"12\"': line 3: line: shown 'VERSION_ID=\"10\"', now 'VERSION_ID=\"12\"'",  # noqa: E501
        ]
    )
    props = [(p.get("name"), p.get("value")) for p in ET.parse(xml).iter("property")]
    assert props == [("pods-lab drift", "line 3: line: shown 'VERSION_ID=\"10\"', now 'VERSION_ID=\"12\"'")]
    strict = pytester.runpytest("--pods-labs", str(lab), "--pods-labs-strict")
    strict.assert_outcomes(passed=1, failed=1)
    strict.stdout.fnmatch_lines(["*drift.md:2: `echo 'VERSION_ID=\"12\"'` drifted from the lab*"])


def test_the_ini_key_names_labs_too(pytester: pytest.Pytester, lab: Path) -> None:
    write(lab, "a.md", "```\n$ echo a\n```\n")
    pytester.makeini("[pytest]\npods_labs = labs\n")
    pytester.runpytest().assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.md", "# Nothing to run\n\n```\napiVersion: v1\n```\n", "*empty.md: holds no commands*"),
        (
            "open.md",
            "# Lab\n\n```\n$ echo x\n\nprose\n",
            "*open.md:3: the code block opened here with ``` is never closed*",
        ),
        (
            "note.md",
            "<!-- pytest-pods: retry=3 -->\n```\n$ echo x\n```\n",
            "*note.md:3: unknown annotation 'retry=3'*",
        ),
    ],
)
def test_bad_labs_are_clear_errors_not_tracebacks(
    pytester: pytest.Pytester, lab: Path, name: str, text: str, message: str
) -> None:
    write(lab, name, text)
    result = pytester.runpytest("--pods-labs", str(lab / name))
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()
    assert result.ret != 0


def test_a_cd_to_a_missing_folder_names_it(pytester: pytest.Pytester, lab: Path) -> None:
    write(lab, "cd.md", "```\ncd nowhere/here\necho x\n```\n")
    result = pytester.runpytest("--pods-labs", str(lab))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*cd.md:2: `cd nowhere/here` cannot run here: there is no folder */labs/nowhere/here"]
    )


def test_a_missing_lab_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--pods-labs", "no-such-lab.md")
    result.stderr.fnmatch_lines(["*pytest-pods: --pods-labs: no such file or folder:*no-such-lab.md"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
