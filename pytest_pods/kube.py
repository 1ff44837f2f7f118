"""The one API client: a thin JSON client over the official kubernetes ``ApiClient``.

Every call to the API server goes through :class:`Kube`: requests, watches, exec, attach, logs
(following too) and port-forwards (whose local listener, :class:`~pytest_pods.portforward.PortForward`,
lives beside it). It takes and gives plain data (the API's own JSON, camelCase keys; strings; a
local port), retries where that is safe (throttling, unavailability, a dropped read), and raises
only :class:`~pytest_pods.errors.ApiError` (and :class:`~pytest_pods.errors.KubeconfigError` for a
kubeconfig it cannot use): neither the kubernetes client's ``ApiException`` or ``ConfigException``
nor urllib3's or websocket's errors get past it. Everything above works on plain dicts, so that
pure functions (waits, diagnostics) can be tested with literal dicts.
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import re
import selectors
import socket
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
import yaml
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pytest_pods.errors import ApiError, KubeconfigError
from pytest_pods.portforward import ForwardProblem, PortForward, close_tracked, open_tracked

JSON = dict[str, Any]

# Answers that mean "not processed, try again": throttled, or the server is briefly unavailable
# (an API server that is still starting, or one restarting under a long test run).
RETRY_STATUSES = frozenset({429, 503, 504})
RETRY_ATTEMPTS = 5


def _decode(raw: bytes) -> JSON | None:
    """An answer's JSON object; a body that is not JSON becomes ``{"message": <its text>}``."""
    if not raw:
        return None
    try:
        decoded = json.loads(raw)
    except ValueError:
        return {"message": raw.decode(errors="replace")[:2000]}
    return decoded if isinstance(decoded, dict) else None


_WARNING = re.compile(r'(\d{3})\s+(\S+)\s+"((?:[^"\\]|\\.)*)"')


def parse_warnings(values: Sequence[str]) -> list[str]:
    """The texts of an answer's ``Warning`` headers (RFC 9111: ``299 - "text"``; the API server sends
    one header per warning, and a header may hold several, comma-separated), unescaped, in order."""
    out = []
    for value in values:
        for _code, _agent, text in _WARNING.findall(value):
            out.append(re.sub(r"\\(.)", r"\1", text))
    return out


def _warning_headers(resp: Any) -> list[str]:
    """The ``Warning`` header values of a kubernetes client response (none if it has no headers)."""
    headers = getattr(getattr(resp, "response", None), "headers", None)
    getlist = getattr(headers, "getlist", None)
    return [str(v) for v in getlist("Warning")] if callable(getlist) else []


class _Transient(Exception):
    def __init__(self, status: int, raw: bytes) -> None:
        self.status = status
        self.raw = raw


@dataclass(frozen=True)
class WatchEvent:
    """One step of :meth:`Kube.watch`.

    ``type`` is ``"LISTED"`` for a fresh listing (``object`` is the whole list: ``items`` and
    ``metadata.resourceVersion``), sent first and again after every re-list; otherwise the watch
    event's own type (``ADDED``, ``MODIFIED``, ``DELETED``) and the object it carries.
    """

    type: str
    object: JSON

    @property
    def items(self) -> list[JSON]:
        """A ``LISTED`` event's objects."""
        return list(self.object.get("items") or [])


def _retryable(method: str) -> Any:
    """Throttling and unavailability are retried for every method; a dropped connection only for
    reads, since a write may have been done before the answer was lost."""

    def check(exc: BaseException) -> bool:
        if isinstance(exc, _Transient):
            return True
        return method == "GET" and isinstance(exc, urllib3.exceptions.HTTPError | ConnectionError)

    return retry_if_exception(check)


@dataclass(frozen=True)
class ExecOutput:
    """What an exec stream gave: its stdout and stderr, the ``Status`` of its error channel (JSON
    text, empty if none came), and whether the command was still running when the time was up."""

    stdout: str
    stderr: str
    status: str
    timed_out: bool


def _stream_error(method: str, path: str, exc: Exception) -> ApiError:
    """An :class:`ApiError` for a failed websocket or streaming call (the kubernetes client puts the
    handshake's HTTP status and body in its exception's text)."""
    status = int(getattr(exc, "status", 0) or 0)
    text = str(getattr(exc, "reason", "") or "") or str(exc)
    found = re.search(r"Handshake status (\d+)", text)
    if found:
        status = int(found.group(1))
    body: JSON = {"message": text[:2000]}
    raw = getattr(exc, "body", None)
    if raw:
        body = _decode(raw if isinstance(raw, bytes) else str(raw).encode()) or body
    else:
        start = text.find("{")
        with contextlib.suppress(ValueError):
            decoded = json.loads(text[start : text.rfind("}") + 1]) if start >= 0 else None
            if isinstance(decoded, dict):
                body = decoded
    return ApiError(method, path, status, body)


class Kube:
    """An API client bound to one kubeconfig and context."""

    def __init__(
        self, api_client: object, kubeconfig: Path | None = None, context: str | None = None
    ) -> None:
        self._api: Any = api_client
        self.kubeconfig = kubeconfig
        self.context = context
        self._core_api: Any = None

    def __repr__(self) -> str:
        return f"<Kube {self.server} context={self.context}>"

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, context: str | None = None) -> Kube:
        """A client for ``context`` (else the current one) of ``kubeconfig``; a file that cannot be
        read or used is a :class:`~pytest_pods.errors.KubeconfigError` naming it and the cause."""
        from kubernetes import config
        from kubernetes.config.config_exception import ConfigException

        try:
            kubeconfig.read_bytes()  # the client would say only "No configuration found"
            api = config.new_client_from_config(
                config_file=str(kubeconfig), context=context, persist_config=False
            )
        except OSError as exc:
            raise KubeconfigError(kubeconfig, context, f"cannot read it: {exc}") from exc
        except (ConfigException, yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # the kubernetes client's own complaint, or a malformed file it tripped over
            raise KubeconfigError(kubeconfig, context, f"{type(exc).__name__}: {exc}") from exc
        return cls(api, kubeconfig, context)

    @classmethod
    def in_cluster(cls) -> Kube:
        """A client for the pod it runs in: its ServiceAccount's token and CA (a pod's
        ``/var/run/secrets/kubernetes.io/serviceaccount``, ``$KUBERNETES_SERVICE_HOST``). Outside
        a pod, a :class:`~pytest_pods.errors.KubeconfigError` that says so."""
        from kubernetes import client, config
        from kubernetes.config.config_exception import ConfigException

        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise KubeconfigError(
                Path("/var/run/secrets/kubernetes.io/serviceaccount"), None, f"not in a pod? {exc}"
            ) from exc
        return cls(client.ApiClient(configuration))

    @property
    def server(self) -> str:
        """The API server's URL."""
        return str(self._api.configuration.host)

    @property
    def _core(self) -> Any:
        if self._core_api is None:
            from kubernetes import client

            self._core_api = client.CoreV1Api(self._api)
        return self._core_api

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | int | bool] | None,
        body: object,
        content_type: str,
        timeout: float,
        warnings: list[str] | None = None,
    ) -> tuple[int, bytes]:
        params = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()]
        headers = {"Accept": "application/json", "Content-Type": content_type}
        m, url, hdrs, data, _ = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=params or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        status, raw = 0, b""
        retrying = Retrying(
            retry=_retryable(method),
            stop=stop_after_attempt(RETRY_ATTEMPTS),
            wait=wait_exponential(multiplier=0.2, max=3),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    resp = self._api.call_api(m, url, header_params=hdrs, body=data, _request_timeout=timeout)
                    got = resp.read()
                    status, raw = int(resp.status), got if isinstance(got, bytes) else bytes(got or b"")
                    if status in RETRY_STATUSES:
                        raise _Transient(status, raw)
                    if warnings is not None:
                        warnings += parse_warnings(_warning_headers(resp))
        except _Transient as last:  # still throttled after every attempt: report the last answer
            return last.status, last.raw
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # no answer, even after the retries
            raise ApiError(
                method, path, 0, {"reason": "NoAnswer", "message": f"{type(exc).__name__}: {exc}"}
            ) from exc
        return status, raw

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        body: object = None,
        content_type: str = "application/json",
        timeout: float = 30,
        warnings: list[str] | None = None,
    ) -> JSON:
        """Send one request; return the decoded JSON answer or raise :class:`ApiError`. The texts of
        the ``Warning`` headers the server sent with its answer are added to ``warnings``, if given
        (a deprecated API, a field it ignores: what kubectl prints as ``Warning: ...``)."""
        status, raw = self._send(method, path, query, body, content_type, timeout, warnings)
        decoded = _decode(raw)
        if not 200 <= status < 300:
            raise ApiError(method, path, status, decoded)
        return decoded or {}

    def text(
        self, path: str, *, query: Mapping[str, str | int | bool] | None = None, timeout: float = 30
    ) -> str:
        """GET a plain-text resource (e.g. a pod's log)."""
        status, raw = self._send("GET", path, query, None, "application/json", timeout)
        if not 200 <= status < 300:
            raise ApiError("GET", path, status, _decode(raw))
        return raw.decode(errors="replace")

    def watch(
        self,
        path: str,
        *,
        query: Mapping[str, str | int | bool] | None = None,
        timeout: float,
    ) -> Iterator[WatchEvent]:
        """List the collection at ``path``, then watch it from that list's resourceVersion, for at
        most ``timeout`` seconds; the caller stops early by leaving the loop.

        The one list → watch → re-list loop every wait uses: a ``LISTED`` event comes first and
        again whenever the watch must start over (410 Gone: the resourceVersion is too old; a dropped
        connection; the server ending the watch), so no change between list and watch is lost.
        Raises only :class:`ApiError`.
        """
        deadline = time.monotonic() + timeout
        while True:
            listing = self.request("GET", path, query=query)
            yield WatchEvent("LISTED", listing)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
            yield from self._watch_from(path, query, version, remaining)
            if time.monotonic() >= deadline:
                return

    def _watch_from(
        self,
        path: str,
        query: Mapping[str, str | int | bool] | None,
        resource_version: str,
        remaining: float,
    ) -> Iterator[WatchEvent]:
        """The events after ``resource_version``; ends quietly when the watch must start over."""
        params = dict(query or {})
        params.update(
            watch=True,
            resourceVersion=resource_version,
            timeoutSeconds=max(1, math.ceil(remaining)),
            allowWatchBookmarks=True,
        )
        pairs = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()]
        m, url, hdrs, _, _ = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=pairs,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            # the RESTResponse wraps an urllib3 response whose body is not read yet: stream it.
            # The read timeout ends a quiet watch after ``remaining`` seconds on our side too, as
            # the server's timeoutSeconds counts whole seconds (a 1.0s hold window needs 1.0s).
            resp = self._api.call_api(
                m, url, header_params=hdrs, _request_timeout=(10, remaining + 0.05)
            ).response
        except (OSError, urllib3.exceptions.HTTPError):
            return  # cannot connect right now: the caller lists again (with retries) and resumes
        try:
            status = int(resp.status)
            if status == 410:
                return
            if not 200 <= status < 300:
                raise ApiError("GET", path, status, _decode(resp.read()))
            pending = b""
            for chunk in resp.stream(64 * 1024, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind, obj = str(event.get("type", "")), event.get("object") or {}
                    if kind == "ERROR":  # 410 Gone arrives as an ERROR event carrying a Status
                        if obj.get("code") == 410:
                            return
                        raise ApiError("GET", path, int(obj.get("code") or 500), obj)
                    if kind != "BOOKMARK":
                        yield WatchEvent(kind, obj)
        except (OSError, urllib3.exceptions.HTTPError, ValueError):
            return  # the connection dropped or timed out on our side: list again
        finally:
            resp.release_conn()
            resp.close()

    # --- streams: exec, attach, logs, port-forward ----------------------------------------------
    def exec(
        self, namespace: str, pod: str, container: str, command: Sequence[str], *, timeout: float
    ) -> ExecOutput:
        """Run ``command`` in a container (no stdin, no tty) for at most ``timeout`` seconds. Not
        retried: a command may have run before a connection was lost."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import stream
        from kubernetes.stream.ws_client import ERROR_CHANNEL, STDERR_CHANNEL, STDOUT_CHANNEL

        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec"
        try:
            resp: Any = stream(
                self._core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=list(command),
                container=container,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            )
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as exc:
            raise _stream_error("POST", path, exc) from exc
        try:
            resp.run_forever(timeout=timeout)
            timed_out = bool(resp.is_open())
            return ExecOutput(
                resp.read_channel(STDOUT_CHANNEL),
                resp.read_channel(STDERR_CHANNEL),
                resp.read_channel(ERROR_CHANNEL),
                timed_out,
            )
        except Exception as exc:  # the websocket library's errors are not ours to pass on
            raise _stream_error("POST", path, exc) from exc
        finally:
            _close_websocket(resp)

    def attach(self, namespace: str, pod: str, container: str, *, tty: bool = False) -> Attachment:
        """Attach to a running container's output (no stdin), as ``kubectl attach`` does: the stream
        stays open while the container's process runs, and the runtime ends it the moment that
        process exits. An :class:`ApiError` if the container is not running (status 500 from the
        kubelet) or attach is not allowed (403).

        The websocket is opened here, not through the kubernetes client's ``stream()``, which swaps
        the client's request method while it connects: this way other threads can go on using this
        client."""
        from kubernetes.stream.ws_client import WSClient, get_websocket_url

        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/attach"
        flags = {"stdout": True, "stderr": not tty, "stdin": False, "tty": tty}
        query = [("container", container), *((k, str(v).lower()) for k, v in flags.items())]
        _, url, headers, _, _ = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=query,
            header_params={},
            auth_settings=["BearerToken"],
        )
        try:
            ws = WSClient(self._api.configuration, get_websocket_url(url), headers, False)
        except Exception as exc:  # the websocket library's errors are not ours to pass on
            raise _stream_error("GET", path, exc) from exc
        return Attachment(ws)

    @contextlib.contextmanager
    def follow_log(
        self, namespace: str, pod: str, container: str, *, timeout: float
    ) -> Iterator[Iterator[str]]:
        """Follow a container's log for at most ``timeout`` seconds: yields an iterator of its lines
        (from the start), which ends when the log ends (the container stopped) or the time is up.
        Connecting raises :class:`ApiError` (400 while the container waits to start)."""
        from kubernetes.client.exceptions import ApiException

        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        deadline = time.monotonic() + timeout
        try:
            resp: Any = self._core.read_namespaced_pod_log(
                pod,
                namespace,
                container=container,
                follow=True,
                _preload_content=False,
                _request_timeout=(10, max(timeout, 1) + 5),
            )
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as exc:
            raise _stream_error("GET", path, exc) from exc
        lines: queue.Queue[str | None] = queue.Queue()

        def reader() -> None:
            try:
                buffer = b""
                while chunk := resp.read1(65536):  # read1: what has arrived, without waiting for more
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    for raw in complete:
                        lines.put(raw.decode(errors="replace"))
                if buffer:
                    lines.put(buffer.decode(errors="replace"))
            except (OSError, ValueError, urllib3.exceptions.HTTPError):
                pass  # the socket was shut down under us: the follow is over
            finally:
                lines.put(None)

        def until_deadline() -> Iterator[str]:
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    line = lines.get(timeout=remaining)
                except queue.Empty:
                    return
                if line is None:
                    return
                yield line

        thread = threading.Thread(target=reader, name="pytest-pods log follower", daemon=True)
        thread.start()
        try:
            yield until_deadline()
        finally:
            # Shut the socket down first: that wakes the reader blocked in recv at once (closing the
            # response from this thread would wait for that recv to time out).
            sock = getattr(getattr(resp, "connection", None), "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            thread.join(timeout=5)
            resp.close()  # before release_conn: an unread stream must not go back to the pool
            resp.release_conn()

    @contextlib.contextmanager
    def port_forward(self, namespace: str, pod: str, port: int) -> Iterator[PortForward]:
        """Forward a local port on 127.0.0.1 to ``port`` of a pod through the portforward
        subresource; yields the :class:`PortForward` (its ``local_port``, and the ``problems`` of
        connections the pod side refused or cut). Each connection gets its own stream; every
        thread is stopped on exit."""
        forwarder = PortForward(self, namespace, pod, port)
        try:
            yield forwarder
        finally:
            forwarder.close()

    def probe_port(
        self, namespace: str, pod: str, port: int, *, settle: float = 0.25
    ) -> ForwardProblem | None:
        """Open one forward stream to ``port`` of a pod, and see whether the pod side accepts it.

        The runtime dials the port inside the pod as soon as the stream opens, and a refusal comes
        back on the stream's error channel at once (a millisecond after the stream opened, here); so
        a stream still open after ``settle`` seconds (or four times what opening it took, if longer:
        a loaded machine is slow at both) means something accepted. Returns None then, else the
        :class:`ForwardProblem`.
        """
        began = time.monotonic()
        pf, proxies = open_tracked(self, namespace, pod, port)
        opened = time.monotonic() - began
        try:
            remote = pf.socket(port)
            with selectors.DefaultSelector() as sel:
                sel.register(remote, selectors.EVENT_READ)
                if not sel.select(max(settle, 4 * opened)):
                    return None  # no answer: the connection stands
            if remote.recv(1, socket.MSG_PEEK):
                return None  # the server spoke first (e.g. SSH): it accepted
            return ForwardProblem.of(pf.error(port))
        finally:
            close_tracked(pf, proxies)

    def _open_forward(self, namespace: str, pod: str, port: int) -> Any:
        """The kubernetes client's portforward stream (used through
        :func:`~pytest_pods.portforward.open_tracked` only)."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.stream import portforward

        try:
            return portforward(
                self._core.connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port)
            )
        except (ApiException, OSError, urllib3.exceptions.HTTPError) as exc:
            raise _stream_error("GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward", exc) from exc

    def server_version(self, timeout: float = 10) -> str:
        """The API server's ``gitVersion``, e.g. ``v1.34.4``."""
        return str(self.request("GET", "/version", timeout=timeout).get("gitVersion", "unknown"))

    def close(self) -> None:
        self._api.close()


def _close_websocket(resp: Any) -> None:
    """Close a stream client and its socket: websocket-client skips the socket when the server
    closed first, which leaks it."""
    resp.close()
    sock = getattr(resp, "sock", None)
    if sock is not None:
        sock.shutdown()


class Attachment:
    """An open attach stream (:meth:`Kube.attach`); its output is read and dropped."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    def ended(self, within: float) -> bool:
        """Wait at most ``within`` seconds for the stream to end; True once it has (the container's
        process exited, or the connection was lost)."""
        from kubernetes.stream.ws_client import STDERR_CHANNEL, STDOUT_CHANNEL

        try:
            self._ws.update(timeout=within)
            self._ws.read_channel(STDOUT_CHANNEL)
            self._ws.read_channel(STDERR_CHANNEL)
        except Exception:  # a broken connection: it has ended as far as anyone can see
            return True
        return not self._ws.is_open()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            _close_websocket(self._ws)
