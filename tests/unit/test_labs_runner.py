"""The runner's pure part (pytest_pods.labs.runner.changes): what a kubectl command changes, and so
what the next step waits for."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pods.labs.runner import changes

POD = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: nginx\n"
)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "pod.yaml").write_text(POD)
    return tmp_path


def test_apply_and_create_of_a_file_wait_for_its_objects_to_be_up(folder: Path) -> None:
    for command in (
        "kubectl apply -f pod.yaml",
        "kubectl create --filename=pod.yaml",
        "kubectl -n x apply -f pod.yaml",
    ):
        change = changes(command, folder)
        assert change is not None
        verb, objs, refs = change
        assert (verb, [o["metadata"]["name"] for o in objs], refs) == ("up", ["web"], [])


def test_delete_waits_for_what_it_names_to_be_gone(folder: Path) -> None:
    assert changes("kubectl delete -f pod.yaml", folder) is not None
    assert changes("kubectl delete pod web other", folder) == ("gone", [], [("pod", "web"), ("pod", "other")])
    assert changes("kubectl delete pod/web", folder) == ("gone", [], [("pod", "web")])


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("kubectl run web --image=nginx", ("up", [], [("pod", "web")])),
        ("kubectl create deployment web --image=nginx", ("up", [], [("deployment", "web")])),
        ("kubectl scale deployments/web --replicas=4", ("up", [], [("deployments", "web")])),
        ("kubectl set image deployments/web nginx=nginx:1.9.1", ("up", [], [("deployments", "web")])),
        ("kubectl rollout undo deployment web", ("up", [], [("deployment", "web")])),
    ],
)
def test_workload_changes_wait_for_the_workload(folder: Path, command: str, expected: object) -> None:
    assert changes(command, folder) == expected


@pytest.mark.parametrize(
    "command",
    [
        "kubectl get pods",
        "kubectl apply -f https://example.invalid/pod.yaml",  # a URL: nothing to read, nothing waited for
        "kubectl apply -f missing.yaml",  # kubectl itself fails on it
        "kubectl delete pods --all",
        "kubectl apply -f pod.yaml | tee out",  # shell syntax: not parsed
        "kubectl rollout status deployment web",
        "echo kubectl apply -f pod.yaml",
    ],
)
def test_what_is_not_waited_for(folder: Path, command: str) -> None:
    assert changes(command, folder) is None


def test_apply_of_a_kustomization_waits_for_what_kustomize_renders(folder: Path) -> None:
    """``kubectl apply -k DIR``: the objects the built kubectl's kustomize renders (a name prefix
    here), as ``kubectl apply -k`` applies them."""
    overlay = folder / "overlay"
    overlay.mkdir()
    (overlay / "pod.yaml").write_text(POD)
    (overlay / "kustomization.yaml").write_text("namePrefix: dev-\nresources:\n- pod.yaml\n")
    for command in ("kubectl apply -k overlay", "kubectl apply --kustomize=overlay"):
        change = changes(command, folder)
        assert change is not None
        verb, objs, refs = change
        assert (verb, [o["metadata"]["name"] for o in objs], refs) == ("up", ["dev-web"], [])
    assert changes("kubectl apply -k missing", folder) is None  # kubectl itself fails on it
