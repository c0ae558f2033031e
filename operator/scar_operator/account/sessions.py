"""One AWS identity per ScarAccount: the operator's own credentials assume the account's role.

botocore's assume-role credential fetcher does the STS call and refreshes the credentials before
they expire; this module only keeps one set of clients per account that assumes a role (each with
its own rate limiter, since AWS's quotas are per account) and makes a new one when the account's
role changes. An account that assumes no role acts with the operator's own identity, in the
operator's own AWS account: it shares the operator's clients and rate limiter, and only its
permissions boundary is its own.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import boto3
import botocore.session
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from scar_operator.account.spec import ScarAccountSpec
from scar_operator.aws.session import AwsClients

# What STS accepts as a RoleSessionName: 2-64 of [\w+=,.@-].
_SESSION_NAME_MAX = 64


def session_name(account_name: str) -> str:
    """Names the ScarAccount in CloudTrail and in the role's sessions."""
    return re.sub(r"[^\w+=,.@-]", "-", f"scar-operator-{account_name}")[:_SESSION_NAME_MAX]


def assumed_role_session(base: boto3.Session, role_arn: str, external_id: str | None, name: str) -> boto3.Session:
    """A boto3 session acting as `role_arn`, its credentials fetched from STS when first needed."""
    extra = {"RoleSessionName": session_name(name), **({"ExternalId": external_id} if external_id else {})}
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=base._session.create_client,
        source_credentials=base.get_credentials(),
        role_arn=role_arn,
        extra_args=extra,
    )
    core = botocore.session.Session()
    # The service models are read once for every identity: each botocore session would otherwise
    # load and keep its own (about 19 MB for Lambda, IAM, S3, CloudWatch Logs and STS).
    core.register_component("data_loader", base._session.get_component("data_loader"))
    # botocore has no public setter for refreshable credentials; this is how its own assume-role
    # provider ends up in a session, and the fetcher below refreshes them before they expire.
    core._credentials = DeferredRefreshableCredentials(  # type: ignore[attr-defined]
        method="assume-role", refresh_using=fetcher.fetch_credentials)
    if base.region_name:
        core.set_config_variable("region", base.region_name)
    return boto3.Session(botocore_session=core)


@dataclass(frozen=True)
class _Identity:
    role_arn: str | None
    external_id: str | None
    permissions_boundary_arn: str | None


class AccountSessions:
    """The clients of each ScarAccount, and the operator's own for namespaces without one."""

    def __init__(self, own: AwsClients, make: Callable[[boto3.Session | None, str | None], AwsClients]) -> None:
        self.own = own
        # make(assumed role's session, permissions boundary): clients with the operator's settings.
        self._make = make
        self._by_account: dict[str, tuple[_Identity, AwsClients]] = {}
        self._lock = threading.Lock()

    def clients_for(self, account_name: str | None, account: ScarAccountSpec | None) -> AwsClients:
        if account_name is None or account is None:
            return self.own
        identity = _Identity(account.assume_role_arn, account.external_id, account.permissions_boundary_arn)
        with self._lock:
            known = self._by_account.get(account_name)
            if known is not None and known[0] == identity:
                return known[1]
            if identity.role_arn:
                session = assumed_role_session(self.own.session, identity.role_arn, identity.external_id,
                                               account_name)
                clients = self._make(session, identity.permissions_boundary_arn)
            else:
                clients = self.own.with_boundary(identity.permissions_boundary_arn)
            self._by_account[account_name] = (identity, clients)
            return clients

    def forget(self, account_name: str) -> None:
        with self._lock:
            self._by_account.pop(account_name, None)
