"""The comparison of shown output (pytest_pods.labs.compare): tables by NAME, describe fields, JSON,
text; drift against what can never match."""

from __future__ import annotations

from pytest_pods.labs.compare import Drift, compare, looks_like_error, normalize
from pytest_pods.labs.reader import Shown


def shown(text: str, first: int = 10) -> list[Shown]:
    return [Shown(first + i, t) for i, t in enumerate(text.splitlines())]


TABLE_2019 = "\n".join(
    [
        "NAME        READY   STATUS    RESTARTS   AGE     IP         NODE       NOMINATED NODE   READINESS GATES",  # noqa: E501
        "webserver   2/2     Running   0          3m37s   10.8.0.5   gke-5hs8   <none>           <none>",
    ]
)
TABLE_NOW = "\n".join(
    [
        "NAME        READY   STATUS    RESTARTS   AGE   IP            NODE    NOMINATED NODE   READINESS GATES",  # noqa: E501
        "webserver   2/2     Running   0          12s   10.244.0.17   local   <none>           <none>",
    ]
)


def test_a_table_differing_only_in_volatile_columns_has_no_drift() -> None:
    assert compare(shown(TABLE_2019), TABLE_NOW, "pp-ns") == ([], "")


def test_a_table_with_another_ready_count_is_drift_by_name_and_column() -> None:
    now = TABLE_NOW.replace("2/2", "1/2").replace("Running", "Pending")
    drift, _ = compare(shown(TABLE_2019), now)
    assert drift == [
        Drift(11, "webserver READY", "2/2", "1/2"),
        Drift(11, "webserver STATUS", "Running", "Pending"),
    ]


def test_generated_suffixes_match_and_missing_rows_are_drift() -> None:
    lab = "\n".join(
        [
            "NAME                    READY   STATUS",
            "web-5d4f7c9b8d-x2k9p    1/1     Running",
            "service/kubernetes      1/1  Running",
        ]
    )
    now = "NAME                   READY   STATUS\nweb-7f6b9c5d44-qq7zt   1/1     Running\n"
    drift, _ = compare(shown(lab), now)
    assert drift == [Drift(12, "row service/kubernetes", "service/kubernetes  1/1  Running", "(not printed)")]


def test_a_renamed_kind_in_a_table_is_drift() -> None:
    lab = "NAME                              READY\ndeployment.extensions/web        3/3"
    now = "NAME                        READY\ndeployment.apps/web         3/3"
    assert compare(shown(lab), now)[0] == [
        Drift(11, "row deployment.extensions/web", "deployment.extensions/web  3/3", "(not printed)")
    ]


DESCRIBE_2019 = """Name:               webserver
Namespace:          default
Node:               gke-standard-cluster-1/10.128.0.3
Start Time:         Thu, 28 Nov 2019 13:02:19 +0530
Status:             Running
IP:                 10.8.0.3
Containers:
  webserver:
    Container ID:   docker://ff06c3e6877724ec706485374936ac6163aff10822246a40093eb82b9113189c
    Image:          nginx:latest
    State:          Running
      Started:      Thu, 28 Nov 2019 13:02:25 +0530
    Restart Count:  0
PriorityClassName:  <none>"""
DESCRIBE_NOW = """Name:             webserver
Namespace:        pp-lab-abc
Node:             pp-local/10.0.0.1
Start Time:       Mon, 07 Dec 2026 05:00:00 +0000
Status:           Running
IP:               10.244.0.5
Containers:
  webserver:
    Container ID:   containerd://0123456789abcdef0123
    Image:          nginx:1.27
    State:          Running
      Started:      Mon, 07 Dec 2026 05:00:01 +0000
    Restart Count:  0"""


def test_describe_fields_volatile_ignored_others_drift() -> None:
    drift, _ = compare(shown(DESCRIBE_2019, 76), DESCRIBE_NOW, "pp-lab-abc")
    assert drift == [
        Drift(85, "Containers > webserver > Image", "nginx:latest", "nginx:1.27"),
        Drift(89, "PriorityClassName", "<none>", "(not printed)"),
    ]


def test_json_cut_short_is_noted_not_compared() -> None:
    assert compare(shown('{\n  "kind": "List",\n  "items": ['), '{"kind": "List"}') == (
        [],
        "the shown JSON is cut short or not JSON: not compared",
    )


def test_json_leaves_compared_but_volatile_keys() -> None:
    lab = '{"kind": "Pod", "metadata": {"name": "w", "uid": "1", "namespace": "default"}, "spec": {"x": 1}}'
    now = '{"kind": "Pod", "metadata": {"name": "w", "uid": "2", "namespace": "pp"}, "spec": {"x": 2}}'
    assert compare(shown(lab), now) == ([Drift(10, "spec.x", "1", "2")], "")


def test_text_line_by_line_with_ellipsis_and_times() -> None:
    lab = "...\nWed Jan  8 08:59:14 UTC 2020\nWed Jan  8 08:59:15 UTC 2020"
    now = "Mon Dec  7 05:01:02 UTC 2026\nMon Dec  7 05:01:03 UTC 2026\nMon Dec  7 05:01:04 UTC 2026\n"
    assert compare(shown(lab), now) == ([], "")


def test_text_drift_names_the_shown_line_and_the_printed_one() -> None:
    lab = 'PRETTY_NAME="Debian GNU/Linux 10 (buster)"\nNAME="Debian GNU/Linux"\nID=debian'
    now = (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
    )
    assert compare(shown(lab, 186), now)[0] == [
        Drift(
            186,
            "line",
            'PRETTY_NAME="Debian GNU/Linux 10 (buster)"',
            'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"',
        )
    ]


def test_the_namespace_name_and_ips_never_count() -> None:
    assert normalize("No resources found in pp-x namespace. 10.1.2.3", "pp-x") == normalize(
        "No resources found in pp-y namespace. 10.9.9.9", "pp-y"
    )
    lab = 'pod "webserver" deleted'
    assert compare(shown(lab), 'pod "webserver" deleted from pp-x namespace\n', "pp-x")[0] == [
        Drift(
            10,
            "line",
            'pod "webserver" deleted',
            'pod "webserver" deleted from <namespace> namespace'.replace("<namespace>", "pp-x"),
        )
    ]


def test_an_error_the_lab_shows() -> None:
    assert looks_like_error(shown('Error from server (NotFound): pods "x" not found'))
    assert not looks_like_error(shown("pod/x created"))


def test_repeated_lines_count_once_and_container_names_may_start_with_a_digit() -> None:
    lab = "...\nWed Jan  8 08:59:14 UTC 2020\nWed Jan  8 08:59:15 UTC 2020\nWed Jan  8 08:59:16 UTC 2020"
    assert compare(shown(lab), "Mon Dec  7 05:01:02 UTC 2026\n") == ([], "")
    lab = "Containers:\n  1st:\n    Image:  nginx\n  2nd:\n    Image:  debian"
    now = "Containers:\n  1st:\n    Image:  nginx\n  2nd:\n    Image:  debian:bookworm"
    assert compare(shown(lab), now)[0] == [Drift(14, "Containers > 2nd > Image", "debian", "debian:bookworm")]
