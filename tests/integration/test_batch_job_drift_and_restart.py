"""ScarBatchJob: changes made behind the operator's back are put back, a quiet re-check only reads,
and an operator killed mid-create converges with no duplicate and no orphan."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for


def test_compute_resized_by_hand_is_put_back(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("drift", compute={"maxVcpus": 8}))
    status = wait_ready(cluster, namespace, "drift", BATCH_JOBS)["status"]
    batch = aws.client("batch")
    batch.update_compute_environment(computeEnvironment=status["computeEnvironmentArn"],
                                     computeResources={"maxvCpus": 512})

    def max_vcpus() -> int:
        return int(batch.describe_compute_environments(computeEnvironments=[status["computeEnvironmentArn"]])[
            "computeEnvironments"][0]["computeResources"]["maxvCpus"])

    wait_for(lambda: max_vcpus() == 8, timeout=30, what="maxvCpus back at 8")


def test_a_job_definition_deregistered_by_hand_is_registered_again(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("gone-def"))
    status = wait_ready(cluster, namespace, "gone-def", BATCH_JOBS)["status"]
    batch = aws.client("batch")
    batch.deregister_job_definition(jobDefinition=status["jobDefinitionArn"])

    def active() -> list[Any]:
        return list(batch.describe_job_definitions(jobDefinitionName=status["jobDefinitionName"],
                                                   status="ACTIVE")["jobDefinitions"])

    wait_for(lambda: len(active()) == 1, timeout=30, what="an ACTIVE revision again")
    assert active()[0]["revision"] == status["jobDefinitionRevision"] + 1


def test_a_pass_with_nothing_to_fix_makes_only_read_calls(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("quiet"))
    wait_ready(cluster, namespace, "quiet", BATCH_JOBS)
    mark = aws.proxy.mark()
    # The re-check runs every 2 s in the tests: wait for at least two of them to have listed the revisions.
    wait_for(lambda: [c.operation for c in aws.proxy.calls_since(mark)].count("DescribeJobDefinitions") >= 4,
             timeout=30, what="two periodic re-checks")
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []


def owned(aws: EmulatedAws, namespace: str, name: str, pool: str) -> dict[str, int]:
    """What AWS holds of the object, and of its compute pool (by their owner tags)."""
    owner = f"ScarBatchJob/{namespace}/{name}"
    pool_owner = f"ScarBatchPool/pools/{pool}"
    batch, lam, iam = aws.client("batch"), aws.client("lambda"), aws.client("iam")
    environments = [e for e in batch.describe_compute_environments()["computeEnvironments"]
                    if e.get("tags", {}).get("scar.dev/owner") in (owner, pool_owner)]
    queues = [q for q in batch.describe_job_queues()["jobQueues"]
              if q.get("tags", {}).get("scar.dev/owner") in (owner, pool_owner)]
    revisions = [d for d in batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
                 if d.get("tags", {}).get("scar.dev/owner") == owner]
    functions = [f for f in lam.list_functions()["Functions"]
                 if lam.list_tags(Resource=f["FunctionArn"])["Tags"].get("scar.dev/owner") == owner]
    roles = [r for r in iam.list_roles(PathPrefix="/scar/")["Roles"]
             if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"])["Tags"]}
             .get("scar.dev/owner") == owner]
    return {"compute environments": len(environments), "queues": len(queues), "active revisions": len(revisions),
            "functions": len(functions), "roles": len(roles)}


@pytest.mark.parametrize("writes_before_the_kill", [2, 6, 10, 14])
def test_killed_mid_create_it_converges_with_no_duplicate(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, writes_before_the_kill: int
) -> None:
    mark = aws.proxy.mark()
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "phoenix", input=[{"bucket": "scar-it-restart", "prefix": "videos/"}],
        output=[{"bucket": "scar-it-restart", "prefix": "frames/"}]))
    wait_for(lambda: len([c for c in aws.proxy.calls_since(mark) if not c.is_read]) >= writes_before_the_kill,
             timeout=30, interval=0.005, what=f"{writes_before_the_kill} AWS writes")
    operator.kill()
    operator.start()

    pool = wait_ready(cluster, namespace, "phoenix", BATCH_JOBS)["status"]["computePool"]
    assert owned(aws, namespace, "phoenix", pool) == {"compute environments": 1, "queues": 1, "active revisions": 1,
                                                "functions": 1, "roles": 3}

    cluster.delete(BATCH_JOBS, namespace, "phoenix")
    wait_gone(cluster, namespace, "phoenix", BATCH_JOBS)
    assert set(owned(aws, namespace, "phoenix", pool).values()) == {0}
