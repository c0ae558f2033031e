"""ScarBatchJob compute pools: objects of one compute class share one compute environment and one
queue, keep their own job definition, roles and dispatcher, move with an edit of their class, and
the pool goes with its last member. An object made before pools moves into its pool."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scar_operator import GROUP, VERSION, naming
from scar_operator.aws.service_linked_role import service_linked_role_arn

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for

pytestmark = pytest.mark.integration

POOL_WRITES = ("CreateComputeEnvironment", "UpdateComputeEnvironment", "DeleteComputeEnvironment",
               "CreateJobQueue", "UpdateJobQueue", "DeleteJobQueue")


def member(name: str, **spec: Any) -> dict[str, Any]:
    """A ScarBatchJob with a trigger of its own (S3 refuses two that overlap)."""
    return batch_job_manifest(name, input=[{"bucket": "scar-it-video", "prefix": f"videos/{name}/"}], **spec)


def environment(aws: EmulatedAws, name: str) -> dict[str, Any] | None:
    found = aws.client("batch").describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    return next(iter(found), None)


def queue(aws: EmulatedAws, name: str) -> dict[str, Any] | None:
    found = aws.client("batch").describe_job_queues(jobQueues=[name])["jobQueues"]
    return next(iter(found), None)


def pool_writes(aws: EmulatedAws, mark: int, pool: str) -> list[str]:
    """The writes since `mark` that touched `pool`'s compute environment or queue."""
    return [str(c) for c in aws.proxy.calls_since(mark)
            if c.operation in POOL_WRITES and pool in c.body.decode(errors="replace")]


def test_objects_of_one_compute_class_share_a_pool_and_keep_their_own_definitions_roles_and_dispatchers(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    for name, vcpus in (("a", 4), ("b", 4), ("c", 8)):
        cluster.apply(BATCH_JOBS, namespace, member(name, compute={"maxVcpus": vcpus}))
    cluster.apply(BATCH_JOBS, namespace, member("spot", compute={"type": "FARGATE_SPOT"}))
    statuses = {name: wait_ready(cluster, namespace, name, BATCH_JOBS)["status"] for name in ("a", "b", "c", "spot")}

    pools = {name: s["computePool"] for name, s in statuses.items()}
    assert pools["a"] == pools["b"] == pools["c"] != pools["spot"]
    assert {statuses[n]["jobQueueArn"] for n in "abc"} == {statuses["a"]["jobQueueArn"]}
    assert statuses["spot"]["computeClass"] == "FARGATE_SPOT"
    shared = environment(aws, pools["a"])
    assert shared is not None and shared["status"] == "VALID" and shared["state"] == "ENABLED"
    # The members' maxVcpus summed (4 + 4 + 8), as a power of two.
    assert shared["computeResources"]["maxvCpus"] == 16
    assert [e["computeEnvironment"] for e in queue(aws, pools["a"])["computeEnvironmentOrder"]] == [  # type: ignore[index]
        shared["computeEnvironmentArn"]]

    # Isolation stays per object: each has its own definition, roles and dispatcher.
    for field in ("jobDefinitionName", "roleArn", "executionRoleArn", "dispatcherFunctionName"):
        assert len({statuses[n][field] for n in "abc"}) == 3, field
    iam = aws.client("iam")
    for name in "abc":
        role = statuses[name]["roleArn"].rsplit("/", 1)[-1]
        reads = iam.get_role_policy(RoleName=role, PolicyName="scar-data-access")["PolicyDocument"]["Statement"]
        assert {s["Sid"] for s in reads} == {"ReadInputs", "WriteOutputs"}

    printed = cluster.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, BATCH_JOBS)["items"]
    assert {o["status"]["jobQueueName"] for o in printed} == {pools["a"], pools["spot"]}


def test_an_edit_moves_one_object_to_the_pool_of_its_new_class_without_disturbing_the_others(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    for name in ("stays", "moves"):
        cluster.apply(BATCH_JOBS, namespace, member(name))
    old = wait_ready(cluster, namespace, "stays", BATCH_JOBS)["status"]["computePool"]
    assert wait_ready(cluster, namespace, "moves", BATCH_JOBS)["status"]["computePool"] == old

    mark = aws.proxy.mark()
    cluster.patch_spec(BATCH_JOBS, namespace, "moves", {"compute": {"type": "FARGATE_SPOT"}})
    moved = wait_ready(cluster, namespace, "moves", BATCH_JOBS)["status"]
    assert moved["computePool"] != old and moved["computeClass"] == "FARGATE_SPOT"
    dispatcher = aws.client("lambda").get_function_configuration(FunctionName=moved["dispatcherFunctionName"])
    assert moved["computePool"] in dispatcher["Environment"]["Variables"]["SCAR_SUPERVISOR_CONFIG"]
    # The old pool still serves the object that stayed, untouched: no write reached it.
    assert pool_writes(aws, mark, old) == []
    assert queue(aws, old)["state"] == "ENABLED"  # type: ignore[index]
    assert wait_ready(cluster, namespace, "stays", BATCH_JOBS)["status"]["computePool"] == old

    # The last member moves away as well: the old pool goes (its queue first, AWS's order).
    cluster.patch_spec(BATCH_JOBS, namespace, "stays", {"compute": {"type": "FARGATE_SPOT"}})
    assert wait_ready(cluster, namespace, "stays", BATCH_JOBS)["status"]["computePool"] == moved["computePool"]
    wait_for(lambda: environment(aws, old) is None and queue(aws, old) is None, timeout=30,
             what="the emptied pool to be gone")


def test_the_pool_goes_with_its_last_member(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    for name in ("first", "second"):
        cluster.apply(BATCH_JOBS, namespace, member(name, compute={"maxVcpus": 64}))
    pool = wait_ready(cluster, namespace, "first", BATCH_JOBS)["status"]["computePool"]
    wait_ready(cluster, namespace, "second", BATCH_JOBS)
    assert environment(aws, pool)["computeResources"]["maxvCpus"] == 128  # type: ignore[index]

    cluster.delete(BATCH_JOBS, namespace, "first")
    wait_gone(cluster, namespace, "first", BATCH_JOBS)
    assert queue(aws, pool)["state"] == "ENABLED"  # type: ignore[index]

    cluster.delete(BATCH_JOBS, namespace, "second")
    wait_gone(cluster, namespace, "second", BATCH_JOBS)
    assert environment(aws, pool) is None and queue(aws, pool) is None


def batch_role(aws: EmulatedAws) -> str:
    """Batch's service-linked role, as the earlier release had it made."""
    iam = aws.client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):  # there already
        iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")
    return service_linked_role_arn("aws", "123456789012")


@pytest.fixture
def operator_later(cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    """An operator the test starts itself, after setting up what an earlier release left."""
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=tmp_path / "operator.log")
    yield process
    if process.alive:
        cluster.delete(BATCH_JOBS, namespace, "legacy")
        wait_gone(cluster, namespace, "legacy", BATCH_JOBS)
        process.stop()


def test_an_object_made_before_pools_moves_into_its_pool_and_its_own_environment_goes(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator_later: OperatorProcess
) -> None:
    # What the release before pools left: an environment and a queue named after the object.
    owner = naming.Owner("ScarBatchJob", namespace, "legacy")
    own = naming.batch_name(owner)
    batch, ec2 = aws.client("batch"), aws.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s.get("DefaultForAz")]
    group = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    made = batch.create_compute_environment(
        computeEnvironmentName=own, type="MANAGED", state="ENABLED", tags=owner.tags(), serviceRole=batch_role(aws),
        computeResources={"type": "FARGATE", "maxvCpus": 16, "subnets": subnets, "securityGroupIds": [group]})
    batch.create_job_queue(jobQueueName=own, state="ENABLED", priority=1, tags=owner.tags(),
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": made["computeEnvironmentArn"]}])
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("legacy"))
    created = cluster.get(BATCH_JOBS, namespace, "legacy") or {}
    cluster.custom.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, BATCH_JOBS, "legacy", {
        "status": {"computeEnvironmentArn": made["computeEnvironmentArn"], "jobQueueManaged": True,
                   "observedGeneration": created["metadata"]["generation"]}})

    operator_later.start()
    status = wait_ready(cluster, namespace, "legacy", BATCH_JOBS)["status"]
    assert status["computePool"].startswith("scar-pool-") and status["jobQueueName"] == status["computePool"]
    assert status["computeEnvironmentArn"].endswith("/" + status["computePool"])
    # Its own queue and environment are gone (no job was left in them), the pool serves it now.
    assert queue(aws, own) is None and environment(aws, own) is None
    assert queue(aws, status["computePool"])["state"] == "ENABLED"  # type: ignore[index]
