"""The pod handle: wait, exec, files, logs, /etc/hosts, port-forward and HTTP, and the pod's state.

Works outside pytest: ``Pod(Kube.from_kubeconfig(path), "default", "webserver").wait_ready()``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from typing import Any

from pytest_pods import etchosts, podstate, waits
from pytest_pods.errors import (
    ApiError,
    CommandNotFoundError,
    ContainerNotFoundError,
    ExecError,
    LogTimeoutError,
    PodError,
    PodsError,
    PortForwardError,
)
from pytest_pods.etchosts import HostsEntry
from pytest_pods.kube import JSON, Kube
from pytest_pods.podstate import ContainerState

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
#: What the runtime says to an exec into a container of the pod's spec that no longer runs. containerd's
#: words depend on how far the container's shutdown has got: CRI's check of the container's state
#: ("container is in CONTAINER_EXITED state"), the shim's process states ("cannot exec in a stopped
#: state", "... deleted state"), then the task gone ("no running task found"); Docker says "container
#: not running".
_STOPPED = re.compile(
    r"cannot exec in a (?:stopped|deleted) (?:container|state)|container is in CONTAINER_(?!RUNNING)\w+ state"
    r"|container not running|is not running|container not found|no running task found"
    r"|process already finished",
    re.I,
)
_NOT_FOUND = re.compile(r"executable file not found|no such file or directory|not found in \$PATH", re.I)

Timing = Callable[[str, float], None]


@dataclass(frozen=True)
class ExecResult:
    """The outcome of :meth:`Pod.exec`, shaped like :class:`subprocess.CompletedProcess`."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    namespace: str
    pod: str
    container: str

    def check_returncode(self) -> None:
        """Raise :class:`ExecError` if the command exited non-zero."""
        if self.returncode:
            raise ExecError(
                self.namespace, self.pod, self.container, self.args, self.returncode, self.stdout, self.stderr
            )


def exit_status(error_channel: str) -> tuple[int | None, str]:
    """Read the exec error channel (a ``Status`` object): ``(returncode, message)``.

    ``returncode`` is None where the command never ran (the message says why), 0 on success.
    """
    if not error_channel.strip():
        return None, "the exec stream closed without an exit status"
    try:
        status = json.loads(error_channel)
    except ValueError:
        return None, error_channel.strip()
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message") or "")
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message")), message
    return None, message


class Pod:
    """A handle on one pod. State accessors read the pod afresh on each call.

    ``timeout`` is the default for waits and exec (seconds); ``on_timing`` receives
    ``("ready", seconds)`` after each successful :meth:`wait_ready`.
    """

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        *,
        timeout: float = 120.0,
        ready_stable: float = waits.READY_STABLE,
        on_timing: Timing | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.timeout = timeout
        self.ready_stable = ready_stable
        self._on_timing = on_timing
        self._spec: JSON | None = None

    def __repr__(self) -> str:
        return f"<Pod {self.namespace}/{self.name}>"

    # --- state -------------------------------------------------------------------------------------
    def get(self) -> JSON:
        """The pod as the API server has it now (its JSON)."""
        pod = self.kube.request("GET", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}")
        self._spec = pod.get("spec") or {}
        return pod

    @property
    def phase(self) -> str:
        return str((self.get().get("status") or {}).get("phase", "Unknown"))

    @property
    def ip(self) -> str | None:
        ip = (self.get().get("status") or {}).get("podIP")
        return str(ip) if ip else None

    @property
    def node(self) -> str | None:
        node = (self.get().get("spec") or {}).get("nodeName")
        return str(node) if node else None

    @property
    def conditions(self) -> dict[str, str]:
        """Condition type -> status (``"True"``, ``"False"``, ``"Unknown"``)."""
        return {t: str(c.get("status")) for t, c in podstate.conditions(self.get()).items()}

    @property
    def container_statuses(self) -> list[ContainerState]:
        return podstate.container_states(self.get())

    @property
    def restart_counts(self) -> dict[str, int]:
        return {c.name: c.restarts for c in self.container_statuses if not c.init}

    @property
    def containers(self) -> list[str]:
        """The names of the pod's regular containers, in spec order."""
        return podstate.container_names({"spec": self._pod_spec()})

    @property
    def all_containers(self) -> list[str]:
        """Every container name: init containers (native sidecars included) first, then the regular
        ones. Each of them is reachable by exec, read_file, logs and wait_for_log."""
        return podstate.container_names({"spec": self._pod_spec()}, init=True)

    def _pod_spec(self) -> JSON:
        if self._spec is None:
            self.get()
        return self._spec or {}

    def container(self, name: str | None) -> str:
        """Resolve a container name: the given one if the pod has it, init containers and native
        sidecars included (else :class:`ContainerNotFoundError` listing them all), or the default
        container (the ``kubectl.kubernetes.io/default-container`` annotation, else the first
        regular container)."""
        spec = {"spec": self._pod_spec()}
        names = podstate.container_names(spec, init=True)
        if name is None:
            meta_default = None
            with contextlib.suppress(ApiError):
                meta_default = (
                    (self.get().get("metadata") or {})
                    .get("annotations", {})
                    .get(DEFAULT_CONTAINER_ANNOTATION)
                )
            plain = podstate.container_names(spec)
            if meta_default in names:
                return str(meta_default)
            if plain:
                return plain[0]
            raise ContainerNotFoundError(self.namespace, self.name, "(default)", names)
        if name not in names:
            raise ContainerNotFoundError(self.namespace, self.name, name, names)
        return name

    # --- waits -------------------------------------------------------------------------------------
    def wait_ready(self, timeout: float | None = None, *, stable: float | None = None) -> Pod:
        """Wait until the pod is Ready, and Ready holds. Fails at once with :class:`PodNotReadyError`
        naming the reason on every reason in :data:`pytest_pods.waits.FAIL_FAST` (image pulls,
        crash loops, OOMKilled, init and sidecar failures, Evicted, a pod being deleted, ...), with
        the failing container's last log lines; on timeout it names the phase and each container's
        state.

        Ready holds when no container (regular or native sidecar) terminates or restarts during
        ``stable`` seconds after Ready (default: ``--pods-ready-stable``, 1.0): a container that exits
        just after starting is Ready for an instant, and fails the wait with its exit code,
        ``OOMKilled`` or ``Completed``. ``stable=0`` turns the check off."""
        began = time.monotonic()
        pod = waits.wait_pod(
            self.kube,
            self.namespace,
            self.name,
            timeout=self.timeout if timeout is None else timeout,
            stable=self.ready_stable if stable is None else stable,
        )
        self._spec = pod.get("spec") or {}
        if self._on_timing:
            self._on_timing("ready", time.monotonic() - began)
        return self

    def delete(
        self, *, wait: bool = True, grace_period: int | None = None, timeout: float | None = None
    ) -> None:
        """Delete the pod; with ``wait`` (the default, as ``kubectl delete``) return once it is gone.
        ``grace_period`` overrides the pod's terminationGracePeriodSeconds (0: at once)."""
        body: dict[str, Any] = {"propagationPolicy": "Background"}
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        try:
            gone = self.kube.request(
                "DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}", body=body
            )
        except ApiError as exc:
            if exc.status == 404:
                return
            raise
        if wait:
            uid = str((gone.get("metadata") or {}).get("uid", ""))
            waits.wait_deleted(
                self.kube,
                self.namespace,
                self.name,
                uid,
                timeout=self.timeout if timeout is None else timeout,
            )

    def wait_running(self, timeout: float | None = None) -> Pod:
        """Wait until the pod's phase is Running (readiness probes aside); fails fast like
        :meth:`wait_ready`, except that a pod being deleted that still runs (its grace period, a
        preStop hook) is running: exec, logs, port-forward and HTTP reach it."""
        waits.wait_pod(
            self.kube,
            self.namespace,
            self.name,
            timeout=self.timeout if timeout is None else timeout,
            classify=waits.classify_running,
            what="Running",
        )
        return self

    # --- exec and files ----------------------------------------------------------------------------
    def exec(
        self,
        command: Sequence[str] | str,
        *,
        container: str | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run a command in a container and return its :class:`ExecResult`.

        A ``str`` command runs through ``/bin/sh -c``. With ``check`` (the default) a non-zero exit
        raises :class:`ExecError`; a command that does not exist raises
        :class:`CommandNotFoundError` either way.
        """
        argv = ("/bin/sh", "-c", command) if isinstance(command, str) else tuple(command)
        if not argv:
            raise ValueError("exec needs a command")
        name = self.container(container)
        limit = self.timeout if timeout is None else timeout
        try:
            out = self.kube.exec(self.namespace, self.name, name, argv, timeout=limit)
        except ApiError as exc:  # the kubelet refused the stream: the container is gone, say
            if not _STOPPED.search(exc.message):
                raise
            raise self._exec_failed(argv, name, exc.message) from None
        stdout, stderr, error = out.stdout, out.stderr, out.status
        if out.timed_out:
            raise PodError(
                self.namespace,
                self.name,
                f"command {list(argv)!r} in container {name!r} still running after {limit:g}s "
                "(pass exec(timeout=...) or --pods-timeout for a longer limit)",
            )
        returncode, message = exit_status(error)
        if returncode is None:
            if _NOT_FOUND.search(message):
                raise CommandNotFoundError(self.namespace, self.name, name, argv, message)
            raise self._exec_failed(argv, name, message)
        result = ExecResult(argv, returncode, stdout, stderr, self.namespace, self.name, name)
        if returncode == 127 and check:
            raise CommandNotFoundError(self.namespace, self.name, name, argv, stderr)
        if check:
            result.check_returncode()
        return result

    def _exec_failed(self, argv: Sequence[str], container: str, message: str) -> PodError:
        """An exec that did not run, with the runtime's or the kubelet's words; where they say the
        container no longer runs (:data:`_STOPPED`) and the pod is being deleted, also why: its
        process has already exited (its preStop hook or SIGTERM ended it)."""
        why = ""
        if _STOPPED.search(message):
            with contextlib.suppress(PodsError):
                if (self.get().get("metadata") or {}).get("deletionTimestamp"):
                    why = (
                        "\n  the container has stopped: the pod is being deleted and its process has "
                        "already exited (its preStop hook or SIGTERM ended it); a pod being deleted is "
                        "reachable only while it still runs"
                    )
        return PodError(
            self.namespace, self.name, f"exec of {list(argv)!r} in {container!r} failed: {message}{why}"
        )

    def read_file(self, path: str, *, container: str | None = None) -> str:
        """The text of a file in a container (:class:`ExecError` if it cannot be read)."""
        return self.exec(["cat", "--", path], container=container).stdout

    def hosts(self, *, container: str | None = None) -> list[HostsEntry]:
        """The container's ``/etc/hosts``, parsed."""
        return etchosts.parse(self.read_file("/etc/hosts", container=container))

    # --- logs --------------------------------------------------------------------------------------
    def logs(self, *, container: str | None = None, previous: bool = False, tail: int | None = None) -> str:
        """A container's log; ``previous`` gives the log of the container before its last restart."""
        query: dict[str, str | int | bool] = {"container": self.container(container)}
        if previous:
            query["previous"] = True
        if tail is not None:
            query["tailLines"] = tail
        return self.kube.text(f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/log", query=query)

    def wait_for_log(
        self, pattern: str | re.Pattern[str], *, container: str | None = None, timeout: float | None = None
    ) -> str:
        """Follow a container's log until a line matches ``pattern`` (a regular expression, searched);
        return that line, or raise :class:`LogTimeoutError` with the last lines seen."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        name = self.container(container)
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        seen: list[str] = []
        while True:
            remaining = deadline - time.monotonic()
            found = None
            try:
                with self.kube.follow_log(
                    self.namespace, self.name, name, timeout=max(remaining, 0.1)
                ) as lines:
                    seen.clear()
                    for line in lines:
                        seen.append(line)
                        if regex.search(line):
                            found = line
                            break
            except ApiError as exc:  # 400 while the container waits to start; 404 from a kubelet
                # that has not heard of the (existing) pod yet
                if exc.status not in (400, 404) or remaining <= 0:
                    raise
                self._await_start(name, remaining)
                continue
            if found is not None:
                return found
            state = self._state(name)
            if time.monotonic() >= deadline or state == "terminated":  # timed out, or the log is complete
                waited = min(limit, limit - (deadline - time.monotonic()))
                raise LogTimeoutError(
                    self.namespace, self.name, name, regex.pattern, round(waited, 1), "\n".join(seen[-20:])
                )
            if state != "running":  # the stream ended before the container started: wait for it
                self._await_start(name, deadline - time.monotonic())

    def _state(self, container: str) -> str:
        """running, waiting, terminated, or unknown (no status reported yet)."""
        return next((c.state for c in self.container_statuses if c.name == container), "unknown")

    def _await_start(self, container: str, timeout: float) -> None:
        """Wait for the pod to run (failing fast like wait_running); if the container itself has not
        started yet, pause briefly so that the caller does not spin on the kubelet."""
        self.wait_running(timeout=max(timeout, 0.1))
        if self._state(container) not in ("running", "terminated"):
            time.sleep(0.2)

    # --- port-forward and HTTP ------------------------------------------------------------------
    def wait_port(self, port: int, timeout: float | None = None) -> Pod:
        """Wait until something in the pod accepts connections on ``port`` (a pod is Ready before its
        server listens unless it has a readiness probe). Waits for the pod to run first (failing fast
        like :meth:`wait_running`), then opens a forward stream every quarter second until one is
        accepted; after ``timeout`` seconds raises :class:`PortForwardError` naming the port, the
        time waited, the last refusal and the container's last log lines."""
        limit = self.timeout if timeout is None else timeout
        began = time.monotonic()
        self.wait_running(timeout=limit)
        while True:
            problem = self.kube.probe_port(self.namespace, self.name, port)
            if problem is None:
                return self
            waited = time.monotonic() - began
            if waited >= limit:
                container = self._container_of_port(port)
                tail = ""
                with contextlib.suppress(PodsError):
                    tail = self.logs(container=container, tail=20)
                raise PortForwardError(
                    self.namespace,
                    self.name,
                    port,
                    problem.cause,
                    problem.message,
                    waited=round(waited, 1),
                    container=container,
                    tail=tail,
                )
            time.sleep(min(0.25, max(limit - waited, 0)))

    def _container_of_port(self, port: int) -> str | None:
        """The container that declares ``port`` among its ports, else the default container."""
        for c in self._pod_spec().get("containers") or []:
            if any(p.get("containerPort") == port for p in c.get("ports") or []):
                return str(c.get("name"))
        with contextlib.suppress(PodsError):
            return self.container(None)
        return None

    @contextlib.contextmanager
    def port_forward(self, port: int, *, timeout: float | None = None, wait: bool = True) -> Iterator[int]:
        """Forward a local port on 127.0.0.1 to ``port`` of the pod, through the API server (so it
        works on every provider); yields the local port. Each connection gets its own stream;
        every thread is stopped on exit.

        With ``wait`` (the default) it first waits, at most ``timeout`` seconds, until something in
        the pod accepts on ``port`` (:meth:`wait_port`). A connection the pod side then refuses or
        cuts is reset on the local side, and an exception leaving the block gets a note naming the
        refusal (a client would otherwise only see its connection end)."""
        if wait:
            self.wait_port(port, timeout=timeout)
        with self.kube.port_forward(self.namespace, self.name, port) as forward:
            try:
                yield forward.local_port
            except Exception as exc:
                for problem in forward.problems:
                    exc.add_note(
                        f"pytest-pods: pod {self.namespace}/{self.name}: a connection forwarded to port "
                        f"{port} failed on the pod side: {problem.cause}\n  {problem.message[-500:]}"
                    )
                raise

    def http_get(
        self,
        port: int,
        path: str = "/",
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """GET ``path`` from ``port`` of the pod through a port-forward (waiting for the port as
        :meth:`port_forward` does) and return the :class:`HttpResponse`, whatever its status. A
        connection the pod side refuses or cuts raises :class:`PortForwardError` naming it."""
        limit = self.timeout if timeout is None else timeout
        with self.kube.port_forward(self.namespace, self.name, port) as forward:
            self.wait_port(port, timeout=limit)
            conn = http.client.HTTPConnection("127.0.0.1", forward.local_port, timeout=limit)
            try:
                conn.request("GET", path, headers=dict(headers or {}))
                answer = conn.getresponse()
                return HttpResponse(answer.status, answer.reason, answer.headers, answer.read())
            except (OSError, http.client.HTTPException) as exc:
                problem = forward.problems[-1] if forward.problems else None
                raise PortForwardError(
                    self.namespace,
                    self.name,
                    port,
                    problem.cause if problem else f"{type(exc).__name__}: {exc}",
                    problem.message if problem else "",
                ) from exc
            finally:
                conn.close()


@dataclass(frozen=True)
class HttpResponse:
    """What :meth:`Pod.http_get` got: ``status`` (e.g. 200), ``reason`` (``OK``), ``headers``
    (case-insensitive: ``headers["content-type"]``) and the ``body`` bytes."""

    status: int
    reason: str
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded with the charset the headers name (UTF-8 if none)."""
        return self.body.decode(self.headers.get_content_charset() or "utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)
