"""The managed AWS resources of one ScarBatchJob, in dependency order.

Creation runs down the list; teardown runs up it, which is AWS's order: the trigger, the
dispatcher, the job definitions, the queue (disabled, then deleted), the compute environment
(disabled, then deleted), then roles and log groups. Buckets are never in a teardown list.
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
    batch_arn,
)
from scar_operator.dispatcher_package import dispatcher_zip
from scar_operator.function.desired import ROLE_POLICY_NAME, Account, NotificationEntry, RolePlan, trust_policy
from scar_operator.function.resources import Inventory, permissions_to_remove, trigger
from scar_operator.reconciler import Resource

ROLE_PURPOSES = ("dispatch", "job", "exec", "instance")
_ROLE_SERVICES = {"dispatch": "lambda.amazonaws.com", "job": "ecs-tasks.amazonaws.com",
                  "exec": "ecs-tasks.amazonaws.com", "instance": "ec2.amazonaws.com"}


def _role(clients: AwsClients, region: str, owner: naming.Owner, plan: RolePlan, purpose: str) -> IamRole:
    return IamRole(clients.client("iam", region), plan.name, plan.trust_policy, ROLE_POLICY_NAME, plan.inline_policy,
                   owner, description=f"{purpose} role of ScarBatchJob {owner.namespace}/{owner.name}",
                   facts=clients.facts, slow_drift_seconds=clients.slow_drift_seconds,
                   permissions_boundary=clients.permissions_boundary_arn)


def _named_role(clients: AwsClients, account: Account, owner: naming.Owner, purpose: str) -> IamRole:
    """A role known by name only, for removing it."""
    name = naming.batch_role_name(owner, purpose)
    plan = RolePlan(name, "", trust_policy(_ROLE_SERVICES[purpose]), {})
    return _role(clients, account.region, owner, plan, purpose)


def _instance_profile(clients: AwsClients, account: Account, owner: naming.Owner) -> InstanceProfile:
    name = naming.batch_role_name(owner, "instance")
    return InstanceProfile(clients.client("iam", account.region), name, name, owner)


def _named_compute(clients: AwsClients, account: Account, owner: naming.Owner) -> ComputeEnvironment:
    name = naming.batch_name(owner)
    plan = ComputePlan(name, batch_arn(account, "compute-environment", name), "", 0, (), Network((), ()), None)
    return ComputeEnvironment(clients.client("batch", account.region), plan, account, owner)


def _named_queue(clients: AwsClients, account: Account, owner: naming.Owner) -> JobQueue:
    name = naming.batch_name(owner)
    return JobQueue(clients.client("batch", account.region), name,
                    batch_arn(account, "compute-environment", name), owner)


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


def batch_inventory(plan: BatchPlan, clients: AwsClients, previous_trigger_buckets: Iterable[str]) -> Inventory:
    """What a ScarBatchJob wants, in the order it is made: its queue first.

    The compute environment and the queue are what an account may have no room for (AWS Batch
    allows 50 of each per Region, a quota that cannot be raised): they are made before anything
    else, so that a refusal leaves no roles, log groups, buckets or dispatcher behind it. Only what
    the compute environment itself needs comes before it (the instance role and profile on EC2,
    Batch's service-linked role).
    """
    account, owner, region = plan.account, plan.owner, plan.account.region
    batch = clients.client("batch", region)
    roles = {plan_role.name: plan_role for plan_role in plan.roles}
    planned_roles = {purpose: _role(clients, region, owner, roles[naming.batch_role_name(owner, purpose)], purpose)
                     for purpose in ROLE_PURPOSES if naming.batch_role_name(owner, purpose) in roles}
    unwanted: list[Resource] = [
        _named_role(clients, account, owner, purpose)
        for purpose in ROLE_PURPOSES if naming.batch_role_name(owner, purpose) not in roles
    ]
    wanted: list[Resource] = []
    if plan.compute is not None:
        if plan.compute.instance_profile is not None:
            wanted += [planned_roles.pop("instance"), _instance_profile(clients, account, owner)]
        else:
            unwanted.insert(0, _instance_profile(clients, account, owner))
        service_role = BatchServiceLinkedRole(clients.client("iam", region),
                                              service_linked_role_arn(account.partition, account.id))
        wanted.append(service_role)
        wanted.append(ComputeEnvironment(batch, plan.compute, account, owner, service_role))
        wanted.append(JobQueue(batch, plan.queue_name, plan.compute.arn, owner))
    else:
        # A shared queue: what this object managed before (if anything) goes, queue before compute.
        unwanted = [_instance_profile(clients, account, owner), *unwanted,
                    _named_compute(clients, account, owner), _named_queue(clients, account, owner)]
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
                             trigger_buckets: Iterable[str], retain: bool) -> list[Resource]:
    """Everything this object may own, by deterministic names, in creation order (teardown reverses it)."""
    region = account.region
    resources: list[Resource] = []
    if not retain:
        dispatcher = naming.dispatcher_name(owner)
        resources += [LogGroup(clients.client("logs", region), g, 30, owner, facts=clients.facts)
                      for g in (naming.log_group_name(dispatcher), naming.batch_log_group_name(owner))]
        resources += [_named_role(clients, account, owner, purpose) for purpose in ROLE_PURPOSES]
        resources.append(_instance_profile(clients, account, owner))
        resources.append(_named_compute(clients, account, owner))
        resources.append(_named_queue(clients, account, owner))
        resources.append(JobDefinition(clients.client("batch", region),
                                       JobDefinitionPlan(naming.batch_name(owner), {}), owner))
        resources.append(_dispatcher(clients, account, owner, dispatcher, "", {}))
    permissions, notifications = _triggers(clients, account, owner, naming.dispatcher_name(owner),
                                           {b: () for b in dict.fromkeys(trigger_buckets)})
    return resources + permissions_to_remove(permissions, retain) + notifications
