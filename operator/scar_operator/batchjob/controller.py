"""One reconcile or teardown pass of a ScarBatchJob: parse, resolve the network, find the compute
pool, plan, apply, report; and the pool's end after its last member leaves it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from scar_operator import naming, reconciler
from scar_operator.account import enforcement
from scar_operator.account.selection import SINGLE_TEAM, Tenancy
from scar_operator.aws.batch_job_definition import JobDefinition
from scar_operator.aws.batch_job_queue import shared_queue_platform
from scar_operator.aws.errors import AwsError
from scar_operator.aws.network import resolve_network
from scar_operator.aws.session import AwsClients
from scar_operator.batchjob.desired import BatchPlan, PoolPlan, plan_batch_job, plan_pool
from scar_operator.batchjob.pool import PoolIdentity, compute_class, pool_capacity, pool_identity
from scar_operator.batchjob.pool_members import PoolMembers
from scar_operator.batchjob.resources import batch_inventory, batch_teardown_inventory, pool_teardown_resources
from scar_operator.batchjob.spec import ScarBatchJobSpec, parse_batch_job_spec
from scar_operator.controller_support import (
    account_in,
    buckets_to_remember,
    check_region_unchanged,
    image_plan,
    inline_wait,
    owner_of,
    recorded_trigger_buckets,
    teardown_region,
)
from scar_operator.function.desired import Account
from scar_operator.images.plan import ImagePlan, SecretReader
from scar_operator.images.resources import image_resources, image_status, image_teardown
from scar_operator.kube_client import read_secret
from scar_operator.models import SpecError
from scar_operator.outcome import PassResult, from_aws_error, from_outcome, from_spec_error, from_teardown_outcome
from scar_operator.settings import OperatorSettings

KIND = "ScarBatchJob"
# Jobs run on linux/amd64: the platform Fargate and Batch's default instance types run (a pool of
# Graviton instance types would need arm64 images; not chosen per object yet).
_ARCHITECTURE = "x86_64"


# The registry the handlers feed (batchjob/pool_members.py); a pass given none knows only itself.
_ALONE = PoolMembers()


def _pool_identity(spec: ScarBatchJobSpec, clients: AwsClients, account: Account, tenancy: Tenancy,
                   settings: OperatorSettings) -> PoolIdentity:
    compute = spec.compute_or_default
    network = resolve_network(clients.client("ec2", account.region), list(compute.subnets),
                              list(compute.security_group_ids), clients.facts, clients.slow_drift_seconds)
    klass = compute_class(compute, network.subnets, network.security_group_ids, spec.resources.gpus)
    return pool_identity(klass, account, tenancy.account_name, settings.cluster_id)


def _pool_plan(identity: PoolIdentity, account: Account, owner: naming.Owner, vcpus: int, members: PoolMembers,
               settings: OperatorSettings) -> PoolPlan:
    """The pool sized for the members known now, this object with its maxVcpus among them."""
    all_known = members.prime()
    others = members.members(identity.name, excluding=(owner.namespace, owner.name))
    capacity = pool_capacity([vcpus, *(m.vcpus for m in others)], settings.batch_pool_max_vcpus, all_known)
    return plan_pool(identity, account, capacity)


def _own_compute_left(owner: naming.Owner, status: Mapping[str, Any]) -> bool:
    """The status names a compute environment of the object's own: a release before pools made it."""
    arn = status.get("computeEnvironmentArn")
    return isinstance(arn, str) and arn.rsplit("/", 1)[-1] == naming.batch_name(owner)


def _leave_pool(pool: str, owner: naming.Owner, account: Account, clients: AwsClients, members: PoolMembers,
                settings: OperatorSettings, drain: bool) -> reconciler.Outcome:
    """After `owner` stopped using `pool`: the pool goes if no other object uses it.

    In the pool's lock, so that no pass records a new member between the look and the teardown.
    Nothing is removed while the members cannot all be known (the listing failed)."""
    with members.lock(pool):
        if not members.prime():
            outcome = reconciler.Outcome()
            outcome.waiting_on = f"compute pool {pool}: the ScarBatchJobs that may use it could not be listed"
            return outcome
        if members.members(pool, excluding=(owner.namespace, owner.name)):
            return reconciler.Outcome()
        resources = pool_teardown_resources(clients, account, pool, settings.cluster_id, drain)
        return reconciler.teardown(resources, inline_wait(settings))


def _image_before_definition(wanted: list[reconciler.Resource], image: list[reconciler.Resource]
                             ) -> list[reconciler.Resource]:
    """The image goes just before the job definition that names it: after the pool (whose quota
    refusal must find nothing else made), with the rest."""
    at = next((i for i, r in enumerate(wanted) if isinstance(r, JobDefinition)), len(wanted))
    return [*wanted[:at], *image, *wanted[at:]]


def _status_fields(plan: BatchPlan, trigger_buckets: list[str], own_compute_arn: str | None, image: ImagePlan,
                   status: Mapping[str, Any], done: bool) -> dict[str, Any]:
    roles = {r.name: r.arn for r in plan.roles}
    job_role = next((arn for name, arn in roles.items() if name.endswith("-job")), None)
    definition = plan.job_definition.properties["containerProperties"]
    return {
        "region": plan.account.region,
        # An environment of the object's own (before pools) stays named here until it is gone.
        "computeEnvironmentArn": own_compute_arn or (plan.compute.arn if plan.compute else None),
        "computePool": plan.pool.name if plan.pool else None,
        "computeClass": plan.pool.identity.compute.describe() if plan.pool else None,
        "jobQueueArn": plan.queue_arn,
        "jobQueueName": plan.queue_name,
        "jobQueueManaged": plan.compute is not None,
        "jobDefinitionName": plan.job_definition.name,
        "dispatcherFunctionName": plan.dispatcher.name,
        "dispatcherFunctionArn": plan.dispatcher.arn,
        "roleArn": definition["jobRoleArn"],
        "roleManaged": job_role is not None,
        "executionRoleArn": definition["executionRoleArn"],
        "logGroup": plan.job_log_group,
        "dispatcherLogGroup": plan.dispatcher.log_group,
        "imageUri": definition["image"],
        **image_status(image, status, done),
        "triggerBuckets": trigger_buckets,
    }


def _active_revision(clients: AwsClients, plan: BatchPlan) -> dict[str, Any]:
    definition = JobDefinition(clients.client("batch", plan.account.region), plan.job_definition, plan.owner)
    current = definition.current_revision()
    if current is None:
        return {}
    return {"jobDefinitionArn": current["jobDefinitionArn"], "jobDefinitionRevision": int(current["revision"])}


def reconcile(
    *, meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
    clients: AwsClients, settings: OperatorSettings, confirmed: Collection[str] = (),
    tenancy: Tenancy = SINGLE_TEAM, pools: PoolMembers = _ALONE, first_pass: bool | None = None,
    read_secret: SecretReader = read_secret,
) -> PassResult:
    owner = owner_of(KIND, meta, settings)
    try:
        parsed = parse_batch_job_spec(dict(spec))
        region = parsed.region or clients.default_region
        check_region_unchanged(region, status)
    except SpecError as e:
        return from_spec_error(e)
    forbidden = enforcement.refusal(parsed, region, tenancy)
    if forbidden is not None:
        return enforcement.refused(forbidden, clients if tenancy.refusal is None else None, region, owner,
                                   naming.dispatcher_name(owner), list(status.get("triggerBuckets") or []))
    try:
        # Reads only: the plan must be complete (and valid) before anything is written.
        account = account_in(clients, region)
        platform = (shared_queue_platform(clients.client("batch", region), parsed.job_queue)
                    if parsed.job_queue else None)
        identity = None if parsed.job_queue else _pool_identity(parsed, clients, account, tenancy, settings)
        vcpus = parsed.compute_or_default.max_vcpus
        pool = _pool_plan(identity, account, owner, vcpus, pools, settings) if identity else None
        image = image_plan(parsed, _ARCHITECTURE, owner, account, clients, settings, read_secret)
        plan = plan_batch_job(parsed, owner, account, pool, platform,
                              assembled_image=image.uri if image.assembled else None)
    except SpecError as e:
        return from_spec_error(e)
    except AwsError as e:
        return from_aws_error(e, settings)

    if identity is not None:
        with pools.lock(identity.name):
            pools.joined(owner.namespace, owner.name, identity.name, vcpus)
    else:
        pools.left(owner.namespace, owner.name)
    own_compute_left = _own_compute_left(owner, status)
    own_compute_arn = str(status["computeEnvironmentArn"]) if own_compute_left else None
    # Pools the object used before and has not left yet (an edit of its class, a shared queue).
    current_pool = identity.name if identity else None
    former = [p for p in dict.fromkeys([status.get("computePool"), status.get("formerComputePool")])
              if isinstance(p, str) and p != current_pool]
    remembered = buckets_to_remember(plan.trigger_buckets, status)
    outcome = reconciler.Outcome()
    try:
        inventory = batch_inventory(plan, clients, list(status.get("triggerBuckets") or []), own_compute_left)
        image_wanted, image_unwanted = image_resources(image, clients, account, status)
        # Every pass that reaches AWS records the names it works on: without them, none has.
        first_pass = not status.get("jobDefinitionName") if first_pass is None else first_pass
        # A tag held elsewhere is released last.
        reconciler.apply(_image_before_definition(inventory.wanted, image_wanted),
                         [*inventory.unwanted, *image_unwanted], confirmed, outcome, inline_wait(settings),
                         first_pass=first_pass)
        if outcome.done and own_compute_left:
            own_compute_arn = None
        for pool_left in list(former) if outcome.done else []:
            # Moved to another class or to a shared queue: its old pool goes if it was the last there,
            # once the jobs it still holds have ended.
            left = _leave_pool(pool_left, owner, account, clients, pools, settings, drain=True)
            outcome.changed += left.changed
            if outcome.waiting_on is None and left.waiting_on is not None:
                outcome.waiting_on, outcome.long_wait = left.waiting_on, left.long_wait
            if left.done:
                former.remove(pool_left)
        revision = _active_revision(clients, plan) if outcome.done else {}
    except AwsError as e:
        result = from_aws_error(e, settings)
        result.fields = {**_status_fields(plan, remembered, own_compute_arn, image, status, False),
                         "formerComputePool": next(iter(former), None)}
        result.confirmed = outcome.confirmed
        return result
    triggers = ", ".join(f"s3://{b}" for b in plan.trigger_buckets) or "no triggers"
    if plan.pool is not None:
        where = f"the {plan.pool.identity.compute.describe()} compute pool {plan.pool.name}"
    else:
        where = f"shared queue {plan.queue_name}"
    result = from_outcome(outcome, f"Batch jobs run on {where} ({triggers})", settings)
    result.fields = {**_status_fields(plan, list(plan.trigger_buckets) if outcome.done else remembered,
                                      own_compute_arn, image, status, outcome.done), **revision}
    # Until the old pool has been left, the status names it: the next pass (or a restarted
    # operator) leaves it then.
    result.fields["formerComputePool"] = next(iter(former), None)
    return result


def teardown(
    *, meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
    clients: AwsClients, settings: OperatorSettings, pools: PoolMembers = _ALONE,
) -> PassResult:
    owner = owner_of(KIND, meta, settings)
    region = teardown_region(spec, status, clients)
    pools_used = [p for p in dict.fromkeys([status.get("computePool"), status.get("formerComputePool")])
                  if isinstance(p, str)]
    try:
        account = account_in(clients, region)
        retain = spec.get("deletionPolicy") == "Retain"
        # A retained job definition keeps its image: its tag stays too.
        images = [] if retain else image_teardown(clients, account, status)
        resources = images + batch_teardown_inventory(
            owner=owner, account=account, clients=clients,
            trigger_buckets=recorded_trigger_buckets(spec, status), retain=retain,
            # Made before pools, or the first pass never recorded a pool: look for an own one.
            own_compute=not status.get("computePool") or _own_compute_left(owner, status),
        )
        outcome = reconciler.teardown(resources, inline_wait(settings))
        if outcome.done and spec.get("deletionPolicy") != "Retain":
            pools.left(owner.namespace, owner.name)
            for pool in pools_used:
                # The object is going: its own unfinished jobs end with it, as they did with its own queue.
                left = _leave_pool(pool, owner, account, clients, pools, settings, drain=False)
                outcome.changed += left.changed
                outcome.waiting_on = outcome.waiting_on or left.waiting_on
    except AwsError as e:
        return from_aws_error(e, settings)
    return from_teardown_outcome(outcome, settings)
