"""A function's URL and the grant that makes a NONE URL public, against moto taught AWS's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError
from scar_operator.aws.lambda_function import LambdaFunction
from scar_operator.aws.lambda_function_url import LambdaFunctionUrl, PublicUrlAccess

NAME = "web-detector"
CORS = {"AllowOrigins": ["https://example.com"], "AllowMethods": ["POST"], "AllowHeaders": [], "ExposeHeaders": [],
        "AllowCredentials": False, "MaxAge": 60}


@pytest.fixture
def lambda_() -> Iterator[Any]:
    with mock_aws():
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", region_name="us-east-1")
        client.create_function(FunctionName=NAME, Role=role, PackageType="Image",
                               Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/d:1"})
        yield client


def statements(lambda_: Any) -> dict[str, dict[str, Any]]:
    policy = json.loads(lambda_.get_policy(FunctionName=NAME)["Policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def test_a_url_is_made_with_its_settings_then_brought_back_in_line(lambda_: Any) -> None:
    url = LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", CORS)
    assert url.observe().exists is False
    url.create()
    # As AWS gives it: https://<id>.lambda-url.<region>.on.aws/
    assert url.url is not None and url.url.startswith("https://") and url.url.endswith(".on.aws/")
    made = lambda_.get_function_url_config(FunctionName=NAME)
    assert (made["AuthType"], made["Cors"]["AllowOrigins"], made["InvokeMode"]) == (
        "AWS_IAM", ["https://example.com"], "BUFFERED")

    # Someone opens it to the world by hand: drift, repaired by an update.
    lambda_.update_function_url_config(FunctionName=NAME, AuthType="NONE")
    seen = LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", CORS)
    assert seen.observe().in_sync is False
    seen.update()
    assert lambda_.get_function_url_config(FunctionName=NAME)["AuthType"] == "AWS_IAM"
    assert LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", CORS).observe().in_sync


def test_cors_that_lambda_leaves_out_compares_equal_to_empty_settings(lambda_: Any) -> None:
    lambda_.create_function_url_config(FunctionName=NAME, AuthType="AWS_IAM")
    assert LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", None).observe().in_sync


def test_a_function_has_one_url_as_in_aws(lambda_: Any) -> None:
    lambda_.create_function_url_config(FunctionName=NAME, AuthType="AWS_IAM")
    with pytest.raises(lambda_.exceptions.ResourceConflictException, match="FunctionUrlConfig exists"):
        lambda_.create_function_url_config(FunctionName=NAME, AuthType="NONE")
    with pytest.raises(AwsError):
        LambdaFunctionUrl(lambda_, NAME, "NONE", None).create()


def test_a_public_url_gets_both_statements_with_the_conditions_aws_shows(lambda_: Any) -> None:
    public = PublicUrlAccess(lambda_, NAME)
    assert public.observe().exists is False
    public.create()
    found = statements(lambda_)
    url_grant, invoke_grant = found["scar-function-url-public"], found["scar-function-url-public-invoke"]
    assert (url_grant["Action"], url_grant["Principal"]) == ("lambda:InvokeFunctionUrl", "*")
    assert url_grant["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert (invoke_grant["Action"], invoke_grant["Principal"]) == ("lambda:InvokeFunction", "*")
    assert invoke_grant["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}
    assert PublicUrlAccess(lambda_, NAME).observe().in_sync

    # One of the two removed by hand: not in sync, and the update restores both.
    lambda_.remove_permission(FunctionName=NAME, StatementId="scar-function-url-public-invoke")
    half = PublicUrlAccess(lambda_, NAME)
    assert half.observe().in_sync is False
    half.update()
    assert set(statements(lambda_)) == {"scar-function-url-public", "scar-function-url-public-invoke"}

    PublicUrlAccess(lambda_, NAME).delete()
    with pytest.raises(lambda_.exceptions.ResourceNotFoundException):
        lambda_.get_policy(FunctionName=NAME)
    PublicUrlAccess(lambda_, NAME).delete()  # already gone: nothing to do, no error


def test_a_url_found_as_wanted_is_not_read_again_for_the_same_function_revision(lambda_: Any) -> None:
    lambda_.create_function_url_config(FunctionName=NAME, AuthType="AWS_IAM")
    facts, function = ConfirmedFacts(), LambdaFunction(lambda_, None, None)  # type: ignore[arg-type]
    function.revision_seen = ("rev-1", "2026-11-27T10:00:00.000+0000")
    first = LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", None, function=function, facts=facts, slow_drift_seconds=600)
    assert first.observe().in_sync
    lambda_.delete_function_url_config(FunctionName=NAME)
    # The same revision: the remembered address, no read (drift by hand is seen after the slow-drift time).
    again = LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", None, function=function, facts=facts, slow_drift_seconds=600)
    assert again.observe().in_sync and again.url == first.url
    function.revision_seen = ("rev-2", "2026-11-27T10:05:00.000+0000")
    assert LambdaFunctionUrl(lambda_, NAME, "AWS_IAM", None, function=function, facts=facts).observe().exists is False


def test_a_confirmation_of_other_settings_is_never_taken_for_the_wanted_ones(lambda_: Any) -> None:
    lambda_.create_function_url_config(FunctionName=NAME, AuthType="AWS_IAM")
    facts, function = ConfirmedFacts(), LambdaFunction(lambda_, None, None)  # type: ignore[arg-type]
    function.revision_seen = ("rev-1", "2026-11-27T10:00:00.000+0000")

    def url(auth_type: str) -> LambdaFunctionUrl:
        return LambdaFunctionUrl(lambda_, NAME, auth_type, None, function=function, facts=facts,
                                 slow_drift_seconds=600)

    assert url("AWS_IAM").observe().in_sync  # confirmed as AWS_IAM
    opened = url("NONE")
    assert opened.observe().in_sync is False
    opened.update()
    # Back to AWS_IAM at the same revision of the function: read again, found NONE, put back.
    closing = url("AWS_IAM")
    assert closing.observe().in_sync is False
    closing.update()
    assert lambda_.get_function_url_config(FunctionName=NAME)["AuthType"] == "AWS_IAM"
