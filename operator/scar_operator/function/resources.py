"""The managed AWS resources of one ScarFunction, in dependency order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scar_operator import naming
from scar_operator.aws.iam_role import IamRole
from scar_operator.aws.lambda_function import FunctionSettings, LambdaFunction
from scar_operator.aws.lambda_function_url import LambdaFunctionUrl, PublicUrlAccess
from scar_operator.aws.lambda_permission import S3InvokePermission
from scar_operator.aws.log_group import LogGroup
from scar_operator.aws.s3_bucket import S3Bucket
from scar_operator.aws.s3_notification import BucketNotifications
from scar_operator.aws.session import AwsClients
from scar_operator.function.desired import (
    ROLE_POLICY_NAME,
    Account,
    FunctionPlan,
    NotificationEntry,
    bucket_arn,
    trust_policy,
)
from scar_operator.reconciler import Resource


@dataclass(frozen=True)
class Inventory:
    """What to create in order, and what is ours but no longer wanted (deleted after)."""

    wanted: list[Resource]
    unwanted: list[Resource]
    url: LambdaFunctionUrl | None = None


def trigger(
    clients: AwsClients,
    account: Account,
    owner: naming.Owner,
    function: str,
    bucket: str,
    entries: tuple[NotificationEntry, ...],
    function_resource: LambdaFunction | None = None,
) -> tuple[S3InvokePermission, BucketNotifications]:
    region = account.region
    permission = S3InvokePermission(
        clients.client("lambda", region),
        function,
        naming.permission_statement_id(bucket),
        bucket_arn(account, bucket),
        account.id,
        function=function_resource,
        facts=clients.facts,
        slow_drift_seconds=clients.slow_drift_seconds,
    )
    notifications = BucketNotifications(
        clients.client("s3", region), bucket, naming.notification_id_prefix(owner), entries
    )
    return permission, notifications


def url_resources(plan: FunctionPlan, clients: AwsClients, auth_type: str,
                  function: LambdaFunction | None) -> tuple[LambdaFunctionUrl, PublicUrlAccess]:
    lambda_ = clients.client("lambda", plan.account.region)
    url = LambdaFunctionUrl(lambda_, plan.name, auth_type, plan.url_cors, function=function, facts=clients.facts,
                            slow_drift_seconds=clients.slow_drift_seconds)
    public = PublicUrlAccess(lambda_, plan.name, function=function, facts=clients.facts,
                             slow_drift_seconds=clients.slow_drift_seconds)
    return url, public


def function_inventory(plan: FunctionPlan, clients: AwsClients, previous_trigger_buckets: Iterable[str],
                       previous_url_auth_type: str | None = None) -> Inventory:
    """`previous_url_auth_type`: the URL the function may have from earlier passes (status.urlAuthType)."""
    region = plan.account.region
    s3 = clients.client("s3", region)
    wanted: list[Resource] = [
        S3Bucket(s3, bucket, region, must_be_in_region=bucket in plan.notifications, facts=clients.facts)
        for bucket in plan.buckets
    ]
    wanted.append(LogGroup(clients.client("logs", region), plan.log_group, plan.log_retention_days, plan.owner,
                           facts=clients.facts, slow_drift_seconds=clients.slow_drift_seconds))
    if plan.managed_role is not None:
        wanted.append(IamRole(
            clients.client("iam", region),
            plan.managed_role.name,
            plan.managed_role.trust_policy,
            ROLE_POLICY_NAME,
            plan.managed_role.inline_policy,
            plan.owner,
            description=f"Execution role of ScarFunction {plan.owner.namespace}/{plan.owner.name}",
            facts=clients.facts,
            slow_drift_seconds=clients.slow_drift_seconds,
            permissions_boundary=clients.permissions_boundary_arn,
        ))
    function = LambdaFunction(
        clients.client("lambda", region),
        FunctionSettings(
            name=plan.name,
            image=plan.image,
            role_arn=plan.role_arn,
            memory=plan.memory,
            timeout=plan.timeout,
            ephemeral_storage=plan.ephemeral_storage,
            architecture=plan.architecture,
            environment=plan.environment,
            description=f"ScarFunction {plan.owner.namespace}/{plan.owner.name}, managed by scar-operator",
        ),
        plan.owner,
    )
    wanted.append(function)
    url: LambdaFunctionUrl | None = None
    unwanted: list[Resource] = []
    if plan.url_auth_type is not None:
        url, public = url_resources(plan, clients, plan.url_auth_type, function)
        # The URL first, then the grant that opens it: a URL is never public before it is what the spec says.
        wanted.append(url)
        if plan.url_auth_type == "NONE":
            wanted.append(public)
        elif previous_url_auth_type == "NONE":
            unwanted.append(public)
    elif previous_url_auth_type is not None:
        gone_url, gone_public = url_resources(plan, clients, previous_url_auth_type, function)
        # Deleted in reverse: the public grant goes before the URL.
        unwanted.extend([gone_url, gone_public] if previous_url_auth_type == "NONE" else [gone_url])
    # The invoke permission must exist before S3 accepts a notification that targets the function.
    permissions: list[Resource] = []
    notifications: list[Resource] = []
    for bucket, entries in plan.notifications.items():
        permission, notification = trigger(clients, plan.account, plan.owner, plan.name, bucket, entries, function)
        permissions.append(permission)
        notifications.append(notification)
    wanted.extend(permissions)
    wanted.extend(notifications)

    stale = [b for b in dict.fromkeys(previous_trigger_buckets) if b not in plan.notifications]
    stale_notifications: list[Resource] = []
    stale_permissions: list[Resource] = []
    for bucket in stale:
        permission, notification = trigger(clients, plan.account, plan.owner, plan.name, bucket, ())
        stale_permissions.append(permission)
        stale_notifications.append(notification)
    # Teardown runs in reverse: our entries leave each bucket before their permissions go.
    return Inventory(wanted=wanted, unwanted=unwanted + stale_permissions + stale_notifications, url=url)


def teardown_inventory(
    *,
    owner: naming.Owner,
    account: Account,
    clients: AwsClients,
    function_name: str,
    managed_role_name: str | None,
    trigger_buckets: Iterable[str],
    retain: bool,
) -> list[Resource]:
    """Everything this object may own, in creation order (the reconciler reverses it).

    Built from names alone, not from a parsed spec, so that an object whose spec is invalid, or
    whose status was lost, still tears down what the deterministic names say it owns.
    """
    region = account.region
    resources: list[Resource] = []
    log_group = LogGroup(clients.client("logs", region), naming.log_group_name(function_name), 30, owner,
                         facts=clients.facts)
    role = (
        IamRole(clients.client("iam", region), managed_role_name, trust_policy("lambda.amazonaws.com"),
                ROLE_POLICY_NAME, {}, owner, facts=clients.facts)
        if managed_role_name
        else None
    )
    # A retained function keeps what it needs to run: its role and its log group.
    if not retain:
        resources.append(log_group)
        if role is not None:
            resources.append(role)
        resources.append(LambdaFunction(
            clients.client("lambda", region),
            FunctionSettings(function_name, "", "", 0, 0, 0, "", {}),
            owner,
        ))
    permissions: list[Resource] = []
    notifications: list[Resource] = []
    for bucket in dict.fromkeys(trigger_buckets):
        permission, notification = trigger(clients, account, owner, function_name, bucket, ())
        permissions.append(permission)
        notifications.append(notification)
    return resources + permissions_to_remove(permissions, retain) + notifications


def permissions_to_remove(permissions: list[Resource], retain: bool) -> list[Resource]:
    """A function's invoke permissions leave with it: DeleteFunction takes its resource-based
    policy along, so they are removed one by one only from a function that stays (retain)."""
    return permissions if retain else []
