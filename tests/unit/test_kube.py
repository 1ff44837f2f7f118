"""kube.py: retries (a scripted ApiClient), and the watch loop against a fake HTTP API server on
127.0.0.1 (pure logic: list, watch, 410 and ERROR events, re-list)."""

from __future__ import annotations

import pytest


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
    from pytest_pods.errors import ApiError

    monkeypatch.setattr(kube, "wait_exponential", lambda **kw: lambda state: 0)
    reset = urllib3.exceptions.ProtocolError("connection reset")
    reads = _FakeApiClient([reset, _FakeResponse(200, b"{}")])
    assert kube.Kube(reads).request("GET", "/version") == {}
    writes = _FakeApiClient([reset, _FakeResponse(200, b"{}")])
    with pytest.raises(ApiError) as info:
        kube.Kube(writes).request("POST", "/api/v1/namespaces")
    assert writes.calls == 1
    assert (info.value.status, info.value.reason) == (0, "NoAnswer")
    assert "connection reset" in info.value.message


# --- Kube.watch against a fake API server on 127.0.0.1 ------------------------------------------

import json  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

from pytest_pods.errors import ApiError, ConfigError, KubeconfigError  # noqa: E402
from pytest_pods.kube import Kube, WatchEvent  # noqa: E402

Answer = tuple[int, list[dict[str, object]] | dict[str, object]]


class FakeApi:
    """Answers each GET from a script: a list answer (status, JSON object) or a watch answer
    (status, events written one per line, then the connection is closed). Records each query."""

    def __init__(self) -> None:
        self.lists: list[Answer] = []
        self.watches: list[Answer] = []
        self.queries: list[dict[str, str]] = []

    def answer(self, query: dict[str, str]) -> Answer:
        self.queries.append(query)
        script = self.watches if query.get("watch") == "true" else self.lists
        return script.pop(0) if script else (500, {"message": "the script is over"})


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[FakeApi, Kube]]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes, as a watch does

        def do_GET(self) -> None:
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            status, body = fake.answer(query)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if body == []:
                time.sleep(0.2)  # a watch that sees nothing, then ends
            if isinstance(body, list):
                for event in body:
                    self.wfile.write(json.dumps(event).encode() + b"\n")
                    self.wfile.flush()
            else:
                self.wfile.write(json.dumps(body).encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    kube = Kube.from_kubeconfig(kubeconfig)
    try:
        yield fake, kube
    finally:
        kube.close()
        server.shutdown()
        server.server_close()


def listing(version: str, *names: str) -> dict[str, object]:
    return {"metadata": {"resourceVersion": version}, "items": [{"metadata": {"name": n}} for n in names]}


def event(kind: str, name: str, version: str) -> dict[str, object]:
    return {"type": kind, "object": {"metadata": {"name": name, "resourceVersion": version}}}


def steps(events: Iterator[WatchEvent], count: int) -> list[tuple[str, list[str]]]:
    """The first ``count`` events as (type, names): a LISTED event's items, else its object."""
    got = []
    for e in events:
        names = (
            [i["metadata"]["name"] for i in e.items] if e.type == "LISTED" else [e.object["metadata"]["name"]]
        )
        got.append((e.type, names))
        if len(got) == count:
            break
    return got


def test_watch_lists_then_watches_from_the_lists_version(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists.append((200, listing("10", "a")))
    fake.watches.append(
        (200, [event("ADDED", "b", "11"), event("BOOKMARK", "", "12"), event("MODIFIED", "a", "13")])
    )
    got = steps(kube.watch("/api/v1/pods", query={"labelSelector": "x=y"}, timeout=30), 3)
    assert got == [("LISTED", ["a"]), ("ADDED", ["b"]), ("MODIFIED", ["a"])]  # no BOOKMARK
    watch = fake.queries[1]
    assert (watch["watch"], watch["resourceVersion"], watch["labelSelector"]) == ("true", "10", "x=y")
    assert fake.queries[0] == {"labelSelector": "x=y"}


def test_an_error_event_410_means_list_again(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists += [(200, listing("10", "a")), (200, listing("20", "a", "b"))]
    gone: dict[str, object] = {
        "type": "ERROR",
        "object": {"kind": "Status", "code": 410, "reason": "Expired"},
    }
    fake.watches += [(200, [gone]), (200, [event("DELETED", "a", "21")])]
    got = steps(kube.watch("/api/v1/pods", timeout=30), 3)
    assert got == [("LISTED", ["a"]), ("LISTED", ["a", "b"]), ("DELETED", ["a"])]
    assert [q.get("resourceVersion") for q in fake.queries if q.get("watch")] == ["10", "20"]


def test_an_http_410_on_the_watch_means_list_again(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists += [(200, listing("10")), (200, listing("30", "c"))]
    fake.watches += [(410, {"kind": "Status", "code": 410}), (200, [event("ADDED", "d", "31")])]
    got = steps(kube.watch("/api/v1/pods", timeout=30), 3)
    assert got == [("LISTED", []), ("LISTED", ["c"]), ("ADDED", ["d"])]


def test_a_watch_that_ends_is_resumed_by_listing_again(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists += [(200, listing("10", "a")), (200, listing("11", "a", "b"))]
    fake.watches += [(200, []), (200, [event("ADDED", "c", "12")])]  # the server ends the first watch
    got = steps(kube.watch("/api/v1/pods", timeout=30), 3)
    assert got == [("LISTED", ["a"]), ("LISTED", ["a", "b"]), ("ADDED", ["c"])]


def test_another_error_event_is_an_api_error(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists.append((200, listing("10")))
    failure: dict[str, object] = {
        "type": "ERROR",
        "object": {"kind": "Status", "code": 500, "reason": "InternalError", "message": "etcd"},
    }
    fake.watches.append((200, [failure]))
    with pytest.raises(ApiError) as info:
        steps(kube.watch("/api/v1/pods", timeout=30), 5)
    assert (info.value.status, info.value.reason, info.value.message) == (500, "InternalError", "etcd")


def test_a_refused_watch_is_an_api_error(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists.append((200, listing("10")))
    fake.watches.append((403, {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no"}))
    with pytest.raises(ApiError) as info:
        steps(kube.watch("/api/v1/pods", timeout=30), 5)
    assert (info.value.status, info.value.reason) == (403, "Forbidden")


def test_a_refused_list_is_an_api_error(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists.append((404, {"kind": "Status", "code": 404, "reason": "NotFound", "message": "gone"}))
    with pytest.raises(ApiError) as info:
        steps(kube.watch("/api/v1/namespaces/x/pods", timeout=30), 5)
    assert info.value.status == 404


def test_the_watch_ends_at_its_timeout(api: tuple[FakeApi, Kube]) -> None:
    fake, kube = api
    fake.lists += [(200, listing("10")) for _ in range(50)]
    fake.watches += [(200, []) for _ in range(50)]
    got = list(kube.watch("/api/v1/pods", timeout=1.0))
    assert got and all(e.type == "LISTED" for e in got)
    assert int(fake.queries[1]["timeoutSeconds"]) == 1


@pytest.mark.parametrize(
    ("text", "context", "cause"),
    [
        (None, None, "cannot read it"),
        ("clusters: [\n", None, "ParserError|ScannerError|ConfigException"),
        ("apiVersion: v1\nkind: Config\ncontexts: []\nclusters: []\nusers: []\n", "nowhere", "nowhere"),
    ],
    ids=["missing", "not-yaml", "no-such-context"],
)
def test_a_kubeconfig_it_cannot_use_is_our_error_naming_it(
    tmp_path: Path, text: str | None, context: str | None, cause: str
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    if text is not None:
        kubeconfig.write_text(text)
    with pytest.raises(KubeconfigError, match=cause) as info:
        Kube.from_kubeconfig(kubeconfig, context)
    assert isinstance(info.value, ConfigError)
    assert info.value.kubeconfig == kubeconfig and info.value.context == context
    assert str(kubeconfig) in str(info.value)


def test_warning_headers_are_parsed_one_or_several_to_a_header_and_unescaped() -> None:
    from pytest_pods.kube import parse_warnings

    assert parse_warnings(
        ['299 - "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"']
    ) == ["v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"]
    assert parse_warnings(
        ['299 - "one, with a comma", 299 kube-apiserver "two \\"quoted\\""', '299 - "three"']
    ) == [
        "one, with a comma",
        'two "quoted"',
        "three",
    ]
    assert parse_warnings(["not a warning"]) == []


class _Headers:
    def __init__(self, warnings: list[str]) -> None:
        self._warnings = warnings

    def getlist(self, name: str) -> list[str]:
        return self._warnings if name == "Warning" else []


class _Raw:
    def __init__(self, warnings: list[str]) -> None:
        self.headers = _Headers(warnings)


def test_a_requests_warnings_are_given_to_the_caller_who_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_pods import kube

    monkeypatch.setattr(kube, "wait_exponential", lambda **kw: lambda state: 0)
    answer = _FakeResponse(200, b"{}")
    answer.response = _Raw(['299 - "deprecated"'])  # type: ignore[attr-defined]
    throttled = _FakeResponse(429, b"{}")
    throttled.response = _Raw(['299 - "not this one: the answer was retried"'])  # type: ignore[attr-defined]
    got: list[str] = []
    assert kube.Kube(_FakeApiClient([throttled, answer])).request("PATCH", "/x", warnings=got) == {}
    assert got == ["deprecated"]
    # without a list to fill, nothing is asked of the headers; a response without headers gives none
    assert kube.Kube(_FakeApiClient([_FakeResponse(200, b"{}")])).request("GET", "/x", warnings=got) == {}
    assert got == ["deprecated"]
