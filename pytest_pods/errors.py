"""One exception tree for pytest-pods.

    PodsError                          base: everything the plugin raises on purpose
    ├── ClusterError                   a cluster could not be made, reached or torn down
    │   ├── PreflightError             the machine lacks something (root, a kernel feature, a free port)
    │   ├── BuildError                 building a binary or an image failed
    │   └── ComponentError             a cluster process failed to start or died (names it, with its log tail)
    ├── ManifestError                  a manifest is missing, is not YAML, or does not fit the schema
    │   └── ChartError                 Helm refused a chart (template, values, schema) or needs the network
    ├── PodError                       something about one pod (keeps namespace and pod)
    │   ├── PodNotReadyError           a wait gave up: timeout, or a reason that will never heal
    │   ├── PodNotDeletedError         a deleted pod is still there after the timeout
    │   ├── ContainerNotFoundError     a container name that the pod does not have (lists the real ones)
    │   ├── ChartTestError             a chart's `helm test` pod failed (keeps every outcome and its log)
    │   ├── ExecError                  a command in a container exited non-zero
    │   │   └── CommandNotFoundError   the command does not exist in the container
    │   ├── LogTimeoutError            a log line never appeared
    │   └── PortForwardError           nothing accepts on a forwarded port, or the pod refused/cut one
    ├── WorkloadNotReadyError          a workload (Deployment, Job, PVC, ...) or a wait_for gave up
    ├── UnknownKindError               a kind the cluster does not serve (names near matches; a ValueError)
    ├── ApiError                       the API server refused a request (keeps the HTTP status and its Status)
    ├── ProviderError                  a provider cannot work here (e.g. kind without Docker)
    ├── LabError                       a lab's markdown cannot be read or run (names file:line and the fix)
    │   └── LabStepError               a lab's step failed: its command, its output, the failure it may follow
    └── ConfigError                    a setting is wrong (option, ini key, pods_defaults, kubeconfig context)
        ├── KubeconfigError            a kubeconfig cannot be used (unreadable, or lacks what it names)
        └── PermissionsError           its identity lacks permissions the plugin needs (names them)

Beside the tree, one warning: :class:`PodsApiWarning` (a ``UserWarning``), for each ``Warning``
header the API server sends on an apply (a deprecated API, a field it ignores).

The cluster builders keep their own small trees (:mod:`pytest_pods.localcluster`,
:mod:`pytest_pods.kindcluster`; neither imports the plugin); each provider translates what its
builder raises into this tree at one boundary (``providers.local.local_errors``,
``providers.kind.kind_errors``), keeping the fields and the message.

Under pytest, a configuration mistake (``ConfigError``, or a provider that cannot work) is reported
as one ``pytest.UsageError``; the layers below the plugin do not import pytest.
Each exception keeps its structured fields and builds its message from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class PodsError(Exception):
    """Base of every error pytest-pods raises on purpose."""


class PodsApiWarning(UserWarning):
    """The API server warned about an object it applied (a deprecated API version, a field it
    ignores): ``obj`` (``Kind/name``), ``text`` (the server's words), and the manifest ``source``
    (``file:line``) it came from. A test passes with it unless run with
    ``-W error::pytest_pods.PodsApiWarning``."""

    def __init__(self, obj: str, text: str, source: str = "") -> None:
        self.obj, self.text, self.source = obj, text, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{obj}: the API server warns: {text}")


class ClusterError(PodsError):
    """A cluster could not be made, reached or torn down. The cluster errors are raised at a provider's
    boundary from what its builder raised: the message is the builder's, written once there."""


class PreflightError(ClusterError):
    """The machine lacks something the cluster needs (``missing``); ``fix`` says how to get it."""

    def __init__(self, message: str, *, missing: str, fix: str) -> None:
        super().__init__(message)
        self.missing, self.fix = missing, fix


class BuildError(ClusterError):
    """Building a binary or image failed (``what``, ``detail``); ``log_tail``: the build output's end."""

    def __init__(self, message: str, *, what: str, detail: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.what, self.detail, self.log_tail = what, detail, log_tail


class ComponentError(ClusterError):
    """A cluster component failed to start, or died; names it, with its log path and log tail."""

    def __init__(
        self, message: str, *, component: str, detail: str, log_path: str = "", log_tail: str = ""
    ) -> None:
        super().__init__(message)
        self.component, self.detail, self.log_path, self.log_tail = component, detail, log_path, log_tail


class ManifestError(PodsError):
    """A manifest is missing, is not valid YAML, or does not fit the Kubernetes schema."""

    def __init__(
        self,
        source: str,
        detail: str,
        *,
        line: int | None = None,
        obj: str | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.detail = detail
        self.line = line
        self.obj = obj
        self.field = field
        self.problems: list[ManifestError] = [self]
        where = source if line is None else f"{source}:{line}"
        parts = [where]
        if obj:
            parts.append(obj)
        if field:
            parts.append(f"field {field}")
        super().__init__(f"{': '.join(parts)}: {detail}")

    @classmethod
    def all_of(cls, problems: Sequence[ManifestError]) -> ManifestError:
        """One error naming every problem (its fields are the first problem's); ``problems`` keeps
        them all. A single problem is returned as it is."""
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        err = cls(first.source, first.detail, line=first.line, obj=first.obj, field=first.field)
        err.problems = list(problems)
        err.args = (f"{len(problems)} problems in the manifest:\n" + "\n".join(f"  {p}" for p in problems),)
        return err


class ChartError(ManifestError):
    """Helm refused a chart before any cluster work (a template error, bad values, a
    ``values.schema.json`` violation), or the chart needs what an offline run cannot fetch (a remote
    reference, a dependency not vendored under ``charts/``): ``chart`` as given, ``source`` (and
    ``line``) the file Helm names, ``detail`` Helm's own message or the reason."""

    def __init__(self, chart: str, source: str, detail: str, *, line: int | None = None) -> None:
        self.chart = chart
        super().__init__(source, detail, line=line)


class PodError(PodsError):
    """Something about one pod."""

    def __init__(self, namespace: str, pod: str, detail: str) -> None:
        self.namespace = namespace
        self.pod = pod
        self.detail = detail
        super().__init__(f"pod {namespace}/{pod}: {detail}")


class ChartTestError(PodError):
    """A chart's ``helm test`` pod ended in phase Failed: ``release``, ``log`` (the failing pod's), and
    ``outcomes`` (every test pod's :class:`~pytest_pods.render.helm.ChartTest`)."""

    def __init__(
        self, namespace: str, pod: str, release: str, log: str, outcomes: Sequence[object] = ()
    ) -> None:
        self.release, self.log, self.outcomes = release, log, list(outcomes)
        tail = "\n".join(log.rstrip().splitlines()[-30:]) or "(no log)"
        super().__init__(namespace, pod, f"the test of release {release!r} failed; its log:\n{tail}")


class PodNotReadyError(PodError):
    """A readiness wait gave up: on a reason that will not heal, or on timeout.

    ``reason`` is the Kubernetes reason (ErrImagePull, CrashLoopBackOff, Unschedulable, ...) or
    ``"Timeout"``; ``report`` is the rendered state of the pod (phase, containers, events).
    """

    def __init__(self, namespace: str, pod: str, reason: str, detail: str, report: str = "") -> None:
        self.reason = reason
        self.report = report
        text = f"{reason}: {detail}"
        if report:
            text += "\n" + report
        super().__init__(namespace, pod, text)


class PodNotDeletedError(PodError):
    """A deleted pod is still there after ``timeout`` seconds; ``report`` is its rendered state."""

    def __init__(self, namespace: str, pod: str, timeout: float, report: str = "") -> None:
        self.timeout = timeout
        self.report = report
        text = f"still there {timeout:g}s after its deletion"
        if report:
            text += "\n" + report
        super().__init__(namespace, pod, text)


class ContainerNotFoundError(PodError):
    """A container name the pod does not have."""

    def __init__(self, namespace: str, pod: str, container: str, available: Sequence[str]) -> None:
        self.container = container
        self.available = list(available)
        super().__init__(
            namespace,
            pod,
            f"no container named {container!r}; the pod has: {', '.join(self.available) or '(none)'}",
        )


class ExecError(PodError):
    """A command run in a container exited non-zero."""

    def __init__(
        self,
        namespace: str,
        pod: str,
        container: str,
        command: Sequence[str],
        returncode: int,
        stdout: str,
        stderr: str,
    ) -> None:
        self.container = container
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        detail = f"command {self.command!r} in container {container!r} exited {returncode}"
        if stderr.strip():
            detail += f"\n  stderr: {stderr.strip()[-2000:]}"
        super().__init__(namespace, pod, detail)


class CommandNotFoundError(ExecError):
    """The command does not exist in the container."""

    def __init__(self, namespace: str, pod: str, container: str, command: Sequence[str], stderr: str) -> None:
        super().__init__(namespace, pod, container, command, 127, "", stderr)
        self.args = (
            f"pod {namespace}/{pod}: command {command[0]!r} not found in container {container!r}"
            + (f"\n  {stderr.strip()[-500:]}" if stderr.strip() else ""),
        )


class LogTimeoutError(PodError):
    """A pattern never appeared in a container's log."""

    def __init__(
        self, namespace: str, pod: str, container: str, pattern: str, timeout: float, tail: str
    ) -> None:
        self.container = container
        self.pattern = pattern
        self.timeout = timeout
        self.tail = tail
        super().__init__(
            namespace,
            pod,
            f"no line matching {pattern!r} in the log of container {container!r} after {timeout:g}s"
            + (f"\n--- last log lines ---\n{tail}" if tail else "\n  (the log is empty)"),
        )


class PortForwardError(PodError):
    """A port-forward to ``port`` failed: nothing accepted connections there within ``waited`` seconds
    (then ``tail`` holds the last lines of ``container``'s log), or the pod side refused or cut a
    forwarded connection. ``cause`` names what happened in a few words (``connection refused``,
    ``connection reset by peer``, ...); ``detail`` is the runtime's own message."""

    def __init__(
        self,
        namespace: str,
        pod: str,
        port: int,
        cause: str,
        detail: str,
        *,
        waited: float | None = None,
        container: str | None = None,
        tail: str = "",
    ) -> None:
        self.port = port
        self.cause = cause
        self.waited = waited
        self.container = container
        self.tail = tail
        if waited is None:
            text = f"a connection forwarded to port {port} failed on the pod side: {cause}"
        else:
            text = (
                f"nothing accepted connections on port {port} within {waited:g}s (last attempt: {cause}); "
                "check that the server listens on that port and started (its log is below), "
                "or pass a longer timeout"
            )
        if detail and detail != cause:
            text += f"\n  {detail[-1000:]}"
        if waited is not None:
            who = f"container {container!r}" if container else "the container"
            text += (
                f"\n--- last log lines of {who} ---\n{tail}"
                if tail.strip()
                else f"\n  (the log of {who} is empty)"
            )
        super().__init__(namespace, pod, text)


class WorkloadNotReadyError(PodsError):
    """A wait for an object other than a bare pod gave up: on a reason that will not heal (its own,
    like ProgressDeadlineExceeded, or one of its pods'), or on timeout (reason ``"Timeout"``).

    ``kind``/``name`` name the object; ``pod`` and ``pod_reason`` the pod that failed it, if one
    did; ``report`` is the rendered state (the object's status, the pod's state, events, logs).
    """

    def __init__(
        self,
        namespace: str,
        kind: str,
        name: str,
        reason: str,
        detail: str,
        *,
        pod: str = "",
        pod_reason: str = "",
        report: str = "",
    ) -> None:
        self.namespace = namespace
        self.kind = kind
        self.name = name
        self.reason = reason
        self.detail = detail
        self.pod = pod
        self.pod_reason = pod_reason
        self.report = report
        text = f"{kind} {namespace}/{name}: {reason}: {detail}"
        if report:
            text += "\n" + report
        super().__init__(text)


class UnknownKindError(PodsError, ValueError):
    """A kind the cluster does not serve (by Kind, plural, singular, short name or ``resource.group``);
    ``near`` are the names it serves that look like it."""

    def __init__(self, kind: str, near: Sequence[str] = ()) -> None:
        self.kind = kind
        self.near = list(near)
        hint = f"; did you mean {', '.join(self.near)}?" if self.near else ""
        super().__init__(f"the cluster does not serve a kind {kind!r}{hint}")


class ApiError(PodsError):
    """The API server answered a request with an error; keeps the HTTP status and the Status body."""

    def __init__(self, method: str, path: str, status: int, body: dict[str, object] | None) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body or {}
        self.reason = str(self.body.get("reason", ""))
        self.message = str(self.body.get("message", "")) or f"HTTP {status}"
        super().__init__(f"{method} {path}: {status} {self.reason}: {self.message}".replace(" : ", ": "))


class ProviderError(PodsError):
    """A provider cannot work on this machine or with these settings."""


class LabError(PodsError):
    """A lab (a markdown file run as a test, :mod:`pytest_pods.labs`) cannot be read or a step of it
    cannot run as written: ``path``/``line`` name where, ``problem`` what, ``fix`` how to mend it."""

    def __init__(self, path: Path | str, line: int, problem: str, fix: str = "") -> None:
        self.path, self.line, self.problem, self.fix = Path(path), line, problem, fix
        where = f"{self.path.name}:{line}" if line else self.path.name
        super().__init__(f"{where}: {problem}" + (f"; {fix}" if fix else ""))


class LabStepError(LabError):
    """A step of a lab failed: ``command`` (as the lab gives it) and its ``output`` (or what it wrote
    before a timeout), the ``reason`` (exit code, timeout, a wait that gave up), and ``follows``: the
    line of the lab's earlier failed step it may follow from (0 if none)."""

    def __init__(
        self, path: Path | str, line: int, command: str, reason: str, output: str = "", *, follows: int = 0
    ) -> None:
        self.command, self.reason, self.output, self.follows = command, reason, output, follows
        text = f"`{command}` {reason}"
        if follows:
            text += f" (it may follow from the failed step at line {follows})"
        if output.strip():
            text += "\n--- its output ---\n" + output.rstrip()
        super().__init__(path, line, text)


class ConfigError(PodsError):
    """A setting is wrong: its message names where it came from and the valid values. The plugin
    reports it as ``pytest.UsageError``."""


class KubeconfigError(ConfigError):
    """A kubeconfig the API client cannot use: missing or unreadable, or lacking the context,
    cluster or credentials it names. Keeps ``kubeconfig``, ``context`` and the ``cause``."""

    def __init__(self, kubeconfig: Path, context: str | None, cause: str) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.cause = cause
        which = f" (context {context!r})" if context else ""
        super().__init__(f"cannot use the kubeconfig {kubeconfig}{which}: {cause}")


class PermissionsError(ConfigError):
    """The kubeconfig's identity may not do what the plugin needs: ``missing`` lists each, as
    ``verb resource in namespace X`` (or ``in every namespace``); the message names the role that
    grants them. Raised once, when the session starts, instead of a 403 in every test."""

    def __init__(self, missing: Sequence[str], role_file: str) -> None:
        self.missing = list(missing)
        self.role_file = role_file
        super().__init__(
            f"the kubeconfig's identity {'; '.join(f'cannot {m}: forbidden' for m in self.missing)}; the "
            f"role in {role_file} grants it (apply it, then bind ClusterRole pytest-pods to this identity)"
        )
