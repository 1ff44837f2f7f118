"""The API server's warnings on apply (issue 20, part 5): each becomes a PodsApiWarning of the test,
which passes with it unless run with ``-W error::pytest_pods.PodsApiWarning``."""

from __future__ import annotations

import pytest

from pytest_pods import Namespace, PodsApiWarning
from tests.cluster.conftest import MANIFESTS

pytestmark = pytest.mark.cluster

ENDPOINTS = MANIFESTS / "deprecated-endpoints.yaml"


def test_a_deprecated_api_warns_naming_the_object_and_its_line(pods_namespace: Namespace) -> None:
    with pytest.warns(PodsApiWarning) as caught:
        objs = pods_namespace.apply(ENDPOINTS)
    assert [o["kind"] for o in objs] == ["Endpoints"]  # applied all the same
    (warning,) = [w.message for w in caught]
    assert isinstance(warning, PodsApiWarning)
    assert warning.obj == "Endpoints/legacy-backend"
    assert warning.source == f"{ENDPOINTS}:2"
    assert "Endpoints is deprecated" in warning.text and "EndpointSlice" in warning.text
    assert str(warning) == f"{ENDPOINTS}:2: Endpoints/legacy-backend: the API server warns: {warning.text}"


def test_a_warning_is_the_tests_own_and_fails_it_only_when_asked(
    pytester: pytest.Pytester, existing_args: list[str]
) -> None:
    pytester.makepyfile(
        test_warned=f"""
        import pytest

        def test_plain_first(pods_namespace):
            pass

        def test_uses_endpoints(pods_namespace):
            pods_namespace.apply({str(ENDPOINTS)!r})
            # the next test's manifest was applied ahead, in this test's setup
            found = pods_namespace.kube.request(
                "GET", "/api/v1/endpoints", query={{"fieldSelector": "metadata.name=legacy-backend"}}
            )["items"]
            assert any(e["metadata"]["namespace"].startswith("pp-test-marked-") for e in found)

        @pytest.mark.pods_manifest({str(ENDPOINTS)!r})
        def test_marked(pods_namespace):
            pass

        def test_plain(pods_namespace):
            pass
        """
    )
    # the marked test's manifest is applied ahead, while test_uses_endpoints runs: its warning is
    # still test_marked's own
    passed = pytester.runpytest(*existing_args, "-W", "default")
    passed.assert_outcomes(passed=4, warnings=2)
    passed.stdout.fnmatch_lines(
        [
            "*test_warned.py::test_uses_endpoints*",
            "*PodsApiWarning*Endpoints/legacy-backend*deprecated*",
            "*test_warned.py::test_marked*",
            "*PodsApiWarning*Endpoints/legacy-backend*deprecated*",
        ]
    )
    assert "test_plain" not in passed.stdout.str().split("warnings summary")[1]
    gated = pytester.runpytest(*existing_args, "-W", "error::pytest_pods.PodsApiWarning")
    gated.assert_outcomes(passed=2, failed=1, errors=1)
    gated.stdout.fnmatch_lines(["*FAILED*test_uses_endpoints*PodsApiWarnin*"])
