"""What a test makes outside its namespace is the test's (issue 20, part 4): cluster-scoped objects,
a manifest's own Namespace and objects in it are labelled with the run and the test's namespace,
deleted with that namespace (or kept with it), reaped when their run is killed, and never taken
from another owner (someone else, or another run that is still going)."""

from __future__ import annotations

import secrets
import signal
import time
from pathlib import Path

import pytest

from pytest_pods import Cluster, Namespace
from pytest_pods.errors import ApiError, ManifestError
from pytest_pods.kube import Kube
from pytest_pods.namespaces import KEPT_LABEL, NAMESPACE_LABEL, OUTSIDE_ANNOTATION, RUN_LABEL
from tests.cluster.conftest import Start, delete_paths, run

pytestmark = pytest.mark.cluster

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def outside_manifest(name: str) -> str:
    """A ClusterRole, a Namespace and a ConfigMap in it, all named ``name``."""
    return f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["get"]
---
apiVersion: v1
kind: Namespace
metadata:
  name: {name}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {name}
"""


def paths(name: str) -> list[str]:
    return [
        f"{RBAC}/clusterroles/{name}",
        f"/api/v1/namespaces/{name}",
        f"/api/v1/namespaces/{name}/configmaps/settings",
    ]


def state(kube: Kube, path: str) -> str:
    """Present, Deleting or Gone."""
    try:
        obj = kube.request("GET", path)
    except ApiError as exc:
        if exc.status == 404:
            return "Gone"
        raise
    return "Deleting" if (obj.get("metadata") or {}).get("deletionTimestamp") else "Present"


def settled(kube: Kube, path: str, timeout: float = 60) -> str:
    """The state of ``path`` once it is no longer Present (or Present after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while (now := state(kube, path)) == "Present" and time.monotonic() < deadline:
        time.sleep(0.3)
    return now


@pytest.fixture
def name(pods_cluster: Cluster) -> object:
    """A unique name for the objects outside; whatever is left of them is deleted afterwards."""
    made = f"pp-out-{secrets.token_hex(4)}"
    yield made
    delete_paths(pods_cluster.kube, *paths(made)[:2])


def test_objects_outside_are_labelled_recorded_and_deleted_with_the_tests_namespace(
    pods_cluster: Cluster, name: str
) -> None:
    kube = pods_cluster.kube
    with pods_cluster.namespace("test_outside") as ns:
        objs = ns.apply(outside_manifest(name))
        for obj in objs:
            labels = obj["metadata"]["labels"]
            assert labels[NAMESPACE_LABEL] == ns.name, obj["kind"]
            assert RUN_LABEL in labels
        listed = kube.request("GET", f"/api/v1/namespaces/{ns.name}")["metadata"]["annotations"]
        assert name in listed[OUTSIDE_ANNOTATION]
        # applied again by its owner: no refusal
        ns.apply(outside_manifest(name))
        assert [o.label for o in ns.owner.outside] == [  # type: ignore[union-attr]
            f"Namespace/{name}",
            f"ClusterRole/{name}",
            f"ConfigMap/settings in namespace {name}",
        ]
    assert settled(kube, paths(name)[0]) == "Gone"
    assert settled(kube, paths(name)[1]) in ("Deleting", "Gone")


def test_the_next_test_applying_the_same_namespace_waits_for_the_last_ones_to_go(
    pods_cluster: Cluster, name: str
) -> None:
    with pods_cluster.namespace("test_first") as first:
        first.apply(outside_manifest(name))
    assert state(pods_cluster.kube, paths(name)[1]) == "Deleting"  # kube-controller-manager waits 5s
    with pods_cluster.namespace("test_second") as second:
        objs = second.apply(outside_manifest(name))
        assert {o["metadata"]["labels"][NAMESPACE_LABEL] for o in objs} == {second.name}
        assert state(pods_cluster.kube, paths(name)[2]) == "Present"


def test_someone_elses_object_is_not_taken_over(pods_namespace: Namespace, name: str) -> None:
    kube = pods_namespace.kube
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    kube.request("POST", f"{RBAC}/clusterroles", body={"metadata": {"name": name}, "rules": rules})
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(outside_manifest(name))
    err = info.value
    assert (err.line, err.obj) == (1, f"ClusterRole/{name}"), err
    assert "exists already and belongs to someone else" in str(err)
    assert "not taken over" in str(err) and "a name of its own" in str(err)
    assert state(kube, paths(name)[1]) == "Gone"  # nothing of the manifest was applied
    assert kube.request("GET", paths(name)[0])["rules"] == rules  # and the owner's object is as it was
    assert NAMESPACE_LABEL not in (kube.request("GET", paths(name)[0])["metadata"].get("labels") or {})


def test_two_runs_at_once_the_second_is_refused_with_the_owner_named(
    pods_cluster: Cluster, pods_namespace: Namespace, start_holder: Start, name: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "outside.yaml"
    manifest.write_text(outside_manifest(name))
    holder = start_holder("first", manifest)
    first_ns = holder.namespace()
    with pytest.raises(ManifestError) as info:
        pods_namespace.apply(manifest)
    text = str(info.value)
    assert (
        f"{manifest}:1: ClusterRole/{name}: it exists already and belongs to test namespace {first_ns}"
        in text
    )
    assert "which is still running" in text
    holder.hold.unlink()
    out, _ = holder.proc.communicate(timeout=120)
    assert holder.proc.returncode == 0, out
    # the first run's end took its objects with its namespace
    assert settled(pods_cluster.kube, paths(name)[0]) == "Gone"
    # and now the name is free for this test (its Namespace is still being deleted: the role alone)
    (role,) = pods_namespace.apply(outside_manifest(name).split("---")[0])
    assert role["metadata"]["labels"][NAMESPACE_LABEL] == pods_namespace.name


@pytest.mark.parametrize("reaper", ["next session", "gc"])
def test_a_killed_runs_objects_outside_are_reaped_by_the_next_session_or_gc(
    pods_cluster: Cluster,
    start_holder: Start,
    existing_args: list[str],
    name: str,
    tmp_path: Path,
    reaper: str,
) -> None:
    manifest = tmp_path / "outside.yaml"
    manifest.write_text(outside_manifest(name))
    victim = start_holder("victim", manifest)
    victim.namespace()
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.communicate(timeout=30)
    kube = pods_cluster.kube
    assert state(kube, paths(name)[0]) == "Present", "kill -9 left nothing behind: the test shows nothing"
    if reaper == "gc":
        args = ["-m", "pytest_pods", "gc", f"--kubeconfig={pods_cluster.info.kubeconfig}"]
        if pods_cluster.info.context:
            args.append(f"--context={pods_cluster.info.context}")
        done = run(existing_args, tmp_path, *args)
    else:
        nxt = tmp_path / "next"
        nxt.mkdir()
        (nxt / "test_next.py").write_text("def test_next(pods_cluster):\n    pass\n")
        done = run(existing_args, nxt, "-m", "pytest", "-q", *existing_args, "test_next.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert settled(kube, paths(name)[0]) == "Gone"
    assert settled(kube, paths(name)[1]) in ("Deleting", "Gone")


def test_kept_with_the_namespace_and_said_so(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str], name: str
) -> None:
    pytester.makepyfile(
        test_kept=f"""
        def test_fails(pods_namespace):
            pods_namespace.apply({outside_manifest(name)!r})
            assert False
        """
    )
    result = pytester.runpytest(*existing_args, "--pods-keep-namespace=on-failure")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "kept namespace pp-test-fails-*",
            f"  kept with it, what its tests made outside it: Namespace/{name}, ClusterRole/{name}, "
            f"ConfigMap/settings in namespace {name}",
        ]
    )
    kube = pods_cluster.kube
    role = kube.request("GET", paths(name)[0])
    assert role["metadata"]["labels"][KEPT_LABEL] == "true"
    kept_ns = role["metadata"]["labels"][NAMESPACE_LABEL]
    delete_paths(kube, f"/api/v1/namespaces/{kept_ns}")


def test_tests_marked_with_the_same_manifest_outside_their_namespace_take_turns(
    pytester: pytest.Pytester, pods_cluster: Cluster, existing_args: list[str], name: str
) -> None:
    """Whether the second test's manifest is applied ahead (refused while the first test owns the
    objects, then applied again by the second test's own setup) or at its setup, both pass."""
    pytester.makepyfile(
        test_turns=f"""
        import pytest

        MANIFEST = {outside_manifest(name)!r}

        @pytest.mark.pods_manifest(MANIFEST)
        def test_one(pods_namespace):
            pass

        @pytest.mark.pods_manifest(MANIFEST)
        def test_two(pods_namespace):
            pass
        """
    )
    pytester.runpytest(*existing_args).assert_outcomes(passed=2)
    assert settled(pods_cluster.kube, paths(name)[0]) == "Gone"
