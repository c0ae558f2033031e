"""The desired AWS state of a ScarBatchJob, built by pure functions from the spec."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from scar_operator import naming
from scar_operator.batchjob.desired import (
    JOB_DEFINITION_LIMIT_BYTES,
    BatchPlan,
    Network,
    plan_batch_job,
    plan_pool,
)
from scar_operator.batchjob.pool import compute_class, pool_capacity, pool_identity
from scar_operator.batchjob.spec import parse_batch_job_spec
from scar_operator.dispatcher_package import dispatcher_zip
from scar_operator.function.desired import Account
from scar_operator.models import SpecError

from lambda_supervisor.config import CONFIG_ENV, SupervisorConfig

ACCOUNT = Account(id="123456789012", region="eu-west-1")
OWNER = naming.Owner("ScarBatchJob", "video", "split")
NETWORK = Network(("subnet-0123456789abcdef0",), ("sg-0123456789abcdef0",))
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ffmpeg:1"


def plan(platform: str | None = None, **fields: Any) -> BatchPlan:
    spec = parse_batch_job_spec({"image": ECR_IMAGE, "input": [{"bucket": "videos", "prefix": "in/"}],
                                 "output": [{"bucket": "videos", "prefix": "frames/"}], **fields})
    if spec.job_queue:
        return plan_batch_job(spec, OWNER, ACCOUNT, None, platform)
    klass = compute_class(spec.compute_or_default, NETWORK.subnets, NETWORK.security_group_ids, spec.resources.gpus)
    capacity = pool_capacity([spec.compute_or_default.max_vcpus], 256, all_members_known=True)
    return plan_batch_job(spec, OWNER, ACCOUNT, plan_pool(pool_identity(klass, ACCOUNT, None, ""), ACCOUNT, capacity))


def container(p: BatchPlan) -> dict[str, Any]:
    return dict(p.job_definition.properties["containerProperties"])


def role(p: BatchPlan, purpose: str) -> dict[str, Any]:
    found = next(r for r in p.roles if r.name.endswith(f"-{purpose}"))
    return {"trust": found.trust_policy["Statement"][0]["Principal"]["Service"],
            "grants": {s["Sid"]: (s["Action"], s["Resource"]) for s in found.inline_policy["Statement"]}}


def test_names_are_deterministic_distinct_per_kind_and_within_aws_limits() -> None:
    first, second = plan(), plan()
    assert first.queue_name == second.queue_name and first.job_definition.name == second.job_definition.name
    # The queue and the compute environment are the pool's; the job definition is the object's own.
    assert first.compute is not None and first.compute.name == first.queue_name != first.job_definition.name
    assert first.job_definition.name == naming.batch_name(OWNER)
    function_owner = naming.Owner("ScarFunction", "video", "split")
    assert first.dispatcher.name != naming.function_name(function_owner)
    long_owner = naming.Owner("ScarBatchJob", "n" * 63, "m" * 253)
    assert len(naming.dispatcher_name(long_owner)) <= 64
    assert all(len(naming.batch_role_name(long_owner, p)) <= 64 for p in ("dispatch", "job", "exec", "instance"))
    assert len(naming.batch_name(long_owner)) <= 128


def test_fargate_gets_a_fargate_job_definition_with_a_public_ip_and_no_instance_role() -> None:
    p = plan(resources={"vcpus": 0.5, "memory": 2048})
    assert p.job_definition.properties["platformCapabilities"] == ["FARGATE"]
    assert container(p)["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert {r["type"]: r["value"] for r in container(p)["resourceRequirements"]} == {"VCPU": "0.5", "MEMORY": "2048"}
    assert p.compute is not None and p.compute.instance_profile is None
    assert "instanceRole" not in p.compute.compute_resources(ACCOUNT)
    assert not any(r.name.endswith("-instance") for r in p.roles)


def test_ec2_gets_gpus_an_instance_profile_and_an_allocation_that_allows_updates() -> None:
    p = plan(resources={"vcpus": 4, "memory": 16384, "gpus": 1},
             compute={"type": "EC2", "subnets": ["subnet-0123456789abcdef0"], "instanceTypes": ["g4dn"]})
    assert p.job_definition.properties["platformCapabilities"] == ["EC2"]
    assert {r["type"]: r["value"] for r in container(p)["resourceRequirements"]}["GPU"] == "1"
    assert p.compute is not None
    resources = p.compute.compute_resources(ACCOUNT)
    assert resources["allocationStrategy"] == "BEST_FIT_PROGRESSIVE"
    assert resources["instanceTypes"] == ["g4dn"] and resources["minvCpus"] == 0
    # The pool's instance role (its instances run every member's jobs): the ECS agent's grants only.
    assert p.pool is not None and p.pool.instance_role is not None
    assert resources["instanceRole"].endswith(f":instance-profile/scar/{p.pool.name}-instance")
    assert p.pool.instance_role.trust_policy["Statement"][0]["Principal"]["Service"] == "ec2.amazonaws.com"
    assert [s["Sid"] for s in p.pool.instance_role.inline_policy["Statement"]] == ["EcsAgent"]
    assert not any(r.name.endswith("-instance") for r in p.roles)


def test_spot_uses_the_capacity_optimised_strategy_and_defaults_to_optimal_instances() -> None:
    p = plan(compute={"type": "SPOT", "subnets": ["subnet-0123456789abcdef0"]})
    assert p.compute is not None
    resources = p.compute.compute_resources(ACCOUNT)
    assert (resources["allocationStrategy"], resources["instanceTypes"]) == ("SPOT_CAPACITY_OPTIMIZED", ["optimal"])


def test_the_managed_roles_are_least_privilege() -> None:
    p = plan()
    job = role(p, "job")
    assert job["trust"] == "ecs-tasks.amazonaws.com"
    assert job["grants"] == {
        "ReadInputs": (["s3:GetObject"], ["arn:aws:s3:::videos/in/*"]),
        "WriteOutputs": (["s3:PutObject", "s3:AbortMultipartUpload"], ["arn:aws:s3:::videos/frames/*"]),
    }
    execution = role(p, "exec")
    assert execution["grants"]["EcrPull"][1] == "arn:aws:ecr:eu-west-1:123456789012:repository/ffmpeg"
    assert execution["grants"]["WriteLogs"][1] == [
        f"arn:aws:logs:eu-west-1:123456789012:log-group:{p.job_log_group}:*"]
    dispatch = role(p, "dispatch")
    assert dispatch["trust"] == "lambda.amazonaws.com"
    definition = f"arn:aws:batch:eu-west-1:123456789012:job-definition/{p.job_definition.name}"
    assert dispatch["grants"]["SubmitJobs"] == (["batch:SubmitJob"], [p.queue_arn, definition, f"{definition}:*"])


def test_a_public_image_needs_no_ecr_grants() -> None:
    assert "EcrPull" not in role(plan(image="grycap/ffmpeg"), "exec")["grants"]


def test_given_roles_are_used_and_not_managed() -> None:
    p = plan(jobRoleArn="arn:aws:iam::123456789012:role/mine", executionRoleArn="arn:aws:iam::123456789012:role/ex")
    assert container(p)["jobRoleArn"] == "arn:aws:iam::123456789012:role/mine"
    assert container(p)["executionRoleArn"] == "arn:aws:iam::123456789012:role/ex"
    assert [r.name.rsplit("-", 1)[-1] for r in p.roles] == ["dispatch"]


def test_the_job_runs_the_supervisor_with_its_configuration_and_timeout() -> None:
    p = plan(timeout=900, retries=4, environment={"FPS": "1"}, script="ffmpeg ...")
    c = container(p)
    assert c["command"] == ["python3", "-m", "lambda_supervisor", "batch"]
    variables = {e["name"]: e["value"] for e in c["environment"]}
    assert variables["FPS"] == "1" and variables["SCAR_JOB_TIMEOUT"] == "900"
    config = SupervisorConfig.from_json(variables[CONFIG_ENV])
    assert config.script == "ffmpeg ..." and config.outputs[0].prefix == "frames/"
    assert p.job_definition.properties["retryStrategy"] == {"attempts": 4}
    assert p.job_definition.properties["timeout"] == {"attemptDurationSeconds": 900}
    assert c["logConfiguration"]["options"]["awslogs-group"] == p.job_log_group


def test_the_dispatcher_targets_the_queue_and_the_definition_without_a_revision() -> None:
    p = plan()
    target = SupervisorConfig.from_json(p.dispatcher.environment[CONFIG_ENV]).batch
    assert target is not None
    assert (target.job_queue, target.job_definition) == (p.queue_arn, p.job_definition.name)
    assert all(e.function_arn == p.dispatcher.arn for entries in p.notifications.values() for e in entries)


def test_the_fingerprint_changes_with_the_content_only() -> None:
    assert plan().job_definition.fingerprint == plan().job_definition.fingerprint
    assert plan().job_definition.fingerprint != plan(retries=2).job_definition.fingerprint


def test_a_job_definition_over_24_kib_is_refused_naming_the_fields() -> None:
    with pytest.raises(SpecError, match=f"spec.script.*{JOB_DEFINITION_LIMIT_BYTES}"):
        plan(script="x" * JOB_DEFINITION_LIMIT_BYTES)


def test_a_shared_queue_creates_no_compute_and_fits_its_platform() -> None:
    fargate = plan("FARGATE", jobQueue="arn:aws:batch:eu-west-1:123456789012:job-queue/platform")
    assert fargate.compute is None and fargate.queue_name == "platform"
    assert fargate.job_definition.properties["platformCapabilities"] == ["FARGATE"]
    ec2 = plan("EC2", jobQueue="platform", resources={"vcpus": 3, "memory": 5000, "gpus": 1})
    assert ec2.queue_arn == "arn:aws:batch:eu-west-1:123456789012:job-queue/platform"
    assert ec2.job_definition.properties["platformCapabilities"] == ["EC2"]
    with pytest.raises(SpecError, match=r"spec\.resources\.gpus"):
        plan("FARGATE", jobQueue="platform", resources={"gpus": 1})


def test_the_dispatcher_package_is_reproducible_and_holds_only_the_supervisor() -> None:
    package = dispatcher_zip()
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert names == sorted(names) and all(n.startswith("lambda_supervisor/") for n in names)
    assert "lambda_supervisor/dispatcher.py" in names
    dispatcher_zip.cache_clear()
    assert dispatcher_zip() == package  # same bytes: CodeSha256 only changes with the code
