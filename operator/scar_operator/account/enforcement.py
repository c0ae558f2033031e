"""What a pass does when its object may not act: refuse before any AWS call, and stop the data.

An object refused from the start writes nothing. One that was running and is now forbidden (its
ScarAccount tightened) loses its triggers, so that the function is no longer fed data it may no
longer read, and a public URL loses the grant that opens it (it then answers nobody); the
function, its role, its log group and its URL are kept for when it fits again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scar_operator import conditions, naming, reconciler
from scar_operator.account.guardrails import Spec, violations
from scar_operator.account.selection import Tenancy
from scar_operator.aws.errors import AwsError
from scar_operator.aws.lambda_function_url import PublicUrlAccess
from scar_operator.aws.session import AwsClients
from scar_operator.controller_support import account_in
from scar_operator.function.resources import trigger
from scar_operator.outcome import PassResult

REASON = "PolicyViolation"


def refusal(spec: Spec, region: str, tenancy: Tenancy) -> str | None:
    """Why this object may not act under its namespace's account, or None."""
    if tenancy.refusal is not None:
        return tenancy.refusal
    if tenancy.account is None or tenancy.account_name is None:
        return None
    found = violations(spec, region, tenancy.account_name, tenancy.account)
    return "; ".join(found) if found else None


def refused(message: str, clients: AwsClients | None, region: str, owner: naming.Owner, function_name: str,
            trigger_buckets: Sequence[str], public_url: bool = False) -> PassResult:
    """Stalled with PolicyViolation; the triggers it had and a public URL's grant are withdrawn
    (with its account's clients, when it has an account to act as)."""
    result = PassResult(conditions.stalled(REASON, message), permanent=message)
    if (not trigger_buckets and not public_url) or clients is None:
        return result
    try:
        account = account_in(clients, region)
        # A public URL's grant is looked for again on each refused pass (status still says NONE:
        # one GetPolicy); the URL itself stays, answering nobody, until the object fits again.
        resources: list[reconciler.Resource] = (
            [PublicUrlAccess(clients.client("lambda", region), function_name, facts=clients.facts)]
            if public_url else [])
        notifications: list[reconciler.Resource] = []
        for bucket in dict.fromkeys(trigger_buckets):
            permission, notification = trigger(clients, account, owner, function_name, bucket, ())
            resources.append(permission)
            notifications.append(notification)
        outcome = reconciler.teardown(resources + notifications)
    except AwsError as e:
        # Still refused; the withdrawal is retried on the next pass.
        message = f"{message}; its triggers could not be withdrawn yet: {e}"
        return PassResult(conditions.stalled(REASON, message), permanent=message)
    result.fields = {"triggerBuckets": []}
    result.changes = [f"withdrew what fed or opened it: {', '.join(outcome.changed)}"] if outcome.changed else []
    return result


def teardown_refused(tenancy: Tenancy, status: Mapping[str, Any]) -> PassResult | None:
    """Deleting an object whose namespace has no identity to act as: done if nothing was ever made
    (a refused object writes nothing), else kept, finalizer and all, until an account serves it
    again: acting as another identity would look for its resources in the wrong account."""
    if tenancy.refusal is None:
        return None
    if not status.get("region"):
        return PassResult(conditions.deleting("nothing was made in AWS"))
    message = f"cannot remove its AWS resources: {tenancy.refusal}"
    return PassResult(conditions.stalled(REASON, message), permanent=message)
