"""The desired AWS state of a ScarFunction, built by pure functions from the spec."""

from __future__ import annotations

import json

import pytest
from scar_operator import naming
from scar_operator.function.desired import Account, plan_function
from scar_operator.models import SpecError, parse_function_spec

from lambda_supervisor.config import CONFIG_ENV, SupervisorConfig

ACCOUNT = Account(id="123456789012", region="eu-west-1")
OWNER = naming.Owner("ScarFunction", "video", "darknet")
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/darknet:1"


def plan(**fields: object):  # type: ignore[no-untyped-def]
    return plan_function(parse_function_spec({"image": ECR_IMAGE, **fields}), OWNER, ACCOUNT)


def test_lambda_takes_images_from_ecr_in_the_functions_region_of_any_account() -> None:
    plan()  # the same account and Region
    plan(image=f"210987654321.dkr.ecr.{ACCOUNT.region}.amazonaws.com/shared/detector@sha256:{'0' * 64}")


@pytest.mark.parametrize(("image", "said"), [
    ("grycap/cowsay", "is not an ECR image"),
    ("ghcr.io/grycap/cowsay:1", "is not an ECR image"),
    ("123456789012.dkr.ecr.ap-south-1.amazonaws.com/detector:1", "is in ap-south-1"),
])
def test_any_other_image_said_to_hold_the_supervisor_is_refused_naming_the_field(image: str, said: str) -> None:
    with pytest.raises(SpecError, match=rf"^spec\.image: Lambda runs only images from Amazon ECR .*{said}"):
        plan(image=image, supervisor="InImage")


def test_names_are_deterministic_and_within_aws_limits() -> None:
    first, second = plan(), plan()
    assert first.name == second.name == "video-darknet-" + OWNER.hash
    assert first.arn == f"arn:aws:lambda:eu-west-1:123456789012:function:{first.name}"
    assert first.log_group == f"/aws/lambda/{first.name}"
    long_owner = naming.Owner("ScarFunction", "n" * 63, "m" * 253)
    assert len(naming.function_name(long_owner)) <= 64
    assert len(naming.role_name(long_owner)) <= 64
    assert naming.function_name(long_owner) != naming.function_name(naming.Owner("ScarFunction", "n" * 63, "m" * 252))


def test_different_clusters_sharing_an_account_get_different_names() -> None:
    assert naming.function_name(OWNER) != naming.function_name(naming.Owner("ScarFunction", "video", "darknet", "b"))


def test_an_explicit_function_name_wins() -> None:
    assert plan(functionName="my-detector").name == "my-detector"


def test_the_managed_role_grants_exactly_inputs_outputs_and_logs() -> None:
    p = plan(input=[{"bucket": "scar-v", "prefix": "in/"}],
             output=[{"bucket": "scar-v", "prefix": "out/"}, {"bucket": "scar-w"}])
    assert p.managed_role is not None
    assert p.role_arn == f"arn:aws:iam::123456789012:role/scar/{p.managed_role.name}"
    statements = {s["Sid"]: s for s in p.managed_role.inline_policy["Statement"]}
    assert statements["ReadInputs"]["Resource"] == ["arn:aws:s3:::scar-v/in/*"]
    assert statements["WriteOutputs"]["Resource"] == ["arn:aws:s3:::scar-v/out/*", "arn:aws:s3:::scar-w/*"]
    assert statements["WriteLogs"]["Resource"] == [
        f"arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/{p.name}:*"
    ]
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_a_given_role_means_no_managed_role() -> None:
    p = plan(roleArn="arn:aws:iam::123456789012:role/mine")
    assert p.managed_role is None and p.role_arn == "arn:aws:iam::123456789012:role/mine"


def test_the_supervisor_configuration_travels_in_one_variable_beside_the_users() -> None:
    p = plan(script="echo hi", environment={"MODEL": "yolo"}, timeout=100,
             output=[{"bucket": "scar-v", "prefix": "out/", "suffixes": [".png"]}], outputLayout="flat")
    assert p.environment["MODEL"] == "yolo"
    config = SupervisorConfig.from_json(p.environment[CONFIG_ENV])
    assert config.script == "echo hi"
    assert config.layout == "flat"
    assert config.outputs[0].suffixes == (".png",)
    assert config.timeout_threshold_seconds == 10.0


def test_the_environment_limit_counts_the_script_too() -> None:
    with pytest.raises(SpecError, match=r"spec\.environment and spec\.script.*4096"):
        plan(script="x" * 4000, environment={"A": "b" * 200})


def test_notifications_group_by_bucket_with_stable_ids() -> None:
    p = plan(input=[{"bucket": "scar-v", "prefix": "a/"}, {"bucket": "scar-v", "prefix": "b/"},
                    {"bucket": "scar-w", "suffix": ".avi"}])
    assert list(p.notifications) == ["scar-v", "scar-w"]
    ids = [e.id for e in p.notifications["scar-v"]]
    assert all(i.startswith(naming.notification_id_prefix(OWNER)) for i in ids) and len(set(ids)) == 2
    entry = p.notifications["scar-w"][0].to_aws()
    assert entry["Filter"]["Key"]["FilterRules"] == [{"Name": "suffix", "Value": ".avi"}]
    assert entry["LambdaFunctionArn"] == p.arn
    assert json.dumps(entry)  # plain data all the way down
