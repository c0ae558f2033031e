"""The typed spec of ScarBatchJob: the shared data contract plus AWS Batch's compute and job settings.

Rules the CRD schema can carry (ranges, enums, one-field patterns, CEL for pairs of fields) are
declared on the fields; AWS Batch's arithmetic (which memory goes with which Fargate vCPU count)
is a validator, reported as `Stalled` with the field named.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from scar_operator.models import (
    LOG_RETENTION_DAYS,
    DataContract,
    RoleArn,
    SpecError,
    _Model,
    format_validation_error,
)

ComputeType = Literal["FARGATE", "FARGATE_SPOT", "EC2", "SPOT"]
FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")

# The vCPU / memory (MiB) pairs Fargate offers for Batch jobs.
FARGATE_MEMORY: dict[float, tuple[int, ...]] = {
    0.25: (512, 1024, 2048),
    0.5: tuple(range(1024, 4096 + 1, 1024)),
    1: tuple(range(2048, 8192 + 1, 1024)),
    2: tuple(range(4096, 16384 + 1, 1024)),
    4: tuple(range(8192, 30720 + 1, 1024)),
    8: tuple(range(16384, 61440 + 1, 4096)),
    16: tuple(range(32768, 122880 + 1, 8192)),
}

# Batch sets AWS_BATCH_*; the dispatcher and the operator set these for the supervisor.
BATCH_RESERVED_VARIABLES = frozenset({"SCAR_EVENT", "SCAR_JOB_TIMEOUT"})

SubnetId = Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]
SecurityGroupId = Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]
JobQueueRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        pattern=r"^([A-Za-z0-9][A-Za-z0-9_-]{0,127}|arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-queue/[A-Za-z0-9_-]{1,128})$",
        description="Name or ARN of an existing job queue; no compute environment or queue is then created.",
    ),
]


class JobResources(_Model):
    """What one job gets."""

    vcpus: Annotated[
        float, Field(ge=0.25, le=256, description="vCPUs per job (Fargate: 0.25, 0.5, 1, 2, 4, 8, 16).")
    ] = 1
    memory: Annotated[int, Field(ge=512, le=1_048_576, description="MiB per job.")] = 2048
    gpus: Annotated[int, Field(ge=0, le=16, description="GPUs per job (EC2 and SPOT only).")] = 0


class Compute(_Model):
    """The compute class of the managed pool the jobs run on (batchjob/pool.py): objects of one
    class and team share one compute environment and queue."""

    type: Annotated[
        ComputeType,
        Field(description="FARGATE (default), FARGATE_SPOT, EC2 or SPOT. A change moves the object to the "
                          "compute pool of its new class."),
    ] = "FARGATE"
    max_vcpus: Annotated[
        int, Field(ge=1, le=10000, description="vCPUs this object's jobs may need at once; the pool holds its "
                                               "members' sum, capped by the operator (SCAR_BATCH_POOL_MAX_VCPUS).")
    ] = 16
    instance_types: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z0-9]+(\.[a-z0-9]+)?$", max_length=64)]],
        Field(max_length=20, default_factory=list, description="EC2/SPOT instance types; default 'optimal'."),
    ]
    subnets: Annotated[
        list[SubnetId],
        Field(max_length=16, default_factory=list,
              description="Where instances or tasks run; the default VPC's default subnets when empty."),
    ]
    security_group_ids: Annotated[
        list[SecurityGroupId],
        Field(max_length=5, default_factory=list, description="Default: the VPC's default security group."),
    ]

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!(self.type in ['FARGATE', 'FARGATE_SPOT']) || !has(self.instanceTypes) "
                         "|| size(self.instanceTypes) == 0",
                 "message": "instanceTypes apply to EC2 and SPOT only"},
            ]
        }
    )

    @model_validator(mode="after")
    def _fits_type(self) -> Compute:
        if self.type in FARGATE_TYPES and self.instance_types:
            raise ValueError(f"instanceTypes: {self.type} chooses its own capacity; instance types apply to EC2/SPOT")
        return self


def check_fargate_resources(r: JobResources, platform: str) -> None:
    """Fargate's own offer: no GPUs, and only some vCPU / memory pairs."""
    if r.gpus:
        raise ValueError(f"resources.gpus: {platform} offers no GPUs; use EC2 or SPOT")
    if r.vcpus not in FARGATE_MEMORY:
        raise ValueError(f"resources.vcpus: Fargate offers {sorted(FARGATE_MEMORY)} vCPUs, not {r.vcpus:g}")
    offered = FARGATE_MEMORY[r.vcpus]
    if r.memory not in offered:
        step = offered[1] - offered[0] if len(offered) > 1 else offered[0]
        raise ValueError(f"resources.memory: Fargate offers {offered[0]}..{offered[-1]} MiB in steps of {step} "
                         f"with {r.vcpus:g} vCPU, not {r.memory}")


class ScarBatchJobSpec(DataContract):
    """Each S3 upload to an input becomes one AWS Batch job that runs the image with the supervisor."""

    resources: JobResources = JobResources()
    timeout: Annotated[
        int | None, Field(ge=60, le=1_209_600, description="Seconds per job attempt (Batch's minimum is 60).")
    ] = None
    retries: Annotated[int, Field(ge=1, le=10, description="Attempts per job.")] = 1
    compute: Annotated[
        Compute | None, Field(description="The managed compute environment; FARGATE when absent.")
    ] = None
    job_queue: JobQueueRef | None = None
    job_role_arn: Annotated[
        RoleArn | None, Field(description="Role the job's code runs as; managed when absent.")
    ] = None
    execution_role_arn: Annotated[
        RoleArn | None, Field(description="Role ECS pulls the image and writes logs with; managed when absent.")
    ] = None
    log_retention_days: Annotated[
        int, Field(json_schema_extra={"enum": list(LOG_RETENTION_DAYS)}, description="CloudWatch Logs retention.")
    ] = 30

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!(has(self.jobQueue) && has(self.compute))",
                 "message": "set either jobQueue (an existing queue) or compute (a managed one), not both"},
            ]
        }
    )

    @property
    def compute_or_default(self) -> Compute:
        return self.compute or Compute.model_validate({})

    @property
    def on_fargate(self) -> bool:
        # A shared queue's compute is unknown: Fargate is assumed only when this object manages it.
        return self.job_queue is None and self.compute_or_default.type in FARGATE_TYPES

    @model_validator(mode="after")
    def _batch_rules(self) -> ScarBatchJobSpec:
        if self.job_queue is not None and self.compute is not None:
            raise ValueError("jobQueue: set either jobQueue (an existing queue) or compute (a managed one), not both")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"logRetentionDays: must be one of {list(LOG_RETENTION_DAYS)}")
        for name in self.environment:
            if name.startswith("AWS_BATCH") or name in BATCH_RESERVED_VARIABLES:
                raise ValueError(f"environment: variable name {name!r} is reserved by AWS Batch or the supervisor")
        if self.on_fargate:
            check_fargate_resources(self.resources, self.compute_or_default.type)
        elif self.resources.vcpus != int(self.resources.vcpus):
            raise ValueError(f"resources.vcpus: EC2 jobs take whole vCPUs, not {self.resources.vcpus:g}")
        return self


def parse_batch_job_spec(spec: dict[str, Any]) -> ScarBatchJobSpec:
    try:
        return ScarBatchJobSpec.model_validate(spec)
    except ValidationError as e:
        raise SpecError(format_validation_error(e)) from None

