"""The plugin through pytester: options, ini, usage errors, header, markers, sections, xdist.

No cluster here: where a session cluster is needed, a provider added through the plugin's own hooks
stands in, and no test in this file talks to an API server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import pytest_pods

pytest_plugins = ["pytester"]

FAKE_PROVIDER = """
import json, os, time
from pathlib import Path
from pytest_pods.providers.base import ClusterInfo

LOG = Path({log!r})
KUBECONFIG = Path({kubeconfig!r})

class FakeProvider:
    name = "fake"
    def __init__(self, settings):
        self.settings = settings
    def unavailable(self):
        return None
    def describe(self):
        return "fake cluster, Kubernetes v1.99.0"
    def start(self, progress):
        began = time.time()
        progress("fake step one")
        time.sleep(0.3)
        with LOG.open("a") as f:
            f.write(json.dumps({{"event": "start", "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
                                 "began": began, "ended": time.time()}}) + "\\n")
        return ClusterInfo("fake", KUBECONFIG, None, "v1.99.0", "a fake for plugin tests", reused={reused})
    def stop(self, progress):
        with LOG.open("a") as f:
            f.write(json.dumps({{"event": "stop"}}) + "\\n")
    def load_images(self, archives, progress):
        pass

def pytest_pods_providers():
    return {{"fake": FakeProvider}}
"""

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:9"}
contexts:
- name: only
  context: {cluster: c, user: u}
current-context: only
users:
- name: u
  user: {token: "x"}
"""


@pytest.fixture(autouse=True)
def this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subprocess runs import this checkout's pytest_pods, not another installed one."""
    root = str(Path(pytest_pods.__file__).parent.parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The runs' state directory (cluster lock, marker files): a temporary one, never the user's."""
    path = tmp_path / "state"
    monkeypatch.setenv("PYTEST_PODS_STATE_DIR", str(path))
    return path


@pytest.fixture
def fake(pytester: pytest.Pytester) -> Path:
    """A conftest.py with the fake provider; returns its event log."""
    log = pytester.path / "events.jsonl"
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    pytester.makeconftest(FAKE_PROVIDER.format(log=str(log), kubeconfig=str(kubeconfig), reused=False))
    return log


def events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_help_lists_every_option_and_ini_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*Kubernetes pods (pytest-pods)*"])
    for flag in (
        "--pods-provider",
        "--pods-kubeconfig",
        "--pods-context",
        "--pods-kubernetes-version",
        "--pods-keep-cluster",
        "--pods-keep-namespace",
        "--pods-timeout",
        "--pods-preload-image",
        "--pods-kind-binary",
        "--pods-kind-image",
        "--pods-kind-config",
    ):
        result.stdout.fnmatch_lines([f"*{flag}*"])
    for key in (
        "pods_provider",
        "pods_kubeconfig",
        "pods_keep_namespace",
        "pods_timeout",
        "pods_preload_images",
        "pods_kind_image",
        "pods_kind_config",
    ):
        result.stdout.fnmatch_lines([f"*{key} *"])


def test_bad_provider_is_a_usage_error_listing_valid_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--pods-provider=minikube")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--pods-provider: 'minikube' is not a provider; valid: auto, existing, kind, local*"]
    )


def test_bad_ini_value_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npods_keep_namespace = sometimes\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini pods_keep_namespace: 'sometimes' is not valid; valid: always, never, on-failure*"]
    )


def test_command_line_beats_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npods_timeout = 30\npods_keep_namespace = always\n")
    pytester.makepyfile("""
        def test_x(pods_settings):
            assert pods_settings.timeout == 5.0
            assert pods_settings.keep_namespace == "always"
    """)
    pytester.runpytest("--pods-timeout=5").assert_outcomes(passed=1)


def test_fixture_layer_is_below_ini_and_command_line(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\npods_keep_namespace = on-failure\n")
    pytester.makeconftest("""
        import pytest
        @pytest.fixture(scope="session")
        def pods_defaults():
            return {"timeout": 7, "keep_namespace": "always", "kubernetes_version": "1.33"}
    """)
    pytester.makepyfile("""
        def test_x(pods_settings):
            assert pods_settings.timeout == 7.0
            assert pods_settings.keep_namespace == "on-failure"
            assert pods_settings.kubernetes_version == "v1.30.1"
    """)
    pytester.runpytest("--pods-kubernetes-version=1.30.1").assert_outcomes(passed=1)


def test_bad_fixture_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest
        @pytest.fixture(scope="session")
        def pods_defaults():
            return {"keep_namespace": "sometimes"}
    """)
    pytester.makepyfile("def test_x(pods_settings): pass")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    assert (
        "pods_defaults['keep_namespace']: 'sometimes' is not valid; valid: always, never"
        in result.stdout.str()
    )


def test_header_shows_provider_cluster_and_version(pytester: pytest.Pytester, fake: Path) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(
        "--pods-provider=fake", "--pods-kubernetes-version=v1.34.4", "--pods-timeout=9"
    )
    result.stdout.fnmatch_lines(
        [
            "pods: provider fake; cluster: fake cluster, Kubernetes v1.99.0",
            "pods: kubernetes_version=v1.34.4, timeout=9.0",
        ]
    )


def test_header_for_existing_names_kubeconfig_and_context(pytester: pytest.Pytester) -> None:
    kubeconfig = pytester.path / "kc"
    kubeconfig.write_text(KUBECONFIG)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(
        f"--pods-kubeconfig={kubeconfig}", "--pods-provider=existing", "--pods-context=only"
    )
    result.stdout.fnmatch_lines(
        [f"pods: provider existing; cluster: kubeconfig {kubeconfig}, context only at https://127.0.0.1:9"]
    )


def test_existing_without_kubeconfig_is_one_error_naming_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("i", range(5))
        def test_x(pods_cluster, i):
            pass
        def test_without_a_cluster():
            pass
    """)
    result = pytester.runpytest("--pods-provider=existing")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*--pods-provider=existing cannot work here: the existing provider needs --pods-kubeconfig PATH*"
            "never falls back to $KUBECONFIG*",
            "*Interrupted: pytest-pods: --pods-provider=existing cannot work here*",
        ]
    )
    assert result.ret != 0


def test_a_provider_that_cannot_work_is_one_error_under_xdist_too(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        class Broken:
            name = "broken"
            def __init__(self, settings):
                pass
            def unavailable(self):
                return "needs a thing: install it, or set --pods-provider=local"
            def describe(self):
                return "a broken provider"

        def pytest_pods_providers():
            return {"broken": Broken}
    """)
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("i", range(8))
        def test_x(pods_cluster, i):
            pass
    """)
    result = pytester.runpytest("-n", "2", "--pods-provider=broken")
    outcomes = result.parseoutcomes()
    assert outcomes.get("errors", 0) <= 2, "at most one error per worker"
    assert outcomes.get("passed", 0) == 0
    result.stdout.fnmatch_lines(["*--pods-provider=broken cannot work here: needs a thing*"])


def test_plugin_provider_progress_and_summary(pytester: pytest.Pytester, fake: Path) -> None:
    pytester.makepyfile("""
        def test_x(pods_cluster):
            assert pods_cluster.info.provider == "fake"
            assert pods_cluster.info.kubernetes_version == "v1.99.0"
            assert pods_cluster.worker == "main"
    """)
    result = pytester.runpytest("--pods-provider=fake")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-pods: [[]*s] provider fake (asked for): starting the cluster",
            "pytest-pods: [[]*s] fake step one",
            "pytest-pods: [[]*s] cluster ready in *s: a fake for plugin tests, Kubernetes v1.99.0",
            "*- pytest-pods -*",
            "cluster: a fake for plugin tests, Kubernetes v1.99.0, ready in *",
        ]
    )


@pytest.mark.parametrize(("keep", "stops"), [("no", 1), ("yes", 0)])
def test_keep_cluster_no_stops_a_cluster_this_run_started(
    pytester: pytest.Pytester, fake: Path, keep: str, stops: int
) -> None:
    pytester.makepyfile("def test_x(pods_cluster): pass")
    pytester.runpytest("--pods-provider=fake", f"--pods-keep-cluster={keep}").assert_outcomes(passed=1)
    assert [e["event"] for e in events(fake)].count("stop") == stops


def test_a_reused_cluster_is_never_stopped(pytester: pytest.Pytester) -> None:
    log = pytester.path / "events.jsonl"
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    pytester.makeconftest(FAKE_PROVIDER.format(log=str(log), kubeconfig=str(kubeconfig), reused=True))
    pytester.makepyfile("def test_x(pods_cluster): pass")
    pytester.runpytest("--pods-provider=fake", "--pods-keep-cluster=no").assert_outcomes(passed=1)
    assert [e["event"] for e in events(log)] == ["start"]


MARKER_TEST = """
import pytest

@pytest.mark.{marker}({args})
def test_x():
    pass
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("", "*pods_manifest: pods_manifest() needs at least one manifest*"),
        ("chart='charts/web', sett={}", "*pods_chart: *unexpected keyword argument 'sett'*"),
        (
            "'charts/web', values=['a=1']",
            "*pods_chart: pods_chart(values=...) must be a mapping, not *a=1*",
        ),
        (
            "'charts/web', scope='modul'",
            "*pods_chart: pods_manifest(scope=...) must be one of *, not 'modul'*",
        ),
        ("'pod.yaml', wiat=True", "*pods_manifest: *unexpected keyword argument 'wiat'*"),
        (
            "'pod.yaml', timeout='soon'",
            "*pods_manifest(timeout=...) must be a number of seconds > 0, not 'soon'*",
        ),
        ("'pod.yaml', wait='yes'", "*pods_manifest(wait=...) must be True or False, not 'yes'*"),
        (
            "'pod.yaml', scope='modul'",
            "*pods_manifest(scope=...) must be one of function, class, *, not 'modul'*",
        ),
    ],
)
def test_marker_with_wrong_arguments(pytester: pytest.Pytester, fake: Path, args: str, message: str) -> None:
    marker = "pods_chart" if "pods_chart" in message else "pods_manifest"
    pytester.makepyfile(MARKER_TEST.format(marker=marker, args=args))
    result = pytester.runpytest("--pods-provider=fake")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([message])
    assert events(fake) == [], "a wrong marker must fail before the cluster is started"


def test_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.pods_manifest(*manifests, wait=True, timeout=None, scope='function'):*",
            "@pytest.mark.pods_chart(chart, release=None, values=None, values_files=(), set=None, wait=True, "
            "timeout=None, scope='function'):*",
            "@pytest.mark.cluster: the test needs a real Kubernetes cluster*",
        ]
    )


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", sorted(str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("test_*.py")))
def test_an_example_copied_out_of_the_repository_collects_strictly_without_warnings(
    pytester: pytest.Pytester, example: str
) -> None:
    # A bare directory: no pyproject of ours registers a marker here; only the plugin can. In a process
    # of its own: in this one, pytest.mark remembers the markers the outer session knows.
    copy = pytester.path / Path(example).name
    copy.write_text((EXAMPLES / example).read_text())
    assert not (pytester.path / "pyproject.toml").exists()
    result = pytester.runpytest_subprocess("--co", "-q", "--strict-markers", "-W", "error", copy.name)
    out = "\n".join(result.outlines + result.errlines)
    assert result.ret == pytest.ExitCode.OK, out
    assert "Unknown pytest.mark" not in out and "not found in `markers`" not in out
    assert f"{copy.name}::test_" in out


def test_a_usage_error_at_the_first_pods_fixture_shows_the_message_not_our_source(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        import pytest
        @pytest.mark.pods_manifest()
        def test_marker():
            pass
        def test_cluster(pods_cluster):  # the session stops after this one
            pass
    """)
    result = pytester.runpytest("--pods-provider=existing")
    out = "\n".join(result.outlines + result.errlines)
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "E * pytest.UsageError: *::test_marker: @pytest.mark.pods_manifest: *at least one manifest*",
            "E * pytest.UsageError: pytest-pods: --pods-provider=existing cannot work here: *",
        ]
    )
    for source in (
        "def pods_cluster(",
        "choose_provider(pods_settings",
        "raise error from None",
        "def manifest_markers(",
        "APPLYING[marker.name](*marker.args",
        "def _pods_manifest_marker(",
    ):
        assert source not in out, f"a line of pytest-pods' own source is shown: {source}"
    assert "pytest-pods: pytest-pods:" not in out


def test_a_bad_pods_defaults_key_is_one_usage_error_with_the_prefix_once(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        import pytest
        @pytest.fixture(scope="session")
        def pods_defaults():
            return {"timeuot": 3}
    """)
    pytester.makepyfile("def test_x(pods_cluster): pass")
    result = pytester.runpytest()
    out = "\n".join(result.outlines + result.errlines)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["E * pytest.UsageError: pytest-pods: pods_defaults fixture: unknown key(s) timeuot*"]
    )
    assert "def pods_settings(" not in out and "from_config(request.config" not in out
    assert "pytest-pods: pytest-pods:" not in out


def test_failure_adds_a_section_per_pod(pytester: pytest.Pytester) -> None:
    # Only the hook's wiring: the diagnostics collector is replaced; tests/cluster checks real content.
    pytester.makeconftest("""
        import types, pytest
        from pytest_pods import diagnostics, pluginstate
        from pytest_pods.session import should_keep

        @pytest.fixture(autouse=True)
        def fake_namespace(request, monkeypatch):
            monkeypatch.setattr(diagnostics, "collect", lambda kube, where: [
                (f"pod {where.namespace}/web", f"phase Running kept={where.kept}"),
                (f"pod {where.namespace}/db", "phase Pending"),
            ])
            info = types.SimpleNamespace(kubeconfig=None, context=None)
            ns = types.SimpleNamespace(name="ns1", kube=None, info=info, failures=[])
            ns.kept = lambda: should_keep("on-failure", bool(ns.failures))
            request.node.stash[pluginstate.NAMESPACE_KEY] = ns
    """)
    pytester.makepyfile("""
        def test_fails():
            assert False
        def test_passes():
            pass
    """)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- pods: pod ns1/web -*",
            "phase Running kept=True",
            "*- pods: pod ns1/db -*",
            "phase Pending",
        ]
    )
    assert result.stdout.str().count("pods: pod ns1/web") == 1


def test_xdist_workers_share_one_cluster_behind_a_lock(pytester: pytest.Pytester, fake: Path) -> None:
    out = pytester.path / "runs"
    out.mkdir()
    pytester.makepyfile(f"""
        import pytest
        @pytest.mark.parametrize("i", range(4))
        def test_x(pods_cluster, i):
            path = __import__("pathlib").Path({str(out)!r}) / f"{{pods_cluster.worker}}-{{i}}"
            path.write_text(pods_cluster.run_id)
    """)
    result = pytester.runpytest("-n", "2", "--pods-provider=fake", "--pods-keep-cluster=no")
    result.assert_outcomes(passed=4)
    starts = [e for e in events(fake) if e["event"] == "start"]
    assert sorted(str(e["worker"]) for e in starts) == ["gw0", "gw1"]
    first, second = sorted(starts, key=lambda e: float(str(e["began"])))
    assert float(str(second["began"])) >= float(str(first["ended"])), "start() ran in two workers at once"
    assert len({p.read_text() for p in out.iterdir()}) == 1, "workers disagree on the run id"
    assert {p.name.split("-")[0] for p in out.iterdir()} <= {"gw0", "gw1"}
    assert [e["event"] for e in events(fake)].count("stop") == 1


def test_preload_images_are_loaded_once_per_run(pytester: pytest.Pytester, fake: Path) -> None:
    conftest = pytester.path / "conftest.py"
    conftest.write_text(
        conftest.read_text().replace(
            "    def load_images(self, archives, progress):\n        pass",
            "    def load_images(self, archives, progress):\n"
            "        with LOG.open('a') as f:\n"
            "            names = [str(a) for a in archives]\n"
            "            f.write(json.dumps({'event': 'load', 'archives': names}) + '\\n')",
        )
    )
    (pytester.path / "app.tar").write_bytes(b"")
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("i", range(4))
        def test_x(pods_cluster, i):
            pass
    """)
    result = pytester.runpytest("-n", "2", "--pods-provider=fake", "--pods-preload-image=app.tar")
    result.assert_outcomes(passed=4)
    loads = [e for e in events(fake) if e["event"] == "load"]
    assert loads == [{"event": "load", "archives": [str(pytester.path / "app.tar")]}]


AUDIT_CONFTEST = """
import json, sys
from pathlib import Path

CALLS = []
WATCHED = ("subprocess.Popen", "os.posix_spawn", "os.fork", "os.exec", "os.system", "socket.connect",
           "socket.getaddrinfo")

def _audit(event, args):
    if event in WATCHED:
        CALLS.append([event, repr(args)[:200]])

sys.addaudithook(_audit)

def pytest_unconfigure(config):
    Path({out!r}).write_text(json.dumps(CALLS))
"""


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (
            (),
            "pods: provider auto (the first of kind, local that can work here, decided at the first pods "
            "fixture)",
        ),
        (("--pods-provider=kind",), "pods: provider kind; cluster: kind cluster 'pytest-pods' *"),
        (("--pods-provider=local",), "pods: provider local; cluster: local Docker-free cluster *"),
        (("--pods-provider=existing", "--pods-kubeconfig=kc", "--pods-context=only"), "*context only at *"),
    ],
)
def test_a_session_without_pods_tests_runs_no_subprocess_and_no_network(
    pytester: pytest.Pytester, args: tuple[str, ...], header: str
) -> None:
    out = pytester.path / "calls.json"
    (pytester.path / "kc").write_text(KUBECONFIG)
    pytester.makeconftest(AUDIT_CONFTEST.format(out=str(out)))
    pytester.makepyfile("def test_plain(): assert 1 + 1 == 2")
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([header])
    assert json.loads(out.read_text()) == []


def test_the_audit_hook_does_see_a_subprocess(pytester: pytest.Pytester) -> None:
    """The test above would pass if the hook saw nothing at all: show it sees a call."""
    out = pytester.path / "calls.json"
    pytester.makeconftest(AUDIT_CONFTEST.format(out=str(out)))
    pytester.makepyfile("def test_spawns(): __import__('subprocess').run(['true'], check=True)")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert [c[0] for c in json.loads(out.read_text())][:1] == ["subprocess.Popen"]


def test_auto_is_decided_once_per_run_under_xdist(
    pytester: pytest.Pytester, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_pods.providers.kind import KindProvider

    # the inner conftest patches the class in this process too: put it back afterwards
    monkeypatch.setattr(KindProvider, "unavailable", KindProvider.unavailable)
    monkeypatch.setattr(KindProvider, "start", KindProvider.start)
    log = pytester.path / "probes.jsonl"
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    pytester.makeconftest(f"""
        import json, os
        from pathlib import Path
        from pytest_pods.providers.base import ClusterInfo
        from pytest_pods.providers.kind import KindProvider

        def unavailable(self):
            with open({str(log)!r}, "a") as f:
                f.write(json.dumps(os.environ.get("PYTEST_XDIST_WORKER", "main")) + "\\n")
            return None

        def start(self, progress):
            kubeconfig = Path({str(kubeconfig)!r})
            return ClusterInfo("kind", kubeconfig, None, "v1.99.0", "patched kind", reused=True)

        KindProvider.unavailable = unavailable
        KindProvider.start = start
    """)
    pytester.makepyfile("""
        import pytest
        @pytest.mark.parametrize("i", range(6))
        def test_x(pods_cluster, i):
            assert pods_cluster.info.provider == "kind"
    """)
    result = pytester.runpytest("-n", "2", "--pods-provider=auto")
    result.assert_outcomes(passed=6)
    assert len(log.read_text().splitlines()) == 1, "auto probed more than once in one run"
    assert not list(state_dir.glob("provider-*.json")), "the run's choice outlived the run"
    assert not list(state_dir.glob("started-*")) and not list(state_dir.glob("images-*"))


# The scope of a namespace, through pytest's own scopes. Only the wiring: the API calls that make,
# delete and keep a namespace, and the apply itself, are recorded instead of sent (tests/cluster
# does the same against the real cluster).
STAND_IN_API = """

import os as _os
from pytest_pods import diagnostics, namespaces, session
from pytest_pods.kube import Kube

API = Path({api!r})

def _log(**event):
    with API.open("a") as f:
        f.write(json.dumps({{"worker": _os.environ.get("PYTEST_XDIST_WORKER", "main"), **event}}) + "\\n")

def _request(self, method, path, **kw):
    parts = path.strip("/").split("/")
    if method == "POST" and path == "/api/v1/namespaces":
        meta = kw["body"]["metadata"]
        _log(event="create", ns=meta["name"], owner=meta["annotations"]["pytest-pods/nodeid"])
    elif method == "DELETE" and len(parts) == 4 and parts[2] == "namespaces":
        _log(event="delete", ns=parts[3])
    elif method == "PATCH" and len(parts) == 4:
        _log(event="keep", ns=parts[3])
    return {{}}

def _apply(self, manifest, *, wait=False, timeout=None):
    _log(event="apply", ns=self.name, manifest=str(manifest), how="and wait" if wait else "(prepare)")
    if "broken" in str(manifest):
        raise RuntimeError(f"{{manifest}}: pod never Ready")
    return [str(manifest)]

def _wait_up(self, objs, timeout=None, stop=None, kube=None):
    # a prepared namespace's wait runs in a background thread: its place among the other events
    # varies, so the tests check it apart (``waited``)
    _log(event="wait", ns=self.name, manifest=",".join(objs), how="waited for (prepared)")

def _sections(kube, where):
    return [(f"pod {{where.namespace}}/web", f"kept={{where.kept}}")]

import pytest as _pytest

@_pytest.fixture(autouse=True, scope="session")
def _stand_in_api():
    # undone at the end: pytester runs this session inside the outer one
    with _pytest.MonkeyPatch.context() as mp:
        mp.setattr(Kube, "request", _request)
        mp.setattr(session.Namespace, "apply", _apply)
        mp.setattr(session.Namespace, "wait_up", _wait_up)
        mp.setattr(namespaces, "wait_gone", lambda kube, selector, timeout: [])
        mp.setattr(diagnostics, "collect", _sections)
        yield

@_pytest.fixture(autouse=True)
def _record_test(request):
    yield
    ns = request.node.stash.get(__import__("pytest_pods.pluginstate").pluginstate.NAMESPACE_KEY, None)
    _log(event="test", test=request.node.name, ns=ns.name if ns else None)
"""


@pytest.fixture
def api(pytester: pytest.Pytester, fake: Path) -> Path:
    """The fake provider plus a recorded stand-in for the namespace API calls; returns the record."""
    log = pytester.path / "api.jsonl"
    conftest = pytester.path / "conftest.py"
    conftest.write_text(conftest.read_text() + STAND_IN_API.format(api=str(log)))
    return log


def api_events(log: Path, *kinds: str) -> list[dict[str, str]]:
    return [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] in kinds]


def test_module_scope_shares_one_namespace_applied_once_and_deleted_at_the_modules_end(
    pytester: pytest.Pytester, api: Path
) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        pytestmark = pytest.mark.pods_manifest("web.yaml", scope="module")
        def test_one(pods_namespace): pass
        def test_two(pods_namespace): pass
        @pytest.mark.pods_manifest("extra.yaml")
        def test_own(pods_namespace): pass
        def test_three(pods_namespace): pass
        """,
        test_b="""
        import pytest
        pytestmark = pytest.mark.pods_manifest("web.yaml", scope="module")
        def test_four(pods_namespace): pass
        """,
    )
    result = pytester.runpytest("--pods-provider=fake")
    result.assert_outcomes(passed=5)
    seen = api_events(api, "create", "apply", "test", "delete")
    names = {e["test"]: e["ns"] for e in seen if e["event"] == "test"}
    shared_a, own, shared_b = names["test_one"], names["test_own"], names["test_four"]
    assert names["test_two"] == names["test_three"] == shared_a
    assert len({shared_a, own, shared_b}) == 3
    assert [describe(e) for e in seen] == [
        f"create {shared_a} for test_a.py",
        f"apply web.yaml into {shared_a} and wait",
        # while the module's first test runs, the next two namespaces needed are prepared (their
        # waits run in the background); test_three shares the module's
        f"create {own} for test_a.py::test_own",
        f"apply web.yaml into {own} (prepare)",
        f"apply extra.yaml into {own} (prepare)",
        f"create {shared_b} for test_b.py",
        f"apply web.yaml into {shared_b} (prepare)",
        f"test_one used {shared_a}",
        f"test_two used {shared_a}",
        # a test that adds a per-test manifest gets its own namespace, with the module's applied too
        f"test_own used {own}",
        f"delete {own}",
        f"test_three used {shared_a}",
        f"delete {shared_a}",  # after the module's last test
        f"test_four used {shared_b}",
        f"delete {shared_b}",
    ]
    assert waited_before_use(api) == [
        f"web.yaml into {own}",
        f"extra.yaml into {own}",
        f"web.yaml into {shared_b}",
    ]


def waited_before_use(log: Path) -> list[str]:
    """The background waits of prepared namespaces, sorted; each ended before a test used its namespace."""
    seen = api_events(log, "wait", "test")
    waits = []
    for i, e in enumerate(seen):
        if e["event"] == "wait":
            assert any(t["event"] == "test" and t["ns"] == e["ns"] for t in seen[i + 1 :]), e
            waits.append(f"{e['manifest']} into {e['ns']}")
    used = [e["ns"] for e in seen if e["event"] == "test"]
    return sorted(waits, key=lambda w: (used.index(w.split(" into ")[1]), w.split(" into ")[0] != "web.yaml"))


def describe(e: dict[str, str]) -> str:
    return {
        "create": "create {ns} for {owner}",
        "apply": "apply {manifest} into {ns} {how}",
        "test": "{test} used {ns}",
        "delete": "delete {ns}",
        "keep": "keep {ns}",
    }[e["event"]].format(**e)


def test_class_and_session_scopes(pytester: pytest.Pytester, api: Path) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        @pytest.mark.pods_manifest("web.yaml", scope="class")
        class TestOne:
            def test_1(self, pods_namespace): pass
            def test_2(self, pods_namespace): pass
        @pytest.mark.pods_manifest("web.yaml", scope="class")
        class TestTwo:
            def test_3(self, pods_namespace): pass
        @pytest.mark.pods_manifest("db.yaml", scope="session")
        def test_4(pods_namespace): pass
        """,
        test_b="""
        import pytest
        @pytest.mark.pods_manifest("db.yaml", scope="session")
        def test_5(pods_namespace): pass
        """,
    )
    pytester.runpytest("--pods-provider=fake").assert_outcomes(passed=5)
    seen = api_events(api, "create", "apply", "test", "delete")
    ns = {e["test"]: e["ns"] for e in seen if e["event"] == "test"}
    assert ns["test_1"] == ns["test_2"] != ns["test_3"]
    assert ns["test_4"] == ns["test_5"]
    assert [describe(e) for e in seen] == [
        f"create {ns['test_1']} for test_a.py::TestOne",
        f"apply web.yaml into {ns['test_1']} and wait",
        f"create {ns['test_3']} for test_a.py::TestTwo",
        f"apply web.yaml into {ns['test_3']} (prepare)",
        f"create {ns['test_4']} for session",
        f"apply db.yaml into {ns['test_4']} (prepare)",
        "test_1 used " + ns["test_1"],
        "test_2 used " + ns["test_1"],
        f"delete {ns['test_1']}",
        "test_3 used " + ns["test_3"],
        f"delete {ns['test_3']}",
        "test_4 used " + ns["test_4"],
        "test_5 used " + ns["test_4"],
        f"delete {ns['test_4']}",
    ]
    assert waited_before_use(api) == [f"web.yaml into {ns['test_3']}", f"db.yaml into {ns['test_4']}"]


SHARED_WITH_A_FAILURE = """
import pytest
pytestmark = pytest.mark.pods_manifest("web.yaml", scope="module")
def test_passes(pods_namespace): pass
def test_fails(pods_namespace): assert False, "the test's own failure"
def test_passes_too(pods_namespace): pass
"""


@pytest.mark.parametrize(("policy", "kept"), [("on-failure", True), ("never", False), ("always", True)])
def test_a_shared_namespace_is_kept_if_a_test_that_used_it_failed(
    pytester: pytest.Pytester, api: Path, policy: str, kept: bool
) -> None:
    pytester.makepyfile(test_a=SHARED_WITH_A_FAILURE)
    result = pytester.runpytest("--pods-provider=fake", f"--pods-keep-namespace={policy}", "-rA")
    result.assert_outcomes(passed=2, failed=1)
    (ns,) = {e["ns"] for e in api_events(api, "create")}
    # the failing test's report has a section per pod of the shared namespace; the others have none
    result.stdout.fnmatch_lines(
        ["*_ test_fails _*", "*the test's own failure*", f"*- pods: pod {ns}/web -*", f"kept={kept}"]
    )
    assert result.stdout.str().count(f"pods: pod {ns}/web") == 1
    assert [describe(e) for e in api_events(api, "keep", "delete")] == [
        f"keep {ns}" if kept else f"delete {ns}"
    ]
    if kept:
        result.stdout.fnmatch_lines(
            [
                f"kept namespace {ns} until 20*Z (--pods-keep-for*): kubectl * get all,events; "
                f"kubectl --kubeconfig * delete namespace {ns}"
            ]
        )


def test_a_shared_namespace_without_failures_is_not_kept_on_failure(
    pytester: pytest.Pytester, api: Path
) -> None:
    pytester.makepyfile(
        test_a=SHARED_WITH_A_FAILURE.replace('assert False, "the test\'s own failure"', "pass")
    )
    pytester.runpytest("--pods-provider=fake", "--pods-keep-namespace=on-failure").assert_outcomes(passed=3)
    (ns,) = {e["ns"] for e in api_events(api, "create")}
    assert [describe(e) for e in api_events(api, "keep", "delete")] == [f"delete {ns}"]


def test_a_failed_shared_setup_is_applied_once_and_errors_every_test_of_the_scope(
    pytester: pytest.Pytester, api: Path
) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        pytestmark = pytest.mark.pods_manifest("broken.yaml", scope="module")
        def test_1(pods_namespace): pass
        def test_2(pods_namespace): pass
        """
    )
    result = pytester.runpytest("--pods-provider=fake", "--pods-keep-namespace=on-failure")
    result.assert_outcomes(errors=2)
    (ns,) = {e["ns"] for e in api_events(api, "create")}
    assert [describe(e) for e in api_events(api, "apply", "keep", "delete")] == [
        f"apply broken.yaml into {ns} and wait",
        f"keep {ns}",
    ]
    result.stdout.fnmatch_lines(
        [
            "ERROR test_a.py::test_1 - RuntimeError: broken.yaml: pod never Ready",
            "ERROR test_a.py::test_2 - RuntimeError: broken.yaml: pod never Ready",
        ]
    )
    assert result.stdout.str().count(f"pods: pod {ns}/web") == 2


@pytest.mark.parametrize("dist", ["loadscope", "load"])
def test_under_xdist_a_shared_namespace_belongs_to_one_worker(
    pytester: pytest.Pytester, api: Path, dist: str
) -> None:
    marker = 'import pytest\npytestmark = pytest.mark.pods_manifest("web.yaml", scope="module")\n'
    tests = "\n".join(f"def test_{i}(pods_namespace): pass" for i in range(6))
    pytester.makepyfile(test_a=marker + tests, test_b=marker + tests)
    pytester.runpytest("--pods-provider=fake", "-n", "2", f"--dist={dist}").assert_outcomes(passed=12)
    created = api_events(api, "create")
    made_by = {e["ns"]: e["worker"] for e in created}
    used = api_events(api, "test")
    # every test used a namespace its own worker made, which that worker deleted
    assert all(made_by[e["ns"]] == e["worker"] for e in used)
    assert sorted(e["ns"] for e in api_events(api, "delete")) == sorted(made_by)
    assert {e["worker"] for e in api_events(api, "delete") for c in created if c["ns"] == e["ns"]} <= {
        "gw0",
        "gw1",
    }
    if dist == "loadscope":  # a module runs on one worker: one namespace per module, applied once
        assert sorted(e["owner"] for e in created) == ["test_a.py", "test_b.py"]
        assert len(api_events(api, "apply")) == 2


def test_a_prepared_namespace_no_test_used_is_deleted_at_the_end(
    pytester: pytest.Pytester, api: Path
) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        @pytest.mark.pods_manifest("web.yaml")
        def test_1(pods_namespace): assert False
        @pytest.mark.pods_manifest("db.yaml")
        def test_2(pods_namespace): pass
        """
    )
    pytester.runpytest("--pods-provider=fake", "-x").assert_outcomes(failed=1)
    first, prepared = (e["ns"] for e in api_events(api, "create"))
    assert [describe(e) for e in api_events(api, "apply", "delete")] == [
        f"apply web.yaml into {first} and wait",
        f"apply db.yaml into {prepared} (prepare)",  # for test_2, which -x never runs
        f"delete {first}",
        f"delete {prepared}",
    ]
