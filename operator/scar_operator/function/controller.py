"""One reconcile or teardown pass of a ScarFunction: parse, plan, apply, report.

No kopf here: the handlers turn a PassResult into status and kopf's errors.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from scar_operator import naming, reconciler
from scar_operator.account import enforcement
from scar_operator.account.selection import SINGLE_TEAM, Tenancy
from scar_operator.aws.errors import AwsError
from scar_operator.aws.session import AwsClients
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
from scar_operator.function.desired import FunctionPlan, plan_function
from scar_operator.function.resources import function_inventory, teardown_inventory
from scar_operator.images.plan import ImagePlan, SecretReader
from scar_operator.images.resources import image_resources, image_status, image_teardown
from scar_operator.kube_client import read_secret
from scar_operator.models import ScarFunctionSpec, SpecError, parse_function_spec
from scar_operator.outcome import PassResult, from_aws_error, from_outcome, from_spec_error, from_teardown_outcome
from scar_operator.settings import OperatorSettings

KIND = "ScarFunction"


def _check_immutable(spec: ScarFunctionSpec, plan_name: str, region: str, status: Mapping[str, Any]) -> None:
    created_name = status.get("functionName")
    if created_name and created_name != plan_name:
        raise SpecError(
            f"spec.functionName: immutable once the function exists (it is {created_name!r}); "
            f"create a new object for a new function"
        )
    check_region_unchanged(region, status)


def _url_auth_to_remember(plan: FunctionPlan, status: Mapping[str, Any], done: bool) -> str | None:
    """The URL the function may have now. Until a pass completes, the more open of the old and the
    new: a public grant made or not yet removed by an unfinished pass is then removed by a later one."""
    previous = status.get("urlAuthType")
    if done:
        return plan.url_auth_type
    if "NONE" in (previous, plan.url_auth_type):
        return "NONE"
    return plan.url_auth_type or previous


def _status_fields(plan: FunctionPlan, trigger_buckets: list[str], status: Mapping[str, Any], done: bool,
                   url: str | None, image: ImagePlan) -> dict[str, Any]:
    url_auth_type = _url_auth_to_remember(plan, status, done)
    return {
        **image_status(image, status, done),
        "url": (url or status.get("url")) if plan.url_auth_type else None,
        "urlAuthType": url_auth_type,
        "functionName": plan.name,
        "functionArn": plan.arn,
        "imageUri": plan.image,
        "roleArn": plan.role_arn,
        "roleManaged": plan.managed_role is not None,
        "logGroup": plan.log_group,
        "region": plan.account.region,
        "triggerBuckets": trigger_buckets,
    }


def reconcile(
    *, meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
    clients: AwsClients, settings: OperatorSettings, confirmed: Collection[str] = (),
    tenancy: Tenancy = SINGLE_TEAM, first_pass: bool | None = None, read_secret: SecretReader = read_secret,
) -> PassResult:
    owner = owner_of(KIND, meta, settings)
    try:
        parsed = parse_function_spec(dict(spec))
        region = parsed.region or clients.default_region
        # Validate everything that needs no AWS first: a bad spec must cost no AWS call at all.
        name = parsed.function_name or naming.function_name(owner)
        _check_immutable(parsed, name, region, status)
        forbidden = enforcement.refusal(parsed, region, tenancy)
        if forbidden is not None:
            return enforcement.refused(forbidden, clients if tenancy.refusal is None else None, region, owner,
                                       str(status.get("functionName") or name),
                                       list(status.get("triggerBuckets") or []),
                                       public_url=status.get("urlAuthType") == "NONE")
        account = account_in(clients, region)
        image = image_plan(parsed, parsed.architecture, owner, account, clients, settings, read_secret)
        plan = plan_function(parsed, owner, account, assembled_image=image.uri if image.assembled else None)
    except SpecError as e:
        return from_spec_error(e)
    except AwsError as e:
        return from_aws_error(e, settings)

    remembered = buckets_to_remember(plan.trigger_buckets, status)
    outcome = reconciler.Outcome()
    inventory = function_inventory(plan, clients, list(status.get("triggerBuckets") or []),
                                   status.get("urlAuthType"))
    image_wanted, image_unwanted = image_resources(image, clients, plan.account, status)
    url = inventory.url
    try:
        # Every pass that reaches AWS records the names it works on: without them, none has.
        first_pass = not status.get("functionName") if first_pass is None else first_pass
        # The image first (a function is made from it), and a tag held elsewhere released last.
        reconciler.apply([*image_wanted, *inventory.wanted], [*inventory.unwanted, *image_unwanted], confirmed,
                         outcome, inline_wait(settings), first_pass=first_pass)
    except AwsError as e:
        result = from_aws_error(e, settings)
        result.fields = _status_fields(plan, remembered, status, False, url.url if url else None, image)
        result.confirmed = outcome.confirmed
        return result
    triggers = ", ".join(f"s3://{b}" for b in plan.trigger_buckets) or "no triggers"
    served = f", at {url.url}" if url is not None and url.url else ""
    result = from_outcome(outcome, f"Lambda function {plan.name} is active ({triggers}){served}", settings)
    result.fields = _status_fields(plan, list(plan.trigger_buckets) if outcome.done else remembered, status,
                                   outcome.done, url.url if url else None, image)
    return result


def teardown(
    *, meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
    clients: AwsClients, settings: OperatorSettings,
) -> PassResult:
    owner = owner_of(KIND, meta, settings)
    region = teardown_region(spec, status, clients)
    spec_name = spec.get("functionName")
    function_name = status.get("functionName") or (
        spec_name if isinstance(spec_name, str) and re.match(r"^[A-Za-z0-9_-]{1,64}$", spec_name) else None
    ) or naming.function_name(owner)
    buckets = recorded_trigger_buckets(spec, status)
    managed_role = None if status.get("roleManaged") is False else naming.role_name(owner)
    try:
        account = account_in(clients, region)
        retain = spec.get("deletionPolicy") == "Retain"
        # A retained function keeps running its image: its tag stays too.
        images = [] if retain else image_teardown(clients, account, status)
        resources = images + teardown_inventory(
            owner=owner,
            account=account,
            clients=clients,
            function_name=function_name,
            managed_role_name=managed_role,
            trigger_buckets=buckets,
            retain=retain,
        )
        outcome = reconciler.teardown(resources, inline_wait(settings))
    except AwsError as e:
        return from_aws_error(e, settings)
    return from_teardown_outcome(outcome, settings)
