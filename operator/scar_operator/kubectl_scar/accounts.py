"""The AWS identity a tenant's commands act as: the same as the operator's for that namespace.

The namespace's ScarAccount (if any) names a role; the CLI assumes it with the user's own AWS
credentials, so that `put`, `get`, `ls`, `logs` and `invoke` reach the account the function is in.
When the account cannot be read or the role cannot be assumed, the CLI says so and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scar_operator import GROUP, VERSION
from scar_operator.account.selection import account_entry, tenancy_of
from scar_operator.account.sessions import assumed_role_session
from scar_operator.kubectl_scar.errors import UserError


@dataclass(frozen=True)
class AccountRole:
    account_name: str
    role_arn: str
    external_id: str | None


def account_role(api: Any, namespace: str) -> AccountRole | None:
    """The role the namespace's ScarAccount names; None when none selects it or it names no role."""
    from kubernetes import client

    custom: Any = client.CustomObjectsApi(api)
    core: Any = client.CoreV1Api(api)
    try:
        accounts = custom.list_cluster_custom_object(GROUP, VERSION, "scaraccounts")
        labels = core.read_namespace(namespace).metadata.labels or {}
    except client.ApiException as e:
        if e.status == 404:  # no ScarAccount kind installed: a single-team cluster
            return None
        raise UserError(
            f"cannot tell which ScarAccount serves namespace {namespace} ({e.status} {e.reason}): reading "
            f"ScarAccounts and namespaces needs 'list scaraccounts' and 'get namespaces'; ask your cluster "
            f"administrator, or pass --no-account to act with your own AWS credentials") from None
    entries = {item["metadata"]["name"]: account_entry(item.get("spec") or {}) for item in accounts.get("items", [])}
    tenancy = tenancy_of(namespace, labels, entries, require_account=False)
    if tenancy.refusal is not None:
        raise UserError(tenancy.refusal)
    if tenancy.account is None or tenancy.account_name is None or tenancy.account.assume_role_arn is None:
        return None
    return AccountRole(tenancy.account_name, tenancy.account.assume_role_arn, tenancy.account.external_id)


def session_for(role: AccountRole | None, region: str | None) -> Any:
    import boto3

    # A session of its own: boto3's default one caches credentials for the life of the process.
    own = boto3.Session(region_name=region) if region else boto3.Session()
    if role is None:
        return own
    session = assumed_role_session(own, role.role_arn, role.external_id, role.account_name)
    try:
        credentials = session.get_credentials()
        if credentials is None:
            raise ValueError("no AWS credentials found")
        credentials.get_frozen_credentials()
    except Exception as e:  # botocore's ClientError, or no credentials at all
        raise UserError(
            f"your AWS credentials cannot assume {role.role_arn}, the role of ScarAccount {role.account_name!r} "
            f"that serves this namespace: {e}. Ask your platform team to let your identity assume it, or pass "
            f"--no-account to act with your own credentials") from None
    return session
