"""ScarBatchJob at AWS Batch's hard quotas: 50 compute environments and 50 job queues per account
and Region, at most 3 compute environments per queue.

The embedded AWS holds these quotas as AWS does (moto would make a 51st), and an object that meets
a full account says which quota, makes nothing else, and recovers by itself once there is room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from scar_operator.local.aws_rules import BATCH_COMPUTE_ENVIRONMENTS, BATCH_JOB_QUEUES

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_gone, wait_ready, wait_stalled

pytestmark = pytest.mark.integration

# An account of its own for the rule tests, so that filling it disturbs no other test.
FULL_ACCOUNT = "333333333333"


def environment_order(*arns: str) -> list[dict[str, Any]]:
    return [{"order": index, "computeEnvironment": arn} for index, arn in enumerate(arns)]


def service_role(iam: Any) -> str:
    """A role for another tool's compute environments (moto wants one that exists)."""
    try:
        return str(iam.get_role(RoleName="other-tool-batch")["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = '{"Version": "2012-10-17", "Statement": []}'
        return str(iam.create_role(RoleName="other-tool-batch", AssumeRolePolicyDocument=trust)["Role"]["Arn"])


@contextmanager
def compute_environments(batch: Any, iam: Any, count: int, prefix: str) -> Iterator[list[str]]:
    """`count` unmanaged compute environments (made by another tool of the account), removed after."""
    role = service_role(iam)
    arns = [batch.create_compute_environment(computeEnvironmentName=f"{prefix}-{index}", type="UNMANAGED",
                                             state="ENABLED", serviceRole=role)["computeEnvironmentArn"]
            for index in range(count)]
    try:
        yield arns
    finally:
        for arn in arns:
            remove_environment(batch, arn)


def remove_environment(batch: Any, arn: str) -> None:
    if not batch.describe_compute_environments(computeEnvironments=[arn])["computeEnvironments"]:
        return
    batch.update_compute_environment(computeEnvironment=arn, state="DISABLED")
    batch.delete_compute_environment(computeEnvironment=arn)


def refusal(batch_call: Callable[[], object]) -> str:
    with pytest.raises(ClientError) as caught:
        batch_call()
    error = caught.value.response["Error"]
    assert error.get("Code") == "ClientException"
    return str(error.get("Message"))


def test_an_account_holds_50_compute_environments_per_region(aws: EmulatedAws) -> None:
    batch, iam = aws.client_in(FULL_ACCOUNT, "batch"), aws.client_in(FULL_ACCOUNT, "iam")
    with compute_environments(batch, iam, BATCH_COMPUTE_ENVIRONMENTS, "filler"):
        message = refusal(lambda: batch.create_compute_environment(
            computeEnvironmentName="one-more", type="UNMANAGED", state="ENABLED", serviceRole=service_role(iam)))
        assert message == "Maximum number of compute environments (50) reached."
    # Room again once they are gone.
    with compute_environments(batch, iam, 1, "afterwards"):
        pass


def test_an_account_holds_50_job_queues_per_region_and_a_queue_at_most_3_environments(aws: EmulatedAws) -> None:
    batch, iam = aws.client_in(FULL_ACCOUNT, "batch"), aws.client_in(FULL_ACCOUNT, "iam")
    with compute_environments(batch, iam, 4, "shared") as arns:
        message = refusal(lambda: batch.create_job_queue(
            jobQueueName="too-wide", priority=1, state="ENABLED", computeEnvironmentOrder=environment_order(*arns)))
        assert "at most 3" in message
        queues = [batch.create_job_queue(jobQueueName=f"q-{index}", priority=1, state="ENABLED",
                                         computeEnvironmentOrder=environment_order(arns[0]))["jobQueueArn"]
                  for index in range(BATCH_JOB_QUEUES)]
        try:
            message = refusal(lambda: batch.create_job_queue(
                jobQueueName="one-more", priority=1, state="ENABLED",
                computeEnvironmentOrder=environment_order(arns[0])))
            assert message == "Maximum number of job queues (50) reached."
            message = refusal(lambda: batch.update_job_queue(
                jobQueue=queues[0], computeEnvironmentOrder=environment_order(*arns)))
            assert "at most 3" in message
        finally:
            for queue in queues:
                batch.update_job_queue(jobQueue=queue, state="DISABLED")
                batch.delete_job_queue(jobQueue=queue)


def test_a_full_account_stalls_naming_the_quota_makes_nothing_else_and_recovers_when_there_is_room(
        cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path) -> None:
    batch = aws.client("batch")
    room = BATCH_COMPUTE_ENVIRONMENTS - len(batch.describe_compute_environments()["computeEnvironments"])
    # The periodic re-check is far away: only the quota's own slow retry can bring the object back.
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=tmp_path / "operator.log",
                              extra_env={"SCAR_RESYNC_SECONDS": "300", "SCAR_QUOTA_RETRY_SECONDS": "1"}).start()
    try:
        with compute_environments(batch, aws.client("iam"), room, "other-tool") as fillers:
            mark = aws.proxy.mark()
            cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("split"))
            stalled = wait_stalled(cluster, namespace, "split", BATCH_JOBS)
            assert stalled["reason"] == "QuotaExceeded"
            assert "AWS Batch compute environments per Region (50) quota is full" in stalled["message"]
            made = [c.operation for c in aws.proxy.calls_since(mark) if not c.is_read]
            # Nothing but the refused compute environment (and Batch's service-linked role it needs).
            assert set(made) <= {"CreateComputeEnvironment", "CreateServiceLinkedRole"}, made

            remove_environment(batch, fillers[0])  # another tool's compute environment is deleted
            wait_ready(cluster, namespace, "split", BATCH_JOBS, timeout=60)
        cluster.delete(BATCH_JOBS, namespace, "split")
        wait_gone(cluster, namespace, "split", BATCH_JOBS, timeout=120)
    finally:
        process.stop()
