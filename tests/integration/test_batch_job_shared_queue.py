"""ScarBatchJob on a shared queue: nothing but the job definition, dispatcher and trigger is made,
many objects share it, and deleting one leaves the queue to the others."""

from __future__ import annotations

import uuid
from typing import Any

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_gone, wait_ready


def shared_fargate_queue(aws: EmulatedAws) -> dict[str, Any]:
    """A queue the platform team made by hand, on Fargate."""
    batch, iam = aws.client("batch"), aws.client("iam")
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=f"platform-batch-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    ec2 = aws.client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]
    environment = batch.create_compute_environment(
        computeEnvironmentName=f"platform-{suffix}", type="MANAGED", state="ENABLED", serviceRole=role,
        computeResources={"type": "FARGATE", "maxvCpus": 256, "subnets": [subnet["SubnetId"]],
                          "securityGroupIds": [ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]]})
    queue = batch.create_job_queue(jobQueueName=f"platform-{suffix}", state="ENABLED", priority=10,
                                   computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                                             environment["computeEnvironmentArn"]}])
    return dict(queue)


def test_objects_share_a_queue_and_deleting_one_leaves_it(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    queue = shared_fargate_queue(aws)
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("first", jobQueue=queue["jobQueueName"]))
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "second", jobQueue=queue["jobQueueArn"], input=[{"bucket": "scar-it-video", "prefix": "other/"}]))
    first = wait_ready(cluster, namespace, "first", BATCH_JOBS)["status"]
    second = wait_ready(cluster, namespace, "second", BATCH_JOBS)["status"]

    assert first["jobQueueArn"] == second["jobQueueArn"] == queue["jobQueueArn"]
    assert first["jobQueueManaged"] is False and "computeEnvironmentArn" not in first
    batch = aws.client("batch")
    environments = [e["computeEnvironmentName"] for e in batch.describe_compute_environments()["computeEnvironments"]]
    assert not any(namespace in name for name in environments), environments
    # The job definition fits the queue's compute: Fargate.
    revision = batch.describe_job_definitions(jobDefinitions=[first["jobDefinitionArn"]])["jobDefinitions"][0]
    assert revision["platformCapabilities"] == ["FARGATE"]

    cluster.delete(BATCH_JOBS, namespace, "first")
    wait_gone(cluster, namespace, "first", BATCH_JOBS)

    [still] = batch.describe_job_queues(jobQueues=[queue["jobQueueArn"]])["jobQueues"]
    assert (still["state"], still["status"]) == ("ENABLED", "VALID")
    assert wait_ready(cluster, namespace, "second", BATCH_JOBS)["status"]["jobQueueArn"] == queue["jobQueueArn"]
