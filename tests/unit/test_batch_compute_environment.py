"""An INVALID compute environment: mended by a spec change, reported when nothing changed, deleted on teardown.

moto never marks an environment INVALID; AWS does (a subnet of another VPC, a role it cannot use),
so these run the client against a Batch that answers as AWS would.
"""

from __future__ import annotations

from typing import Any

import pytest
from scar_operator import reconciler
from scar_operator.aws.batch_compute_environment import ComputeEnvironment
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.batchjob.desired import ComputePlan, Network
from scar_operator.function.desired import Account
from scar_operator.naming import Owner

OWNER = Owner("ScarBatchJob", "video", "split")
ACCOUNT = Account("123456789012", "us-east-1")
NAME = "scar-video-split-1a2b3c4d"


class InvalidEnvironmentBatch:
    """AWS Batch holding one INVALID Fargate environment of OWNER, recording the writes it is sent."""

    def __init__(self, subnets: list[str]) -> None:
        self.environment: dict[str, Any] = {
            "computeEnvironmentName": NAME, "status": "INVALID", "state": "ENABLED", "tags": OWNER.tags(),
            "statusReason": "CLIENT_ERROR - subnet-0aaaaaaaaaaaaaaaa is not in the VPC of sg-0bbbbbbbbbbbbbbbb",
            "computeResources": {"type": "FARGATE", "maxvCpus": 16, "subnets": subnets,
                                 "securityGroupIds": ["sg-0bbbbbbbbbbbbbbbb"]},
        }
        self.updates: list[dict[str, Any]] = []

    def describe_compute_environments(self, computeEnvironments: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"computeEnvironments": [self.environment]}

    def update_compute_environment(self, **arguments: Any) -> dict[str, Any]:
        self.updates.append(arguments)
        return {}


def environment(batch: InvalidEnvironmentBatch, subnets: tuple[str, ...], kind: str = "FARGATE") -> ComputeEnvironment:
    plan = ComputePlan(NAME, f"arn:aws:batch:us-east-1:123456789012:compute-environment/{NAME}", kind, 16, (),
                       Network(subnets, ("sg-0bbbbbbbbbbbbbbbb",)), None)
    return ComputeEnvironment(batch, plan, ACCOUNT, OWNER)


def test_a_spec_change_is_applied_to_mend_an_invalid_environment() -> None:
    batch = InvalidEnvironmentBatch(subnets=["subnet-0aaaaaaaaaaaaaaaa"])
    outcome = reconciler.apply([environment(batch, ("subnet-0cccccccccccccccc",))])
    assert outcome.waiting_on is not None and "update in progress" in outcome.waiting_on
    [update] = batch.updates
    assert update["computeResources"]["subnets"] == ["subnet-0cccccccccccccccc"]
    assert update["state"] == "ENABLED"


def test_an_invalid_environment_with_nothing_to_change_is_reported_with_aws_reason() -> None:
    batch = InvalidEnvironmentBatch(subnets=["subnet-0aaaaaaaaaaaaaaaa"])
    with pytest.raises(AwsError) as invalid:
        reconciler.apply([environment(batch, ("subnet-0aaaaaaaaaaaaaaaa",))])
    assert invalid.value.kind is ErrorKind.TERMINAL
    assert "is INVALID: CLIENT_ERROR - subnet-0aaaaaaaaaaaaaaaa is not in the VPC" in invalid.value.message
    assert batch.updates == []


def test_an_invalid_environment_is_still_torn_down() -> None:
    batch = InvalidEnvironmentBatch(subnets=["subnet-0aaaaaaaaaaaaaaaa"])
    by_name = environment(batch, (), kind="")  # what teardown knows: the name
    outcome = reconciler.teardown([by_name])
    assert outcome.waiting_on is not None and "disabling" in outcome.waiting_on
    assert batch.updates == [{"computeEnvironment": NAME, "state": "DISABLED"}]
