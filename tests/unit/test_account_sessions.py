"""Which AWS identity, clients and rate limiter serve a ScarAccount's objects, and what they share."""

from __future__ import annotations

from typing import Any

import boto3
from scar_operator.account.sessions import AccountSessions
from scar_operator.account.spec import ScarAccountSpec
from scar_operator.aws.session import AwsClients

BOUNDARY = "arn:aws:iam::123456789012:policy/team-boundary"


def own_clients() -> AwsClients:
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")
    return AwsClients(session=session)


def account(**fields: Any) -> ScarAccountSpec:
    return ScarAccountSpec.model_validate({"namespaceSelector": {"matchLabels": {"team": "a"}}, **fields})


def sessions_of(own: AwsClients) -> AccountSessions:
    def make(session: boto3.Session | None, boundary: str | None) -> AwsClients:
        return AwsClients(session=session, permissions_boundary_arn=boundary)

    return AccountSessions(own, make)


def test_an_account_without_a_role_acts_as_the_operator_under_its_own_boundary() -> None:
    own = own_clients()
    sessions = sessions_of(own)
    clients = sessions.clients_for("team-a", account(permissionsBoundaryArn=BOUNDARY))

    assert clients.permissions_boundary_arn == BOUNDARY
    assert own.permissions_boundary_arn is None  # the operator's own objects keep none
    # The same AWS account: the same clients, and one rate limiter and one record of what is
    # confirmed, since AWS counts every call against that account's quotas.
    assert clients.client("lambda") is own.client("lambda")
    assert clients.limiter is own.limiter
    assert clients.facts is own.facts
    assert clients.session is own.session


def test_accounts_that_assume_roles_have_their_own_clients_and_share_the_service_models() -> None:
    own = own_clients()
    sessions = sessions_of(own)
    team_a = sessions.clients_for("team-a", account(assumeRoleArn="arn:aws:iam::111111111111:role/scar"))
    team_b = sessions.clients_for("team-b", account(assumeRoleArn="arn:aws:iam::222222222222:role/scar"))

    assert team_a.client("s3") is not team_b.client("s3") is not own.client("s3")
    assert team_a.limiter is not team_b.limiter is not own.limiter
    # One loader for every identity: each botocore session would otherwise read and keep the
    # service models again (about 19 MB for the five services of a ScarFunction).
    loader = own.session._session.get_component("data_loader")
    assert team_a.session._session.get_component("data_loader") is loader
    assert team_b.session._session.get_component("data_loader") is loader


def test_the_same_account_is_served_by_the_same_clients_until_its_role_changes() -> None:
    own = own_clients()
    sessions = sessions_of(own)
    first = sessions.clients_for("team-a", account(assumeRoleArn="arn:aws:iam::111111111111:role/scar"))
    assert sessions.clients_for("team-a", account(assumeRoleArn="arn:aws:iam::111111111111:role/scar")) is first
    moved = sessions.clients_for("team-a", account(assumeRoleArn="arn:aws:iam::111111111111:role/other"))
    assert moved is not first
    assert sessions.clients_for("team-x", None) is own
