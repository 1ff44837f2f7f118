"""A thin JSON client over the official kubernetes ``ApiClient``: plain dicts in, plain dicts out.

Everything above this module works on the API's own JSON (camelCase keys), so that pure functions
(waits, diagnostics) can be tested with literal dicts and nothing is lost in model conversion.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pytest_pods.errors import ApiError

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


@dataclass
class Kube:
    """An API client bound to one kubeconfig and context; ``core`` is the typed CoreV1Api for streams."""

    api_client: Any
    kubeconfig: Path | None = None
    context: str | None = None
    _core: Any = field(default=None, repr=False)

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, context: str | None = None) -> Kube:
        from kubernetes import config

        api = config.new_client_from_config(
            config_file=str(kubeconfig), context=context, persist_config=False
        )
        return cls(api, kubeconfig, context)

    @property
    def core(self) -> Any:
        if self._core is None:
            from kubernetes import client

            self._core = client.CoreV1Api(self.api_client)
        return self._core

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str | int | bool] | None,
        body: object,
        content_type: str,
        timeout: float,
    ) -> tuple[int, bytes]:
        params = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (query or {}).items()]
        headers = {"Accept": "application/json", "Content-Type": content_type}
        m, url, hdrs, data, _ = self.api_client.param_serialize(
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
                    resp = self.api_client.call_api(
                        m, url, header_params=hdrs, body=data, _request_timeout=timeout
                    )
                    got = resp.read()
                    status, raw = int(resp.status), got if isinstance(got, bytes) else bytes(got or b"")
                    if status in RETRY_STATUSES:
                        raise _Transient(status, raw)
        except _Transient as last:  # still throttled after every attempt: report the last answer
            return last.status, last.raw
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
    ) -> JSON:
        """Send one request; return the decoded JSON answer or raise :class:`ApiError`."""
        status, raw = self._send(method, path, query, body, content_type, timeout)
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
        m, url, hdrs, _, _ = self.api_client.param_serialize(
            method="GET",
            resource_path=path,
            query_params=pairs,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            # the RESTResponse wraps an urllib3 response whose body is not read yet: stream it.
            # The read timeout ends a quiet watch after ``remaining`` seconds on our side too, as
            # the server's timeoutSeconds counts whole seconds (a 1.2s hold window needs 1.2s).
            resp = self.api_client.call_api(
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

    def server_version(self, timeout: float = 10) -> str:
        """The API server's ``gitVersion``, e.g. ``v1.34.4``."""
        return str(self.request("GET", "/version", timeout=timeout).get("gitVersion", "unknown"))

    def close(self) -> None:
        self.api_client.close()
