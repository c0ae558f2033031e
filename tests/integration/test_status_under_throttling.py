"""Status is a promise: Ready=True at generation N only once AWS holds generation N.

AWS throttles every call while a spec change waits to be applied: the object must say it is not
Ready (and why), kstatus must read InProgress and Argo CD Progressing, and AWS must still hold
the old settings; once AWS answers again, the new generation turns Ready. The same holds for an
object whose very first pass fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.readers import argocd_health, kstatus
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, batch_job_manifest, function_manifest, wait_ready
from tests.harness.waiting import wait_for

THROTTLED = "Rate exceeded"


@pytest.fixture(autouse=True)
def no_faults_left(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.proxy.clear_faults()


def throttle_everything(aws: EmulatedAws) -> None:
    aws.proxy.inject("*", "*", "ThrottlingException", THROTTLED, status=400, times=1_000_000)


def conditions_of(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


def wait_not_ready_at(cluster: Cluster, plural: str, namespace: str, name: str, generation: int) -> dict[str, Any]:
    """The object once the operator has seen `generation` and said it is retrying AWS."""
    def retrying() -> dict[str, Any] | None:
        obj = cluster.get(plural, namespace, name) or {}
        ready = conditions_of(obj).get("Ready", {})
        seen = (obj.get("status") or {}).get("observedGeneration") == generation
        return obj if seen and ready.get("reason") == "RetryingAWS" else None
    found: dict[str, Any] = wait_for(retrying, timeout=60, what=f"{name} at generation {generation} retrying AWS")
    return found


def assert_honestly_not_ready(obj: dict[str, Any], generation: int) -> None:
    conditions = conditions_of(obj)
    assert obj["metadata"]["generation"] == generation
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["observedGeneration"] == generation
    assert THROTTLED in conditions["Ready"]["message"]
    assert conditions["Reconciling"]["status"] == "True"
    assert conditions["Synced"]["status"] == "False"
    assert conditions["Stalled"]["status"] == "False"
    assert kstatus(obj) == "InProgress"
    assert argocd_health(obj)["status"] == "Progressing"


def test_a_function_update_aws_refuses_to_apply_is_not_ready(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("held", memory=512))
    first = wait_ready(cluster, namespace, "held")
    assert kstatus(first) == "Current" and argocd_health(first)["status"] == "Healthy"

    throttle_everything(aws)
    cluster.patch_spec(FUNCTIONS, namespace, "held", {"memory": 1024})
    obj = wait_not_ready_at(cluster, FUNCTIONS, namespace, "held", generation=2)
    assert_honestly_not_ready(obj, generation=2)
    function = aws.client("lambda").get_function(FunctionName=first["status"]["functionName"])
    assert function["Configuration"]["MemorySize"] == 512  # what Ready=False owns up to

    aws.proxy.clear_faults()
    done = wait_ready(cluster, namespace, "held", timeout=90)
    assert conditions_of(done)["Ready"]["observedGeneration"] == 2
    assert kstatus(done) == "Current" and argocd_health(done)["status"] == "Healthy"
    function = aws.client("lambda").get_function(FunctionName=first["status"]["functionName"])
    assert function["Configuration"]["MemorySize"] == 1024


def test_a_batch_job_update_aws_refuses_to_apply_is_not_ready(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("held-job", retries=1))
    first = wait_ready(cluster, namespace, "held-job", plural=BATCH_JOBS)
    revision = first["status"]["jobDefinitionRevision"]

    throttle_everything(aws)
    cluster.patch_spec(BATCH_JOBS, namespace, "held-job", {"retries": 3})
    obj = wait_not_ready_at(cluster, BATCH_JOBS, namespace, "held-job", generation=2)
    assert_honestly_not_ready(obj, generation=2)
    assert obj["status"]["jobDefinitionRevision"] == revision

    aws.proxy.clear_faults()
    done = wait_ready(cluster, namespace, "held-job", plural=BATCH_JOBS, timeout=90)
    assert done["status"]["jobDefinitionRevision"] == revision + 1
    assert kstatus(done) == "Current" and argocd_health(done)["status"] == "Healthy"


def test_an_object_whose_first_pass_fails_says_it_is_not_ready(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    throttle_everything(aws)
    cluster.apply(FUNCTIONS, namespace, function_manifest("first"))
    obj = wait_not_ready_at(cluster, FUNCTIONS, namespace, "first", generation=1)
    assert_honestly_not_ready(obj, generation=1)
    aws.proxy.clear_faults()
    wait_ready(cluster, namespace, "first", timeout=90)
