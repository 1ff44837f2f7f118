"""The session layer, without pytest: a run, its cluster, and a namespace per test, or one shared by
the tests of a wider scope (:class:`SharedNamespaces`).

A plain script drives a whole session with one object (see ``examples/session_without_pytest.py``)::

    with Session(Settings(provider="local")) as cluster:
        with cluster.namespace("my-check") as ns:
            ns.apply("pod.yaml", wait=True)

Its modules, top to bottom:

- :mod:`.cluster`: :class:`Cluster` (the handle: makes namespaces), :class:`SharedNamespaces`,
  :func:`cluster_session` and :class:`Session` (a session's start and end);
- :mod:`.ahead`: the look-ahead (namespaces made, applied and waited for ahead of their tests);
- :mod:`.namespace`: :class:`Namespace`, :func:`should_keep`, :func:`namespace_key`;
- :mod:`.ledger`: :class:`Ledger`, what the session's report says;
- :mod:`.run`: :class:`Run` (a run's identity and state directory), :func:`choose_provider`,
  :func:`stop_if_started`, :func:`sigterm_as_interrupt`.
"""

from pytest_pods.session.ahead import PREPARE_AHEAD, LookAhead, Upcoming
from pytest_pods.session.cluster import (
    DELETE_WAIT_SECONDS,
    KEPT_LABEL,
    Cluster,
    Session,
    SharedNamespaces,
    cluster_session,
)
from pytest_pods.session.ledger import Ledger
from pytest_pods.session.namespace import Namespace, namespace_key, should_keep
from pytest_pods.session.run import (
    STATE_DIR_ENV,
    Run,
    choose_provider,
    default_state_dir,
    new_run_id,
    sigterm_as_interrupt,
    stop_if_started,
)

__all__ = [
    "DELETE_WAIT_SECONDS",
    "KEPT_LABEL",
    "PREPARE_AHEAD",
    "STATE_DIR_ENV",
    "Cluster",
    "Ledger",
    "LookAhead",
    "Namespace",
    "Run",
    "Session",
    "SharedNamespaces",
    "Upcoming",
    "choose_provider",
    "cluster_session",
    "default_state_dir",
    "namespace_key",
    "new_run_id",
    "should_keep",
    "sigterm_as_interrupt",
    "stop_if_started",
]
