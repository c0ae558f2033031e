"""Integration fixtures: a fresh namespace and a real operator process for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = cluster.create_namespace("it")
    yield name
    cluster.delete_namespace(name)


@pytest.fixture
def operator_env() -> dict[str, str]:
    """More environment for the operator process; a test module overrides it (registries' CA, say)."""
    return {}


@pytest.fixture
def operator(cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path, operator_env: dict[str, str],
             request: pytest.FixtureRequest) -> Iterator[OperatorProcess]:
    process = OperatorProcess(
        kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
        log_path=tmp_path / "operator.log", extra_env=operator_env,
    ).start()
    yield process
    # Leave nothing behind in the shared moto: delete what the test left, with the operator still up.
    for plural in ("scarfunctions", "scarbatchjobs"):
        listing = cluster.custom.list_namespaced_custom_object("scar.dev", "v1alpha1", namespace, plural)
        for item in listing.get("items", []):
            name = item["metadata"]["name"]
            cluster.delete(plural, namespace, name)
            wait_for(lambda p=plural, n=name: cluster.get(p, namespace, n) is None,  # type: ignore[misc]
                     timeout=30, what=f"{plural} {name} to be deleted")
    process.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(process.logs()[-20000:])


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


Wait = Callable[..., Any]
