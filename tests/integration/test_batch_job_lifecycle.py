"""ScarBatchJob: apply builds its compute pool, job definition and dispatcher; edits make new revisions;
delete tears down in AWS's order; an upload becomes exactly one Batch job."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any

from scar_operator.dispatcher_package import dispatcher_zip
from scar_operator.local.runtime import LocalRuntime

from lambda_supervisor.events import s3_event
from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, SPLIT_IMAGE, batch_job_manifest, wait_gone, wait_ready

BUCKET = "scar-it-video"


def environment_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("environment", [])}


def active_revisions(aws: EmulatedAws, name: str) -> list[dict[str, Any]]:
    found = aws.client("batch").describe_job_definitions(jobDefinitionName=name, status="ACTIVE")
    return list(found["jobDefinitions"])


def test_apply_creates_compute_queue_job_definition_dispatcher_and_trigger(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "split", resources={"vcpus": 2, "memory": 4096}, timeout=600, retries=3, environment={"FPS": "1"},
    ))
    status = wait_ready(cluster, namespace, "split", BATCH_JOBS)["status"]
    batch = aws.client("batch")

    environment = batch.describe_compute_environments(
        computeEnvironments=[status["computeEnvironmentArn"]])["computeEnvironments"][0]
    assert (environment["status"], environment["state"], environment["type"]) == ("VALID", "ENABLED", "MANAGED")
    resources = environment["computeResources"]
    assert resources["type"] == "FARGATE" and resources["maxvCpus"] == 16
    # No subnets in the spec: the default VPC's default subnets and its default security group.
    ec2 = aws.client("ec2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet_vpcs = {s["VpcId"] for s in ec2.describe_subnets(SubnetIds=resources["subnets"])["Subnets"]}
    assert subnet_vpcs == {default_vpc}
    # The compute environment and the queue are the compute pool's, not this object's.
    assert status["computePool"].startswith("scar-pool-fargate-") and status["computeClass"] == "FARGATE"
    assert environment["computeEnvironmentName"] == status["jobQueueName"] == status["computePool"]
    assert environment["tags"]["scar.dev/owner"] == f"ScarBatchPool/pools/{status['computePool']}"

    queue = batch.describe_job_queues(jobQueues=[status["jobQueueArn"]])["jobQueues"][0]
    assert (queue["state"], queue["status"], queue["priority"]) == ("ENABLED", "VALID", 1)
    assert [e["computeEnvironment"] for e in queue["computeEnvironmentOrder"]] == [status["computeEnvironmentArn"]]

    [revision] = active_revisions(aws, status["jobDefinitionName"])
    assert revision["jobDefinitionArn"] == status["jobDefinitionArn"]
    assert status["jobDefinitionRevision"] == revision["revision"]
    assert revision["platformCapabilities"] == ["FARGATE"]
    assert revision["retryStrategy"]["attempts"] == 3
    assert revision["timeout"]["attemptDurationSeconds"] == 600
    container = revision["containerProperties"]
    assert container["image"] == SPLIT_IMAGE
    assert container["command"] == ["python3", "-m", "lambda_supervisor", "batch"]
    assert {r["type"]: r["value"] for r in container["resourceRequirements"]} == {"VCPU": "2", "MEMORY": "4096"}
    variables = environment_of(container)
    assert variables["FPS"] == "1" and variables["SCAR_JOB_TIMEOUT"] == "600"
    supervisor = json.loads(variables["SCAR_SUPERVISOR_CONFIG"])
    assert supervisor["outputs"] == [{"bucket": BUCKET, "prefix": "frames/"}]
    assert container["jobRoleArn"] == status["roleArn"] and container["executionRoleArn"] == status["executionRoleArn"]

    # The managed roles: the job reads its inputs and writes its outputs; the execution role writes logs.
    iam = aws.client("iam")
    job_policy = iam.get_role_policy(RoleName=status["roleArn"].rsplit("/", 1)[-1],
                                     PolicyName="scar-data-access")["PolicyDocument"]
    grants = {s["Sid"]: s["Resource"] for s in job_policy["Statement"]}
    assert grants == {"ReadInputs": [f"arn:aws:s3:::{BUCKET}/videos/*"],
                      "WriteOutputs": [f"arn:aws:s3:::{BUCKET}/frames/*"]}
    trust = iam.get_role(RoleName=status["executionRoleArn"].rsplit("/", 1)[-1])["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ecs-tasks.amazonaws.com"}]

    # The dispatcher: the supervisor's own code, zip-packaged, pointing at the queue and definition.
    dispatcher = aws.client("lambda").get_function(FunctionName=status["dispatcherFunctionName"])
    config = dispatcher["Configuration"]
    assert (config["PackageType"], config["Runtime"], config["Handler"]) == (
        "Zip", "python3.12", "lambda_supervisor.dispatcher.handler")
    target = json.loads(config["Environment"]["Variables"]["SCAR_SUPERVISOR_CONFIG"])["batch"]
    assert target["jobQueue"] == status["jobQueueArn"]
    assert target["jobDefinition"] == status["jobDefinitionName"]  # no revision: Batch takes the latest ACTIVE
    dispatch_policy = iam.get_role_policy(RoleName=config["Role"].rsplit("/", 1)[-1],
                                          PolicyName="scar-data-access")["PolicyDocument"]
    submit = next(s for s in dispatch_policy["Statement"] if s["Sid"] == "SubmitJobs")
    assert submit["Action"] == ["batch:SubmitJob"] and status["jobQueueArn"] in submit["Resource"]

    notifications = aws.client("s3").get_bucket_notification_configuration(Bucket=BUCKET)
    [entry] = [e for e in notifications["LambdaFunctionConfigurations"]
               if e["LambdaFunctionArn"] == status["dispatcherFunctionArn"]]
    assert entry["Events"] == ["s3:ObjectCreated:*"]
    logs = aws.client("logs").describe_log_groups(logGroupNamePrefix=status["logGroup"])["logGroups"]
    assert [g["retentionInDays"] for g in logs] == [30]


def test_the_dispatcher_runs_the_supervisors_own_code(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("zip"))
    status = wait_ready(cluster, namespace, "zip", BATCH_JOBS)["status"]

    config = aws.client("lambda").get_function(FunctionName=status["dispatcherFunctionName"])["Configuration"]
    package = dispatcher_zip()
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    names = set(zipfile.ZipFile(io.BytesIO(package)).namelist())
    assert {"lambda_supervisor/dispatcher.py", "lambda_supervisor/config.py", "lambda_supervisor/events.py"} <= names
    assert not any(n.startswith("scar_operator") for n in names)


def test_an_edit_registers_a_new_revision_and_deregisters_the_old_one(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("edit"))
    first = wait_ready(cluster, namespace, "edit", BATCH_JOBS)["status"]

    cluster.patch_spec(BATCH_JOBS, namespace, "edit", {"resources": {"vcpus": 4, "memory": 8192},
                                                      "compute": {"maxVcpus": 64}})
    second = wait_ready(cluster, namespace, "edit", BATCH_JOBS)["status"]

    assert second["jobDefinitionRevision"] == first["jobDefinitionRevision"] + 1
    [active] = active_revisions(aws, second["jobDefinitionName"])
    assert active["jobDefinitionArn"] == second["jobDefinitionArn"]
    assert {r["type"]: r["value"] for r in active["containerProperties"]["resourceRequirements"]} == {
        "VCPU": "4", "MEMORY": "8192"}
    environment = aws.client("batch").describe_compute_environments(
        computeEnvironments=[second["computeEnvironmentArn"]])["computeEnvironments"][0]
    assert environment["computeResources"]["maxvCpus"] == 64  # in place: the same environment
    assert environment["computeEnvironmentArn"] == first["computeEnvironmentArn"]


def test_delete_tears_down_in_the_order_aws_requires_and_keeps_the_bucket(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("gone"))
    status = wait_ready(cluster, namespace, "gone", BATCH_JOBS)["status"]
    aws.client("s3").put_object(Bucket=BUCKET, Key="videos/keep.avi", Body=b"data")
    mark = aws.proxy.mark()

    cluster.delete(BATCH_JOBS, namespace, "gone")
    wait_gone(cluster, namespace, "gone", BATCH_JOBS)

    writes = [c for c in aws.proxy.calls_since(mark) if not c.is_read]
    steps = []
    for c in writes:
        state = c.json().get("state")
        steps.append(f"{c.operation}:{state}" if state else c.operation)

    def first(step: str) -> int:
        assert step in steps, f"{step} was never called; writes were {steps}"
        return steps.index(step)

    assert "RemovePermission" not in steps, "the dispatcher's permission goes with the dispatcher"
    # The object's own resources first; then its pool, of which it was the last member.
    order = ["PutBucketNotificationConfiguration", "DeleteFunction", "DeregisterJobDefinition",
             "DeleteRole", "DeleteLogGroup", "UpdateJobQueue:DISABLED", "DeleteJobQueue",
             "UpdateComputeEnvironment:DISABLED", "DeleteComputeEnvironment"]
    positions = [first(step) for step in order]
    assert positions == sorted(positions), f"teardown order was {steps}"

    batch = aws.client("batch")
    assert batch.describe_compute_environments(computeEnvironments=[status["computeEnvironmentArn"]])[
        "computeEnvironments"] == []
    assert batch.describe_job_queues(jobQueues=[status["jobQueueArn"]])["jobQueues"] == []
    assert active_revisions(aws, status["jobDefinitionName"]) == []
    assert aws.client("s3").get_object(Bucket=BUCKET, Key="videos/keep.avi")["Body"].read() == b"data"
    assert not any(c.operation in ("DeleteBucket", "DeleteObject", "DeleteObjects") for c in writes)


def test_an_upload_makes_the_dispatcher_submit_exactly_one_job_with_that_objects_event(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess,
) -> None:
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest("jobs"))
    status = wait_ready(cluster, namespace, "jobs", BATCH_JOBS)["status"]
    aws.client("s3").put_object(Bucket=BUCKET, Key="videos/seq 1.avi", Body=b"avi!")
    event = s3_event(BUCKET, "videos/seq 1.avi", 4)

    # The dispatcher as deployed: the zip the operator uploaded, run with the function's environment.
    runtime = LocalRuntime(aws_env=aws.operator_env())
    run = runtime.invoke(status["dispatcherFunctionName"], event)
    runtime.stop()
    assert run.succeeded, run.detail
    result = run.result

    batch = aws.client("batch")
    [summary] = batch.list_jobs(jobQueue=status["jobQueueArn"], filters=[{"name": "JOB_NAME", "values": ["*"]}])[
        "jobSummaryList"]
    assert [j["jobId"] for j in result["jobs"]] == [summary["jobId"]]
    job = batch.describe_jobs(jobs=[summary["jobId"]])["jobs"][0]
    assert job["jobDefinition"] == status["jobDefinitionArn"]
    passed = json.loads(environment_of(job["container"])["SCAR_EVENT"])
    assert passed == event
    assert result["jobs"][0]["input"] == f"s3://{BUCKET}/videos/seq 1.avi"
