"""The Lambda function client against a Lambda that answers as AWS does: states moto never reports."""

from __future__ import annotations

from typing import Any

import pytest
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.aws.lambda_function import FunctionSettings, LambdaFunction
from scar_operator.naming import Owner

OWNER = Owner("ScarFunction", "video", "detector")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1"
SETTINGS = FunctionSettings("video-detector-1a2b3c4d", IMAGE, "arn:aws:iam::123456789012:role/scar/r", 512, 300, 512,
                            "x86_64", {"SCAR_SUPERVISOR_CONFIG": "{}"})


class OneFunctionLambda:
    """GetFunction answers with one function of OWNER in the given state."""

    def __init__(self, **state: str) -> None:
        self.configuration: dict[str, Any] = {
            "FunctionName": SETTINGS.name, "Role": SETTINGS.role_arn, "MemorySize": 512, "Timeout": 300,
            "EphemeralStorage": {"Size": 512}, "Environment": {"Variables": dict(SETTINGS.environment)},
            "Architectures": ["x86_64"], "State": "Active", "LastUpdateStatus": "Successful", **state,
        }

    def get_function(self, FunctionName: str) -> dict[str, Any]:  # noqa: N803
        return {"Configuration": self.configuration, "Code": {"ImageUri": IMAGE}, "Tags": OWNER.tags()}


@pytest.mark.parametrize(("state", "waiting_on"), [
    ({"State": "Pending"}, "function is Pending"),
    ({"LastUpdateStatus": "InProgress"}, "function update is InProgress"),
])
def test_a_settling_function_is_waited_for_and_not_written(state: dict[str, str], waiting_on: str) -> None:
    seen = LambdaFunction(OneFunctionLambda(**state), SETTINGS, OWNER).observe()
    assert seen.settling == waiting_on


def test_a_function_lambda_cannot_pull_its_image_for_is_stalled_naming_the_image() -> None:
    failed = OneFunctionLambda(State="Failed", StateReasonCode="ImageAccessDenied",
                               StateReason="Lambda does not have permission to access the ECR image.")
    with pytest.raises(AwsError) as refused:
        LambdaFunction(failed, SETTINGS, OWNER).observe()
    assert refused.value.kind is ErrorKind.TERMINAL and refused.value.code == "ImageAccessDenied"
    assert refused.value.message.startswith(
        f"spec.image: Lambda function {SETTINGS.name} is Failed: Lambda does not have permission to access")


def test_a_failed_function_whose_spec_changed_is_updated_rather_than_reported() -> None:
    failed = OneFunctionLambda(State="Failed", StateReasonCode="ImageDeleted", StateReason="gone")
    fixed = FunctionSettings(**{**SETTINGS.__dict__, "image": IMAGE.replace(":1", ":2")})
    assert LambdaFunction(failed, fixed, OWNER).observe().in_sync is False
