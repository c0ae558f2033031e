"""The running operator serves Prometheus metrics: passes, AWS calls, objects by condition."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, function_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def metrics_port(cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=tmp_path / "operator.log", extra_env={"SCAR_METRICS_PORT": str(port)}).start()
    yield port
    process.stop()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_say_what_the_operator_did(cluster: Cluster, namespace: str, metrics_port: int) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("counted"))
    wait_ready(cluster, namespace, "counted")

    def counted() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        samples = scrape(metrics_port)
        ready = samples and value(samples, "scar_objects", kind="ScarFunction", ready="True", stalled="False")
        return samples if ready == 1 else None

    samples = wait_for(counted, timeout=30, what="the Ready object in the metrics")
    assert value(samples, "scar_passes_total", kind="ScarFunction", result="ready") >= 1
    assert value(samples, "scar_aws_calls_total", service="lambda", operation="CreateFunction", outcome="ok") == 1
    assert value(samples, "scar_aws_calls_total", service="lambda", operation="GetFunction", outcome="ok") >= 1
    assert value(samples, "scar_pass_duration_seconds_count", kind="ScarFunction") >= 1

    cluster.delete(FUNCTIONS, namespace, "counted")
    wait_gone(cluster, namespace, "counted")
    def torn_down() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        samples = scrape(metrics_port)
        deleted = samples and value(samples, "scar_passes_total", kind="ScarFunction", result="deleted")
        return samples if deleted else None

    after = wait_for(torn_down, timeout=30, what="the teardown in the metrics")
    assert value(after, "scar_objects", kind="ScarFunction", ready="True", stalled="False") == 0
    assert value(after, "scar_aws_calls_total", service="lambda", operation="DeleteFunction", outcome="ok") == 1
