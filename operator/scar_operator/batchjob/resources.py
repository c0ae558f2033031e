"""The managed AWS resources of one ScarBatchJob and of its compute pool, in dependency order.

Creation runs down the list; teardown runs up it, which is AWS's order: the trigger, the
dispatcher, the job definitions, then roles and log groups; a pool after its last member: the
queue (disabled, then deleted), the compute environment (disabled, then deleted), its instance
role. Buckets are never in a teardown list.
"""

from __future__ import annotations

from collections.abc import Iterable

from scar_operator import naming
from scar_operator.aws.batch_compute_environment import ComputeEnvironment
from scar_operator.aws.batch_job_definition import JobDefinition
from scar_operator.aws.batch_job_queue import JobQueue, SharedJobQueue
from scar_operator.aws.iam_role import IamRole
from scar_operator.aws.instance_profile import InstanceProfile
from scar_operator.aws.lambda_function import FunctionSettings, LambdaFunction
from scar_operator.aws.log_group import LogGroup
from scar_operator.aws.s3_bucket import S3Bucket
from scar_operator.aws.service_linked_role import BatchServiceLinkedRole, service_linked_role_arn
from scar_operator.aws.session import AwsClients
from scar_operator.batchjob.desired import (
    DISPATCHER_HANDLER,
    DISPATCHER_MEMORY,
    DISPATCHER_RUNTIME,
    DISPATCHER_TIMEOUT,
    BatchPlan,
    ComputePlan,
    JobDefinitionPlan,
    Network,
    PoolPlan,
    batch_arn,
)
from scar_operator.batchjob.pool import pool_owner
from scar_operator.dispatcher_package import dispatcher_zip
from scar_operator.function.desired import ROLE_POLICY_NAME, Account, NotificationEntry, RolePlan, trust_policy
from scar_operator.function.resources import Inventory, permissions_to_remove, trigger
from scar_operator.reconciler import Resource

ROLE_PURPOSES = ("dispatch", "job", "exec", "instance")
_ROLE_SERVICES = {"dispatch": "lambda.amazonaws.com", "job": "ecs-tasks.amazonaws.com",
                  "exec": "ecs-tasks.amazonaws.com", "instance": "ec2.amazonaws.com"}


def _role(clients: AwsClients, region: str, owner: naming.Owner, plan: RolePlan, purpose: str,
          description: str | None = None) -> IamRole:
    return IamRole(clients.client("iam", region), plan.name, plan.trust_policy, ROLE_POLICY_NAME, plan.inline_policy,
                   owner, description=description or f"{purpose} role of ScarBatchJob {owner.namespace}/{owner.name}",
                   facts=clients.facts, slow_drift_seconds=clients.slow_drift_seconds,
                   permissions_boundary=clients.permissions_boundary_arn)


def _named_role(clients: AwsClients, account: Account, owner: naming.Owner, purpose: str) -> IamRole:
    """A role known by name only, for removing it."""
    name = naming.batch_role_name(owner, purpose)
    plan = RolePlan(name, "", trust_policy(_ROLE_SERVICES[purpose]), {})
    return _role(clients, account.region, owner, plan, purpose)


def _instance_profile(clients: AwsClients, account: Account, name: str, owner: naming.Owner) -> InstanceProfile:
    return InstanceProfile(clients.client("iam", account.region), name, name, owner, facts=clients.facts,
                           slow_drift_seconds=clients.slow_drift_seconds)


def _compute_by_name(clients: AwsClients, account: Account, name: str, owner: naming.Owner) -> ComputeEnvironment:
    """A compute environment known by name only, for removing it."""
    plan = ComputePlan(name, batch_arn(account, "compute-environment", name), "", 0, (), Network((), ()), None)
    return ComputeEnvironment(clients.client("batch", account.region), plan, account, owner, facts=clients.facts)


def _queue_by_name(clients: AwsClients, account: Account, name: str, owner: naming.Owner,
                   drain: bool) -> JobQueue:
    return JobQueue(clients.client("batch", account.region), name, batch_arn(account, "compute-environment", name),
                    owner, facts=clients.facts, drain_before_delete=drain)


def pool_resources(clients: AwsClients, account: Account, pool: PoolPlan) -> list[Resource]:
    """A pool's AWS side in the order it is made: the EC2 instance role and profile, Batch's
    service-linked role, the compute environment, the queue."""
    batch, iam = clients.client("batch", account.region), clients.client("iam", account.region)
    owner = pool.identity.owner
    resources: list[Resource] = []
    if pool.instance_role is not None:
        resources += [_role(clients, account.region, owner, pool.instance_role, "instance",
                            description=f"instance role of the compute pool {pool.name}"),
                      _instance_profile(clients, account, pool.instance_role.name, owner)]
    service_role = BatchServiceLinkedRole(iam, service_linked_role_arn(account.partition, account.id))
    resources += [
        service_role,
        ComputeEnvironment(batch, pool.compute, account, owner, service_role, facts=clients.facts,
                           slow_drift_seconds=clients.slow_drift_seconds),
        JobQueue(batch, pool.name, pool.compute.arn, owner, facts=clients.facts,
                 slow_drift_seconds=clients.slow_drift_seconds),
    ]
    return resources


def pool_teardown_resources(clients: AwsClients, account: Account, name: str, cluster: str,
                            drain: bool) -> list[Resource]:
    """A pool by name, in creation order (teardown reverses it): its queue goes first, drained of
    unfinished jobs first when `drain` (a member moved away; it was the last)."""
    owner = pool_owner(name, cluster)
    role = f"{name}-instance"
    return [_role(clients, account.region, owner, RolePlan(role, "", trust_policy("ec2.amazonaws.com"), {}),
                  "instance"),
            _instance_profile(clients, account, role, owner),
            _compute_by_name(clients, account, name, owner),
            _queue_by_name(clients, account, name, owner, drain)]


def own_compute_resources(clients: AwsClients, account: Account, owner: naming.Owner, drain: bool) -> list[Resource]:
    """The compute environment and queue of an object made by a release before pools (named after the
    object), with its EC2 instance role and profile, in creation order."""
    name = naming.batch_name(owner)
    instance = naming.batch_role_name(owner, "instance")
    return [_named_role(clients, account, owner, "instance"), _instance_profile(clients, account, instance, owner),
            _compute_by_name(clients, account, name, owner), _queue_by_name(clients, account, name, owner, drain)]


def _dispatcher(clients: AwsClients, account: Account, owner: naming.Owner, name: str, role_arn: str,
                environment: dict[str, str]) -> LambdaFunction:
    return LambdaFunction(clients.client("lambda", account.region), FunctionSettings(
        name=name, image="", role_arn=role_arn, memory=DISPATCHER_MEMORY, timeout=DISPATCHER_TIMEOUT,
        ephemeral_storage=512, architecture="x86_64", environment=environment,
        description=f"Dispatcher of ScarBatchJob {owner.namespace}/{owner.name}: one Batch job per S3 object",
        zip_file=dispatcher_zip(), runtime=DISPATCHER_RUNTIME, handler=DISPATCHER_HANDLER,
    ), owner)


def _triggers(clients: AwsClients, plan_account: Account, owner: naming.Owner, function: str,
              buckets: dict[str, tuple[NotificationEntry, ...]],
              function_resource: LambdaFunction | None = None) -> tuple[list[Resource], list[Resource]]:
    permissions: list[Resource] = []
    notifications: list[Resource] = []
    for bucket, entries in buckets.items():
        permission, notification = trigger(clients, plan_account, owner, function, bucket, entries, function_resource)
        permissions.append(permission)
        notifications.append(notification)
    return permissions, notifications


def batch_inventory(plan: BatchPlan, clients: AwsClients, previous_trigger_buckets: Iterable[str],
                    own_compute_left: bool = False) -> Inventory:
    """What a ScarBatchJob wants, in the order it is made: its pool first.

    The compute environment and the queue are what an account may have no room for (AWS Batch
    allows 50 of each per Region, a quota that cannot be raised): they are made before anything
    else, so that a refusal leaves no roles, log groups, buckets or dispatcher behind it. Only what
    the compute environment itself needs comes before it (the pool's instance role and profile on
    EC2, Batch's service-linked role). `own_compute_left`: the object still has the compute
    environment and queue of a release before pools; they go once their jobs have ended.
    """
    account, owner, region = plan.account, plan.owner, plan.account.region
    batch = clients.client("batch", region)
    roles = {plan_role.name: plan_role for plan_role in plan.roles}
    purposes = [purpose for purpose in ROLE_PURPOSES if purpose != "instance"]
    planned_roles = {purpose: _role(clients, region, owner, roles[naming.batch_role_name(owner, purpose)], purpose)
                     for purpose in purposes if naming.batch_role_name(owner, purpose) in roles}
    unwanted: list[Resource] = [
        _named_role(clients, account, owner, purpose)
        for purpose in purposes if naming.batch_role_name(owner, purpose) not in roles
    ]
    if own_compute_left:
        unwanted = [*own_compute_resources(clients, account, owner, drain=True), *unwanted]
    wanted: list[Resource] = []
    if plan.pool is not None:
        wanted += pool_resources(clients, account, plan.pool)
    else:
        wanted.append(SharedJobQueue(batch, plan.queue_arn))
    wanted += [
        S3Bucket(clients.client("s3", region), b, region, must_be_in_region=b in plan.notifications,
                 facts=clients.facts)
        for b in plan.buckets
    ]
    wanted += [LogGroup(clients.client("logs", region), g, plan.log_retention_days, owner, facts=clients.facts,
                        slow_drift_seconds=clients.slow_drift_seconds)
               for g in plan.log_groups]
    wanted += planned_roles.values()
    wanted.append(JobDefinition(batch, plan.job_definition, owner))
    d = plan.dispatcher
    dispatcher = _dispatcher(clients, account, owner, d.name, d.role_arn, d.environment)
    wanted.append(dispatcher)
    # The invoke permission must exist before S3 accepts a notification that targets the dispatcher.
    permissions, notifications = _triggers(clients, account, owner, d.name, dict(plan.notifications), dispatcher)
    wanted += permissions + notifications

    stale: dict[str, tuple[NotificationEntry, ...]] = {
        b: () for b in dict.fromkeys(previous_trigger_buckets) if b not in plan.notifications
    }
    stale_permissions, stale_notifications = _triggers(clients, account, owner, d.name, stale)
    return Inventory(wanted=wanted, unwanted=[*unwanted, *stale_permissions, *stale_notifications])


def batch_teardown_inventory(*, owner: naming.Owner, account: Account, clients: AwsClients,
                             trigger_buckets: Iterable[str], retain: bool, own_compute: bool) -> list[Resource]:
    """Everything this object may own, by deterministic names, in creation order (teardown reverses it).

    Its pool is not among them: the pool is the members', and goes after its last (controller.py).
    `own_compute`: the object may still have a compute environment and queue of its own (made by a
    release before pools)."""
    region = account.region
    resources: list[Resource] = []
    if not retain:
        dispatcher = naming.dispatcher_name(owner)
        resources += [LogGroup(clients.client("logs", region), g, 30, owner, facts=clients.facts)
                      for g in (naming.log_group_name(dispatcher), naming.batch_log_group_name(owner))]
        resources += [_named_role(clients, account, owner, purpose) for purpose in ROLE_PURPOSES
                      if purpose != "instance"]
        if own_compute:
            resources += own_compute_resources(clients, account, owner, drain=False)
        resources.append(JobDefinition(clients.client("batch", region),
                                       JobDefinitionPlan(naming.batch_name(owner), {}), owner))
        resources.append(_dispatcher(clients, account, owner, dispatcher, "", {}))
    permissions, notifications = _triggers(clients, account, owner, naming.dispatcher_name(owner),
                                           {b: () for b in dict.fromkeys(trigger_buckets)})
    return resources + permissions_to_remove(permissions, retain) + notifications
