"""pytest-kind's handle, made offline: no .pytest-kind directory, no download, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_kind import KindCluster as PytestKindCluster

from pytest_pods.errors import ProviderError
from pytest_pods.kindcluster import KindError
from pytest_pods.kindcluster.handle import OfflineKindHandle


def handle(tmp_path: Path, missing: Callable[[str], Exception] = ProviderError) -> OfflineKindHandle:
    return OfflineKindHandle(
        "c",
        kubeconfig=tmp_path / "cache" / "kubeconfig",
        kind_path=tmp_path / "missing-kind",
        kubectl_path=tmp_path / "missing-kubectl",
        missing=missing,
    )


def test_is_pytest_kinds_handle_without_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    made = handle(tmp_path)
    assert isinstance(made, PytestKindCluster)
    assert made.kubeconfig_path == tmp_path / "cache" / "kubeconfig"
    assert not (tmp_path / ".pytest-kind").exists()


def test_a_missing_binary_is_an_error_not_a_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("pytest-kind tried to download")

    monkeypatch.setattr(requests, "get", no_download)
    made = handle(tmp_path)
    with pytest.raises(ProviderError, match=r"never downloads it.*pytest-pods kind install"):
        made.create()  # pytest-kind's create() calls ensure_kind() first
    with pytest.raises(ProviderError, match=r"never downloads it.*cluster build"):
        made.kubectl("get", "nodes")


def test_without_the_plugin_a_missing_binary_is_the_kind_packages_own_error(tmp_path: Path) -> None:
    made = OfflineKindHandle(
        "c", kubeconfig=tmp_path / "kc", kind_path=tmp_path / "no-kind", kubectl_path=tmp_path / "no-kubectl"
    )
    with pytest.raises(KindError, match=r"never downloads it.*cluster build") as info:
        made.kubectl("get", "nodes")
    assert not isinstance(info.value, ProviderError)


def test_kubectl_runs_the_given_binary_with_the_handles_kubeconfig(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text('#!/bin/sh\necho "$KUBECONFIG $*"\n')
    kubectl.chmod(0o755)
    made = OfflineKindHandle(
        "c", kubeconfig=tmp_path / "kc", kind_path=tmp_path / "kind", kubectl_path=kubectl
    )
    assert made.kubectl("get", "nodes").strip() == f"{tmp_path / 'kc'} get nodes"
