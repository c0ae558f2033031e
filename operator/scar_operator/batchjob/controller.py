"""One reconcile or teardown pass of a ScarBatchJob: parse, resolve the network, plan, apply, report."""

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
from scar_operator.batchjob.desired import BatchPlan, Network, plan_batch_job
from scar_operator.batchjob.resources import batch_inventory, batch_teardown_inventory
from scar_operator.batchjob.spec import ScarBatchJobSpec, parse_batch_job_spec
from scar_operator.controller_support import (
    account_in,
    buckets_to_remember,
    check_region_unchanged,
    inline_wait,
    owner_of,
    recorded_trigger_buckets,
    teardown_region,
)
from scar_operator.models import SpecError
from scar_operator.outcome import PassResult, from_aws_error, from_outcome, from_spec_error, from_teardown_outcome
from scar_operator.settings import OperatorSettings

KIND = "ScarBatchJob"


def _network(spec: ScarBatchJobSpec, clients: AwsClients, region: str) -> Network | None:
    if spec.job_queue is not None:
        return None
    compute = spec.compute_or_default
    return resolve_network(clients.client("ec2", region), list(compute.subnets), list(compute.security_group_ids))


def _status_fields(plan: BatchPlan, trigger_buckets: list[str]) -> dict[str, Any]:
    roles = {r.name: r.arn for r in plan.roles}
    job_role = next((arn for name, arn in roles.items() if name.endswith("-job")), None)
    definition = plan.job_definition.properties["containerProperties"]
    return {
        "region": plan.account.region,
        "computeEnvironmentArn": plan.compute.arn if plan.compute else None,
        "jobQueueArn": plan.queue_arn,
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
    tenancy: Tenancy = SINGLE_TEAM,
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
        plan = plan_batch_job(parsed, owner, account, _network(parsed, clients, region), platform)
    except SpecError as e:
        return from_spec_error(e)
    except AwsError as e:
        return from_aws_error(e, settings)

    remembered = buckets_to_remember(plan.trigger_buckets, status)
    outcome = reconciler.Outcome()
    try:
        inventory = batch_inventory(plan, clients, list(status.get("triggerBuckets") or []))
        # Every pass that reaches AWS records the names it works on: without them, none has.
        first_pass = not status.get("jobDefinitionName")
        reconciler.apply(inventory.wanted, inventory.unwanted, confirmed, outcome, inline_wait(settings),
                         first_pass=first_pass)
        revision = _active_revision(clients, plan) if outcome.done else {}
    except AwsError as e:
        result = from_aws_error(e, settings)
        result.fields = _status_fields(plan, remembered)
        result.confirmed = outcome.confirmed
        return result
    triggers = ", ".join(f"s3://{b}" for b in plan.trigger_buckets) or "no triggers"
    queue = plan.queue_name if plan.compute else f"shared queue {plan.queue_name}"
    result = from_outcome(outcome, f"Batch jobs run on {queue} ({triggers})", settings)
    result.fields = {**_status_fields(plan, list(plan.trigger_buckets) if outcome.done else remembered), **revision}
    return result


def teardown(
    *, meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
    clients: AwsClients, settings: OperatorSettings,
) -> PassResult:
    owner = owner_of(KIND, meta, settings)
    region = teardown_region(spec, status, clients)
    try:
        resources = batch_teardown_inventory(
            owner=owner, account=account_in(clients, region), clients=clients,
            trigger_buckets=recorded_trigger_buckets(spec, status), retain=spec.get("deletionPolicy") == "Retain",
        )
        outcome = reconciler.teardown(resources, inline_wait(settings))
    except AwsError as e:
        return from_aws_error(e, settings)
    return from_teardown_outcome(outcome, settings)
