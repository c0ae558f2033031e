"""The desired AWS state of a ScarBatchJob: plain data from pure functions of the spec.

A ScarBatchJob is a dispatcher Lambda (triggered by S3, one Batch job per object) in front of a
job definition that runs the supervisor in the user's image, on the compute pool of its compute
class (batchjob/pool.py), or on a shared queue named in the spec.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from lambda_supervisor.batch import TIMEOUT_ENV
from lambda_supervisor.config import CONFIG_ENV, BatchTarget, SupervisorConfig
from scar_operator import naming
from scar_operator.batchjob.pool import PoolCapacity, PoolIdentity, allocation_strategy
from scar_operator.batchjob.spec import ScarBatchJobSpec, check_fargate_resources
from scar_operator.ecr_images import ecr_image
from scar_operator.function.desired import (
    ROLE_PATH,
    Account,
    NotificationEntry,
    RolePlan,
    data_access_policy,
    log_group_arn,
    supervisor_config,
    trust_policy,
)
from scar_operator.images.supervisor_layer import BATCH_COMMAND
from scar_operator.models import SpecError

# Batch refuses a job definition over 24 KiB ("the size of the request").
JOB_DEFINITION_LIMIT_BYTES = 24 * 1024
JOB_COMMAND = ["python3", "-m", "lambda_supervisor", "batch"]
DISPATCHER_RUNTIME = "python3.12"
DISPATCHER_HANDLER = "lambda_supervisor.dispatcher.handler"
DISPATCHER_MEMORY = 256
DISPATCHER_TIMEOUT = 60  # one SubmitJob per record: seconds are plenty
# Without a timeout in the spec, the supervisor never stops the script itself: Batch's own
# attempt timeout (if any) and the job's retries apply.
_NO_TIMEOUT_THRESHOLD_BASE = 3600


@dataclass(frozen=True)
class Network:
    """Where the compute environment's instances or tasks run, resolved before planning."""

    subnets: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class ComputePlan:
    name: str
    arn: str
    type: str
    max_vcpus: int
    instance_types: tuple[str, ...]
    network: Network
    # EC2 and SPOT instances need an instance profile; Fargate does not.
    instance_profile: str | None
    # The maxvCpus a pool accepts as it is (pool.pool_capacity); None: exactly max_vcpus.
    capacity: PoolCapacity | None = None

    def vcpus_fit(self, current: object) -> bool:
        if not isinstance(current, int):
            return False
        return self.capacity.fits(current) if self.capacity is not None else current == self.max_vcpus

    def compute_resources(self, account: Account) -> dict[str, Any]:
        resources: dict[str, Any] = {
            "type": self.type,
            "maxvCpus": self.max_vcpus,
            "subnets": list(self.network.subnets),
            "securityGroupIds": list(self.network.security_group_ids),
        }
        if self.type in ("EC2", "SPOT"):
            resources.update({
                "minvCpus": 0,
                "instanceTypes": list(self.instance_types or ("optimal",)),
                "instanceRole": instance_profile_arn(account, self.instance_profile or ""),
                "allocationStrategy": allocation_strategy(self.type),
            })
        return resources


@dataclass(frozen=True)
class PoolPlan:
    """The compute pool an object's jobs run on: made by its first member, removed after its last."""

    identity: PoolIdentity
    compute: ComputePlan
    queue_arn: str
    # EC2 and SPOT: the pool's instance role (its profile has the same name).
    instance_role: RolePlan | None

    @property
    def name(self) -> str:
        return self.identity.name


@dataclass(frozen=True)
class JobDefinitionPlan:
    name: str
    # The RegisterJobDefinition arguments except the name and tags.
    properties: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """Identifies a revision's content: AWS adds defaults to what it describes, so compare this tag."""
        return hashlib.sha256(json.dumps(self.properties, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DispatcherPlan:
    name: str
    arn: str
    role_arn: str
    environment: dict[str, str]
    log_group: str


@dataclass(frozen=True)
class BatchPlan:
    owner: naming.Owner
    account: Account
    pool: PoolPlan | None  # None: a shared queue from the spec
    queue_name: str
    queue_arn: str
    job_definition: JobDefinitionPlan
    dispatcher: DispatcherPlan
    roles: tuple[RolePlan, ...]
    job_log_group: str
    log_retention_days: int
    notifications: dict[str, tuple[NotificationEntry, ...]]
    buckets: tuple[str, ...]
    retain: bool

    @property
    def trigger_buckets(self) -> tuple[str, ...]:
        return tuple(self.notifications)

    @property
    def compute(self) -> ComputePlan | None:
        return self.pool.compute if self.pool is not None else None

    @property
    def log_groups(self) -> tuple[str, ...]:
        return (self.dispatcher.log_group, self.job_log_group)


def role_arn(account: Account, name: str) -> str:
    return f"arn:{account.partition}:iam::{account.id}:role{ROLE_PATH}{name}"


def instance_profile_arn(account: Account, name: str) -> str:
    return f"arn:{account.partition}:iam::{account.id}:instance-profile{ROLE_PATH}{name}"


def batch_arn(account: Account, kind: str, name: str) -> str:
    return f"arn:{account.partition}:batch:{account.region}:{account.id}:{kind}/{name}"


def queue_reference(spec_queue: str, account: Account) -> tuple[str, str]:
    """(name, ARN) of a queue given by name or ARN."""
    if spec_queue.startswith("arn:"):
        return spec_queue.rsplit("/", 1)[-1], spec_queue
    return spec_queue, batch_arn(account, "job-queue", spec_queue)


def _ecr_pull_statements(account: Account, image: str) -> list[dict[str, Any]]:
    """Image pulls from ECR need the token on '*' and the layer reads on that one repository."""
    found = ecr_image(image)
    if found is None:
        return []  # another registry: nothing to allow
    repository = f"arn:{account.partition}:ecr:{found.region}:{found.account}:repository/{found.repository}"
    return [
        {"Sid": "EcrToken", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow", "Resource": repository,
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]},
    ]


def _log_statement(account: Account, group: str) -> dict[str, Any]:
    return {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn(account, group)]}


def _instance_policy() -> dict[str, Any]:
    """What the ECS agent on a pool's EC2 instance needs (AWS's AmazonEC2ContainerServiceforEC2Role,
    less ECR): the instances run every member's jobs, so they get no member's image or data. The
    agent pulls each job's image with that job's execution role."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "EcsAgent", "Effect": "Allow", "Resource": "*", "Action": [
            "ecs:CreateCluster", "ecs:DeregisterContainerInstance", "ecs:DiscoverPollEndpoint", "ecs:Poll",
            "ecs:RegisterContainerInstance", "ecs:StartTelemetrySession", "ecs:UpdateContainerInstancesState",
            "ecs:Submit*", "logs:CreateLogStream", "logs:PutLogEvents"]},
    ]}


def plan_pool(identity: PoolIdentity, account: Account, capacity: PoolCapacity) -> PoolPlan:
    """The pool of a compute class, sized for its members."""
    c = identity.compute
    ec2 = c.type in ("EC2", "SPOT")
    compute = ComputePlan(
        name=identity.name, arn=batch_arn(account, "compute-environment", identity.name), type=c.type,
        max_vcpus=capacity.target, instance_types=c.instance_types,
        network=Network(c.subnets, c.security_group_ids),
        instance_profile=identity.instance_role_name if ec2 else None,
        capacity=capacity,
    )
    instance_role = None
    if ec2:
        name = identity.instance_role_name
        instance_role = RolePlan(name, role_arn(account, name), trust_policy("ec2.amazonaws.com"), _instance_policy())
    return PoolPlan(identity, compute, batch_arn(account, "job-queue", identity.name), instance_role)


def _roles(spec: ScarBatchJobSpec, owner: naming.Owner, account: Account, queue_arn: str,
           job_definition: str, dispatcher_log_group: str, job_log_group: str, image: str) -> dict[str, RolePlan]:
    plans: dict[str, RolePlan] = {}

    def plan(purpose: str, service: str, statements: list[dict[str, Any]]) -> None:
        name = naming.batch_role_name(owner, purpose)
        plans[purpose] = RolePlan(name, role_arn(account, name), trust_policy(service),
                                  {"Version": "2012-10-17", "Statement": statements})

    definition_arn = batch_arn(account, "job-definition", job_definition)
    plan("dispatch", "lambda.amazonaws.com", [
        {"Sid": "SubmitJobs", "Effect": "Allow", "Action": ["batch:SubmitJob"],
         "Resource": [queue_arn, definition_arn, f"{definition_arn}:*"]},
        _log_statement(account, dispatcher_log_group),
    ])
    if spec.job_role_arn is None:
        plan("job", "ecs-tasks.amazonaws.com",
             data_access_policy(account, spec.input, spec.output, [])["Statement"])
    if spec.execution_role_arn is None:
        plan("exec", "ecs-tasks.amazonaws.com",
             [*_ecr_pull_statements(account, image), _log_statement(account, job_log_group)])
    return plans


def _job_definition(spec: ScarBatchJobSpec, name: str, job_role: str, execution_role: str, log_group: str,
                    region: str, fargate: bool, assembled_image: str | None) -> JobDefinitionPlan:
    timeout_base = spec.timeout or _NO_TIMEOUT_THRESHOLD_BASE
    variables = {**spec.environment, CONFIG_ENV: supervisor_config(spec, timeout_base).to_json()}
    if spec.timeout:
        variables[TIMEOUT_ENV] = str(spec.timeout)
    r = spec.resources
    requirements = [{"type": "VCPU", "value": f"{r.vcpus:g}"}, {"type": "MEMORY", "value": str(r.memory)}]
    if r.gpus:
        requirements.append({"type": "GPU", "value": str(r.gpus)})
    container: dict[str, Any] = {
        # An assembled image has the supervisor as an executable of its own (images/); an image used
        # as it is has it as the Python package.
        "image": assembled_image or spec.image,
        "command": list(BATCH_COMMAND if assembled_image else JOB_COMMAND),
        "jobRoleArn": job_role,
        "executionRoleArn": execution_role,
        "resourceRequirements": requirements,
        "environment": [{"name": k, "value": v} for k, v in sorted(variables.items())],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "scar"}},
    }
    if fargate:
        # A task in a public subnet needs a public IP to pull its image; Fargate picks the platform.
        container["networkConfiguration"] = {"assignPublicIp": "ENABLED"}
        container["fargatePlatformConfiguration"] = {"platformVersion": "LATEST"}
    properties: dict[str, Any] = {
        "type": "container",
        "platformCapabilities": ["FARGATE" if fargate else "EC2"],
        "containerProperties": container,
        "retryStrategy": {"attempts": spec.retries},
        "propagateTags": True,
    }
    if spec.timeout:
        properties["timeout"] = {"attemptDurationSeconds": spec.timeout}
    size = len(json.dumps({"jobDefinitionName": name, **properties}, separators=(",", ":")).encode())
    if size > JOB_DEFINITION_LIMIT_BYTES:
        raise SpecError(
            f"spec.script and spec.environment: the job definition would take {size} bytes, over AWS Batch's "
            f"{JOB_DEFINITION_LIMIT_BYTES}-byte limit; move large scripts into the image"
        )
    return JobDefinitionPlan(name, properties)


def plan_batch_job(spec: ScarBatchJobSpec, owner: naming.Owner, account: Account, pool: PoolPlan | None,
                   shared_queue_platform: str | None = None, assembled_image: str | None = None) -> BatchPlan:
    """`pool` for a managed compute class; `shared_queue_platform` (FARGATE/EC2) for a shared queue;
    `assembled_image`: the ECR image the operator assembled from spec.image (images/), if it did."""
    base = naming.batch_name(owner)
    if spec.job_queue is not None:
        queue_name, queue_arn = queue_reference(spec.job_queue, account)
        fargate = shared_queue_platform == "FARGATE"
        if fargate:
            try:
                check_fargate_resources(spec.resources, "the shared queue's Fargate")
            except ValueError as e:
                raise SpecError(f"spec.{e}") from None
    else:
        if pool is None:
            raise ValueError("a managed compute class needs its pool planned first")
        fargate = spec.on_fargate
        queue_name, queue_arn = pool.name, pool.queue_arn
    dispatcher_name = naming.dispatcher_name(owner)
    dispatcher_log_group = naming.log_group_name(dispatcher_name)
    job_log_group = naming.batch_log_group_name(owner)
    roles = _roles(spec, owner, account, queue_arn, base, dispatcher_log_group, job_log_group,
                   assembled_image or spec.image)
    job_role = spec.job_role_arn or roles["job"].arn
    execution_role = spec.execution_role_arn or roles["exec"].arn
    job_definition = _job_definition(spec, base, job_role, execution_role, job_log_group, account.region, fargate,
                                     assembled_image)

    dispatcher_arn = f"arn:{account.partition}:lambda:{account.region}:{account.id}:function:{dispatcher_name}"
    # The dispatcher names the definition without a revision: Batch then runs the latest ACTIVE one,
    # so a new revision needs no dispatcher update.
    dispatcher_environment = {CONFIG_ENV: SupervisorConfig(
        batch=BatchTarget(queue_arn, base, job_name_prefix=owner.readable(60))).to_json()}
    dispatcher = DispatcherPlan(dispatcher_name, dispatcher_arn, roles["dispatch"].arn, dispatcher_environment,
                                dispatcher_log_group)

    notifications: dict[str, list[NotificationEntry]] = {}
    for i in spec.input:
        entry = NotificationEntry(naming.notification_id(owner, i.bucket, i.prefix, i.suffix), dispatcher_arn,
                                  i.prefix, i.suffix)
        notifications.setdefault(i.bucket, []).append(entry)
    return BatchPlan(
        owner=owner,
        account=account,
        pool=pool if spec.job_queue is None else None,
        queue_name=queue_name,
        queue_arn=queue_arn,
        job_definition=job_definition,
        dispatcher=dispatcher,
        roles=tuple(roles.values()),
        job_log_group=job_log_group,
        log_retention_days=spec.log_retention_days,
        notifications={bucket: tuple(entries) for bucket, entries in notifications.items()},
        buckets=tuple(dict.fromkeys([i.bucket for i in spec.input] + [o.bucket for o in spec.output])),
        retain=spec.deletion_policy == "Retain",
    )

