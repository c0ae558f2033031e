"""An IAM role's teardown: only the calls it needs (IAM's rate is the scarcest of a bulk delete),
and still complete when someone added policies to the role by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.iam_role import IamRole
from scar_operator.function.desired import trust_policy
from scar_operator.naming import Owner
from scar_operator.reconciler import apply, teardown

OWNER = Owner("ScarFunction", "team", "detector")
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


def recorded(client: Any) -> list[str]:
    operations: list[str] = []
    client.meta.events.register("before-call.iam.*",
                                lambda model, **_: operations.append(model.name))
    return operations


def role(iam: Any, facts: ConfirmedFacts, policy: dict[str, Any] | None = None) -> IamRole:
    return IamRole(iam, "scar-detector", trust_policy("lambda.amazonaws.com"), "scar-data-access",
                   POLICY if policy is None else policy, OWNER, facts=facts)


def role_names(iam: Any) -> list[str]:
    return [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_a_role_this_operator_made_is_deleted_with_two_calls(iam: Any) -> None:
    facts = ConfirmedFacts()
    apply([role(iam, facts)])
    calls = recorded(iam)

    # Built as a teardown builds it: by name, without the policy it was made with.
    assert teardown([role(iam, facts, policy={})]).changed == ["deleted IAM role scar-detector"]

    assert calls == ["DeleteRolePolicy", "DeleteRole"]
    assert "scar-detector" not in role_names(iam)


def test_without_a_recent_confirmation_the_owner_tag_is_read_before_the_delete(iam: Any) -> None:
    apply([role(iam, ConfirmedFacts())])
    calls = recorded(iam)

    teardown([role(iam, ConfirmedFacts(), policy={})])

    assert calls == ["GetRole", "DeleteRolePolicy", "DeleteRole"]


def test_policies_added_by_hand_are_removed_so_that_the_role_can_go(iam: Any) -> None:
    facts = ConfirmedFacts()
    apply([role(iam, facts)])
    iam.put_role_policy(RoleName="scar-detector", PolicyName="hand-made", PolicyDocument=json.dumps(POLICY))
    managed = iam.create_policy(PolicyName="extra", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="scar-detector", PolicyArn=managed)
    calls = recorded(iam)

    teardown([role(iam, facts, policy={})])

    # IAM's refusal is what sends the teardown to list what else is on the role.
    assert calls[:2] == ["DeleteRolePolicy", "DeleteRole"]
    assert {"ListRolePolicies", "ListAttachedRolePolicies", "DetachRolePolicy"} <= set(calls)
    assert calls[-1] == "DeleteRole"
    assert "scar-detector" not in role_names(iam)


def test_a_role_of_another_owner_is_left_in_place(iam: Any) -> None:
    iam.create_role(RoleName="scar-detector", AssumeRolePolicyDocument=json.dumps(trust_policy("lambda.amazonaws.com")),
                    Tags=[{"Key": "scar.dev/owner", "Value": "ScarFunction/other-team/detector"}])
    calls = recorded(iam)

    assert teardown([role(iam, ConfirmedFacts(), policy={})]).changed == []

    assert calls == ["GetRole"]
    assert "scar-detector" in role_names(iam)
