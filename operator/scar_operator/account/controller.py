"""One pass of a ScarAccount: can its role be assumed, and which namespaces does it serve now.

It makes nothing in AWS. Ready=True means GetCallerIdentity answered through the account's role
(or the operator's own identity when it names none) in this pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scar_operator import conditions
from scar_operator.account.selection import selects
from scar_operator.account.sessions import AccountSessions
from scar_operator.account.spec import parse_account_spec
from scar_operator.aws.errors import AwsError, call
from scar_operator.models import SpecError
from scar_operator.outcome import PassResult

# Come back soon when STS refused for a reason that may pass (throttled, a role still propagating).
_RETRY_SECONDS = 30.0


def check(name: str, spec: Mapping[str, Any], namespace_labels: Mapping[str, Mapping[str, str]],
          sessions: AccountSessions) -> PassResult:
    try:
        account = parse_account_spec(dict(spec))
    except SpecError as e:
        return PassResult(conditions.stalled("InvalidSpec", str(e)), permanent=str(e))
    served = sorted(n for n, labels in namespace_labels.items() if selects(account.namespace_selector, labels))
    clients = sessions.clients_for(name, account)
    identity_of = account.assume_role_arn or "the operator's own identity"
    try:
        identity = call("GetCallerIdentity", clients.client("sts").get_caller_identity)
    except AwsError as e:
        message = f"cannot act as {identity_of}: {e}"
        if e.retryable:
            return PassResult(conditions.retrying(e.code, message), retry_after=_RETRY_SECONDS,
                              fields={"namespaces": served})
        return PassResult(conditions.stalled(e.code, message), permanent=message, fields={"namespaces": served})
    account_id = str(identity["Account"])
    result = PassResult(conditions.ready(f"acting as {identity_of} in account {account_id}; "
                                         f"serving {len(served)} namespace(s)"))
    result.fields = {"accountId": account_id, "namespaces": served}
    return result
