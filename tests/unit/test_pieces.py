"""Pure pieces: exec exit status, namespace names and labels, contexts, providers, the public API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pytest_pods
from pytest_pods import namespaces
from pytest_pods.errors import ExecError
from pytest_pods.fixtures import validate_pods_manifest
from pytest_pods.pods import ExecResult, exit_status
from pytest_pods.providers import BUILTIN
from pytest_pods.providers.base import Provider
from pytest_pods.providers.existing import choose_context
from pytest_pods.settings import Settings


def test_exit_status_success_nonzero_and_not_started() -> None:
    assert exit_status('{"metadata":{},"status":"Success"}') == (0, "")
    nonzero = (
        '{"status":"Failure","message":"command terminated with non-zero exit code",'
        '"reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}'
    )
    assert exit_status(nonzero)[0] == 3
    not_found = (
        '{"status":"Failure","message":"exec: \\"nope\\": executable file not found in $PATH: unknown",'
        '"reason":"InternalError"}'
    )
    code, message = exit_status(not_found)
    assert code is None
    assert "executable file not found" in message
    assert exit_status("")[0] is None


def test_exec_result_is_frozen_and_checks() -> None:
    r = ExecResult(("false",), 1, "", "boom", "ns", "p", "c")
    with pytest.raises(AttributeError):
        r.returncode = 0  # type: ignore[misc]
    with pytest.raises(ExecError, match="exited 1") as info:
        r.check_returncode()
    assert info.value.stderr == "boom"
    ExecResult(("true",), 0, "", "", "ns", "p", "c").check_returncode()


def test_namespace_names_are_unique_dns_labels() -> None:
    nodeid = (
        "tests/cluster/test_x.py::TestThing::test_a_very_long_name_with_Params[nginx:latest-" + "x" * 80 + "]"
    )
    names = {namespaces.namespace_name(nodeid) for _ in range(20)}
    assert len(names) == 20
    for name in names:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name)
        assert len(name) <= 63
        assert name.startswith("pp-test-a-very-long-name")


def test_labels_are_valid_label_values() -> None:
    labels = namespaces.namespace_labels("tests/t.py::test_x[a/b c]" + "y" * 80, "run1", "gw0")
    assert set(labels) == {namespaces.TEST_LABEL, namespaces.RUN_LABEL, namespaces.WORKER_LABEL}
    for value in labels.values():
        assert re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value)
        assert len(value) <= 63
    assert labels[namespaces.WORKER_LABEL] == "gw0"
    assert labels[namespaces.TEST_LABEL].endswith("yyy")


def _kubeconfig(path: Path, contexts: list[str], current: str | None) -> Path:
    import yaml

    data = {"apiVersion": "v1", "kind": "Config", "contexts": [{"name": c, "context": {}} for c in contexts]}
    if current:
        data["current-context"] = current
    path.write_text(yaml.safe_dump(data))
    return path


def test_context_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "default-config"))
    one = _kubeconfig(tmp_path / "one", ["only"], "only")
    several = _kubeconfig(tmp_path / "several", ["a", "b"], "b")
    default = _kubeconfig(tmp_path / "default-config", ["prod"], "prod")
    assert choose_context(one, None) == "only"
    assert choose_context(several, "a") == "a"
    assert choose_context(several, "current") == "b"
    with pytest.raises(pytest.UsageError, match=r"has 2 contexts.*valid: a, b"):
        choose_context(several, None)
    with pytest.raises(pytest.UsageError, match=r"'c' is not a context.*valid: a, b, or 'current'"):
        choose_context(several, "c")
    with pytest.raises(pytest.UsageError, match=r"your default kubeconfig.*--pods-context=current"):
        choose_context(default, None)
    assert choose_context(default, "current") == "prod"


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_provider_satisfies_the_protocol(name: str) -> None:
    provider = BUILTIN[name](Settings())
    assert isinstance(provider, Provider)
    assert provider.name == name


def test_existing_provider_requires_a_kubeconfig() -> None:
    problem = BUILTIN["existing"](Settings()).unavailable()
    assert problem is not None
    assert "--pods-kubeconfig" in problem


def test_public_api_is_sorted_and_honest() -> None:
    assert pytest_pods.__all__ == sorted(pytest_pods.__all__)
    for name in pytest_pods.__all__:
        assert getattr(pytest_pods, name) is not None
    public = {
        n
        for n in vars(pytest_pods)
        if not n.startswith("_") and not isinstance(getattr(pytest_pods, n), type(re))
    }
    assert public - {"pytest"} == set(pytest_pods.__all__)


def test_marker_signature() -> None:
    assert validate_pods_manifest("a.yaml", wait=False, timeout=3) == (("a.yaml",), False, 3)
    with pytest.raises(TypeError, match="at least one manifest"):
        validate_pods_manifest()
    with pytest.raises(TypeError, match="unexpected keyword argument 'wiat'"):
        validate_pods_manifest("a.yaml", wiat=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="timeout"):
        validate_pods_manifest("a.yaml", timeout="soon")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "failed", "kept"),
    [
        ("never", True, False),
        ("on-failure", True, True),
        ("on-failure", False, False),
        ("always", False, True),
    ],
)
def test_keep_namespace_rule(when: str, failed: bool, kept: bool) -> None:
    from types import SimpleNamespace

    from pytest_pods.fixtures import PHASE_REPORTS_KEY, keep_namespace

    item = SimpleNamespace(stash={PHASE_REPORTS_KEY: {"call": SimpleNamespace(failed=failed)}})
    assert keep_namespace(Settings(keep_namespace=when), item) is kept  # type: ignore[arg-type]


def test_auto_prefers_kind_then_local_then_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_pods.providers as providers
    from pytest_pods.errors import ProviderError

    monkeypatch.setattr(providers, "kind_binary", lambda settings: Path("/usr/bin/kind"))
    monkeypatch.setattr(providers, "docker_unavailable", lambda: None)
    monkeypatch.setattr(providers, "local_unavailable", lambda: None)
    assert providers.choose_auto(Settings())[0] == "kind"
    monkeypatch.setattr(providers, "docker_unavailable", lambda: "`docker info` failed")
    assert providers.choose_auto(Settings()) == ("local", "no Docker engine answers")
    monkeypatch.setattr(providers, "local_unavailable", lambda: "the local provider needs root")
    with pytest.raises(ProviderError) as info:
        providers.choose_auto(Settings())
    text = str(info.value)
    assert "kind: `docker info` failed -> install Docker and kind" in text
    assert "local: the local provider needs root" in text
    assert "--pods-provider=existing --pods-kubeconfig PATH" in text


# --- kube.Kube retries (tenacity) ----------------------------------------------------------------


class _FakeResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self._body = body

    def read(self) -> bytes:
        return self._body


class _FakeApiClient:
    """Stands in for kubernetes.ApiClient's two calls; answers from a script."""

    def __init__(self, script: list[object]) -> None:
        self.script = script
        self.calls = 0

    def param_serialize(self, **kw: object) -> tuple[object, ...]:
        return (kw["method"], kw["resource_path"], {}, None, None)

    def call_api(self, *args: object, **kw: object) -> _FakeResponse:
        self.calls += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        assert isinstance(step, _FakeResponse)
        return step


def test_throttled_requests_are_retried_until_they_succeed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_pods import kube

    monkeypatch.setattr(kube, "wait_exponential", lambda **kw: lambda state: 0)
    fake = _FakeApiClient(
        [_FakeResponse(429, b"{}"), _FakeResponse(503, b"{}"), _FakeResponse(200, b'{"ok": 1}')]
    )
    assert kube.Kube(fake).request("POST", "/api/v1/namespaces") == {"ok": 1}
    assert fake.calls == 3


def test_retries_are_bounded_and_the_last_answer_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_pods import kube
    from pytest_pods.errors import ApiError

    monkeypatch.setattr(kube, "wait_exponential", lambda **kw: lambda state: 0)
    fake = _FakeApiClient([_FakeResponse(503, b'{"message": "busy"}') for _ in range(kube.RETRY_ATTEMPTS)])
    with pytest.raises(ApiError) as info:
        kube.Kube(fake).request("GET", "/api/v1/pods")
    assert info.value.status == 503
    assert fake.calls == kube.RETRY_ATTEMPTS


def test_a_dropped_connection_is_retried_for_reads_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib3

    from pytest_pods import kube

    monkeypatch.setattr(kube, "wait_exponential", lambda **kw: lambda state: 0)
    reset = urllib3.exceptions.ProtocolError("connection reset")
    reads = _FakeApiClient([reset, _FakeResponse(200, b"{}")])
    assert kube.Kube(reads).request("GET", "/version") == {}
    writes = _FakeApiClient([reset, _FakeResponse(200, b"{}")])
    with pytest.raises(urllib3.exceptions.ProtocolError):
        kube.Kube(writes).request("POST", "/api/v1/namespaces")
    assert writes.calls == 1
