"""Labs against the real cluster: a lab runs step by step in its namespace (apply waits until the pod is
up, an exec shell spans blocks, shown output is compared), and a broken image fails at its own step,
fast, naming the step's line, while the steps after it still run."""

from __future__ import annotations

import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_pods import Namespace
from pytest_pods.core.paths import cache_root
from pytest_pods.errors import LabStepError
from pytest_pods.labs.reader import read
from pytest_pods.labs.runner import LabRun

pytestmark = pytest.mark.cluster
#: Read before pytester gives an inner run a HOME of its own.
CACHE = cache_root()

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: main
    image: {image}
    command: ["sleep", "infinity"]
"""


def lab(folder: Path, text: str, **manifests: str) -> Path:
    for name, body in manifests.items():
        (folder / f"{name}.yaml").write_text(body)
    path = folder / "lab.md"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_lab_runs_in_its_namespace_waits_for_what_it_applies_and_keeps_a_shell(
    pods_namespace: Namespace, tmp_path: Path
) -> None:
    path = lab(
        tmp_path,
        """\
        ```
        $ kubectl apply -f box.yaml
        pod/box created
        $ kubectl get pods
        NAME   READY   STATUS    RESTARTS   AGE
        box    1/1     Running   0          3s
        ```

        ```
        $ kubectl exec -it box -- sh
        root@box:/# cat /etc/hostname
        box
        ```

        ```
        root@box:/# grep -c . /etc/os-release
        99
        root@box:/# exit
        ```

        ```
        $ kubectl delete pod box
        $ kubectl get pods
        No resources found.
        ```
        """,
        box=POD.format(name="box", image="debian"),
    )
    run = LabRun(pods_namespace, tmp_path, tmp_path)
    results = [run.run(step) for step in read(path.read_text(), path)]
    first, shell, later, gone = results
    assert [r.drift for r in (first, shell)] == [[], []], "Running 1/1 right after apply: it was waited for"
    assert first.ran[1].output.split()[5] == "box"
    assert shell.ran[1].where == "box" and shell.ran[1].output.strip() == "box"
    (drift,) = later.drift  # the count of lines differs: drift, not a failure
    assert (drift.line, drift.shown, drift.now) == (17, "99", later.ran[0].output.strip())
    assert later.ran[0].where == "box", "the shell opened in an earlier block"
    assert gone.ran[1].output.startswith("No resources found in")
    assert [d.now for d in gone.drift] == [f"No resources found in {pods_namespace.name} namespace."]
    assert run.failures == []


def test_a_broken_image_fails_at_its_step_within_15s_naming_its_line_and_later_steps_run(
    pytester: pytest.Pytester, existing_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_PODS_CACHE", str(CACHE))  # pytester's HOME would hide the cache's kubectl
    lab(
        pytester.path,
        """\
        # Broken

        ```
        $ kubectl apply -f broken.yaml
        pod/broken created
        ```

        ```
        $ kubectl get pod broken -o jsonpath={.metadata.name}
        broken
        ```
        """,
        broken=POD.format(name="broken", image="pytest-pods.invalid/nope:1"),
    )
    xml = pytester.path / "junit.xml"
    began = time.monotonic()
    result = pytester.runpytest(*existing_args, "--pods-labs", "lab.md", f"--junitxml={xml}")
    elapsed = time.monotonic() - began
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*lab.md:4: `kubectl apply -f broken.yaml` ran, but what it changed is not up:*",
            "*broken*ImagePull*",
        ]
    )
    result.stdout.fnmatch_lines(["*pods: pod pp-lab-md-*/broken*"])  # the usual failure report
    times = {c.get("name"): float(c.get("time", "0")) for c in ET.parse(xml).iter("testcase")}
    assert times["line-4 kubectl apply -f broken.yaml"] < 15, (times, elapsed)


def test_a_step_that_hangs_times_out_with_its_output_so_far(
    pods_namespace: Namespace, tmp_path: Path
) -> None:
    path = lab(
        tmp_path, "<!-- pytest-pods: timeout=2 -->\n```\n$ echo waiting; kubectl get pods --watch\n```\n"
    )
    (step,) = read(path.read_text(), path)
    with pytest.raises(
        LabStepError, match=r"did not finish within 2s\n--- its output ---\nwaiting"
    ) as caught:
        LabRun(pods_namespace, tmp_path, tmp_path).run(step)
    assert caught.value.line == 3
