"""ScarFunction: a bad spec is refused, by the schema where it can say so, otherwise with
Stalled=True naming the field; either way no AWS write happens."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kubernetes.client import ApiException

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, events_about, function_manifest, wait_gone, wait_ready, wait_stalled
from tests.harness.waiting import wait_for

IN = {"bucket": "scar-it-bad", "prefix": "in/"}

# (what is wrong, spec changes, the field the error must name)
REFUSED_BY_THE_SCHEMA: list[tuple[str, dict[str, Any], str]] = [
    ("memory above Lambda's maximum", {"memory": 10241}, "spec.memory"),
    ("memory below Lambda's minimum", {"memory": 64}, "spec.memory"),
    ("timeout of zero", {"timeout": 0}, "spec.timeout"),
    ("timeout above 15 minutes", {"timeout": 901}, "spec.timeout"),
    ("ephemeral storage below 512 MiB", {"ephemeralStorage": 256}, "spec.ephemeralStorage"),
    ("an architecture Lambda lacks", {"architecture": "sparc"}, "spec.architecture"),
    ("an upper-case bucket name", {"input": [{"bucket": "Scar-Video"}]}, "spec.input[0].bucket"),
    ("a two-letter bucket name", {"output": [{"bucket": "ab"}]}, "spec.output[0].bucket"),
    ("a role ARN with a short account", {"roleArn": "arn:aws:iam::1234:role/x"}, "spec.roleArn"),
    ("a role ARN of a user", {"roleArn": "arn:aws:iam::123456789012:user/bob"}, "spec.roleArn"),
    ("an unknown output layout", {"outputLayout": "nested"}, "spec.outputLayout"),
    ("an unknown deletion policy", {"deletionPolicy": "Keep"}, "spec.deletionPolicy"),
    ("a region that is not one", {"region": "moon-base-1a"}, "spec.region"),
    ("a function name with spaces", {"functionName": "my function"}, "spec.functionName"),
    ("a prefix with a leading slash", {"input": [{"bucket": "scar-it-bad", "prefix": "/in/"}]},
     "spec.input[0].prefix"),
    ("a retention CloudWatch does not offer", {"logRetentionDays": 31}, "spec.logRetentionDays"),
    ("an empty image", {"image": ""}, "spec.image"),
]

STALLED_BY_THE_OPERATOR: list[tuple[str, dict[str, Any], str]] = [
    ("variables over Lambda's 4 KB", {"environment": {f"V{i}": "x" * 200 for i in range(25)}}, "spec.environment"),
    ("an output under an input of the same bucket (a trigger loop)",
     {"input": [IN], "output": [{"bucket": "scar-it-bad", "prefix": "in/results/"}]}, "output[0]"),
    ("a variable Lambda reserves", {"environment": {"AWS_REGION": "eu-west-1"}}, "spec.environment"),
    ("a variable name starting with a digit", {"environment": {"1ST": "x"}}, "spec.environment"),
    ("a bucket name with two dots in a row", {"output": [{"bucket": "scar..video"}]}, "spec.output[0].bucket"),
    ("a bucket name shaped like an IP address", {"output": [{"bucket": "192.168.10.20"}]},
     "spec.output[0].bucket"),
    ("two inputs that overlap on one bucket",
     {"input": [{"bucket": "scar-it-bad", "prefix": "in/"}, {"bucket": "scar-it-bad", "prefix": "in/deeper/"}]},
     "input[1]"),
    ("a bucket name S3 reserves", {"output": [{"bucket": "xn--scar-video"}]}, "spec.output[0].bucket"),
    ("an image from Docker Hub said to hold the supervisor (Lambda runs ECR images only)",
     {"image": "grycap/cowsay", "supervisor": "InImage"}, "spec.image"),
    ("an ECR image of another Region said to hold the supervisor",
     {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/darknet:1", "supervisor": "InImage"}, "spec.image"),
    ("an image reference that is not one", {"image": "Grycap/Cowsay"}, "spec.image"),
]


@pytest.mark.parametrize(("problem", "changes", "field"),
                         REFUSED_BY_THE_SCHEMA + STALLED_BY_THE_OPERATOR,
                         ids=[p for p, _, _ in REFUSED_BY_THE_SCHEMA + STALLED_BY_THE_OPERATOR])
def test_a_bad_spec_is_refused_naming_the_field_and_costs_nothing(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess,
    problem: str, changes: dict[str, Any], field: str,
) -> None:
    mark = aws.proxy.mark()
    manifest = function_manifest("bad", **{"input": [IN], "output": [{"bucket": "scar-it-bad-out"}], **changes})
    try:
        cluster.apply(FUNCTIONS, namespace, manifest)
    except ApiException as e:
        # Refused by the CRD schema: the API server's message names the field.
        assert e.status == 422
        assert field.removeprefix("spec.") in str(e.body)
        refused_by_schema = True
    else:
        stalled = wait_stalled(cluster, namespace, "bad")
        assert stalled["reason"] == "InvalidSpec"
        assert field in stalled["message"], stalled["message"]
        ready = cluster.condition(FUNCTIONS, namespace, "bad", "Ready")
        assert ready is not None and ready["status"] == "False"
        refused_by_schema = False
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []
    if (problem, changes, field) in REFUSED_BY_THE_SCHEMA and not refused_by_schema:
        pytest.fail(f"the CRD schema should have refused {problem}")


@pytest.mark.parametrize("image", ["grycap/cowsay", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/darknet:1"])
def test_the_embedded_aws_refuses_an_image_lambda_cannot_run_as_aws_does(aws: EmulatedAws, image: str) -> None:
    lam, iam = aws.client("lambda"), aws.client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="scar-it-image-rule", AssumeRolePolicyDocument="{}")
    role = iam.get_role(RoleName="scar-it-image-rule")["Role"]["Arn"]
    with contextlib.suppress(lam.exceptions.ResourceConflictException):
        lam.create_function(FunctionName="from-ecr", PackageType="Image", Role=role,
                            Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1"})
    writes: list[Callable[[], object]] = [
        lambda: lam.create_function(FunctionName="not-from-ecr", PackageType="Image", Code={"ImageUri": image},
                                    Role=role),
        lambda: lam.update_function_code(FunctionName="from-ecr", ImageUri=image),
    ]
    for write in writes:
        with pytest.raises(ClientError) as refused:
            write()
        error = refused.value.response["Error"]
        assert error["Code"] == "InvalidParameterValueException"
        assert error["Message"] == f"Source image {image} is not valid. Provide a valid source image."


def test_fixing_a_stalled_spec_makes_it_ready(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    looping = {"input": [IN], "output": [{"bucket": "scar-it-bad", "prefix": "in/out/"}]}
    cluster.apply(FUNCTIONS, namespace, function_manifest("fixme", **looping))
    stalled = wait_stalled(cluster, namespace, "fixme")
    # `kubectl describe` tells the same story as the condition: one Warning naming the field.
    warning = ("Warning", "InvalidSpec", stalled["message"])
    wait_for(lambda: warning in events_about(cluster, namespace, "fixme"), timeout=30, what="the Warning event")
    cluster.patch_spec(FUNCTIONS, namespace, "fixme", {"output": [{"bucket": "scar-it-bad", "prefix": "out/"}]})
    obj = wait_ready(cluster, namespace, "fixme")
    stalled = next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")
    assert stalled["status"] == "False"


def test_the_function_name_cannot_change_once_the_function_exists(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("named", functionName=f"scar-it-{namespace}-a"))
    wait_ready(cluster, namespace, "named")
    for change in ({"functionName": f"scar-it-{namespace}-b"}, {"functionName": None}):
        with pytest.raises(ApiException) as refused:  # the CRD's CEL transition rules
            cluster.patch_spec(FUNCTIONS, namespace, "named", change)
        assert refused.value.status == 422 and "functionName is immutable" in str(refused.value.body)
    # Without CEL the operator refuses it itself (tests/unit/test_crd_rules.py).


def test_a_trigger_overlapping_another_objects_on_the_bucket_is_stalled_naming_it_and_costs_nothing(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    shared = {"bucket": "scar-it-teams", "prefix": "uploads/"}
    out = [{"bucket": "scar-it-teams", "prefix": "results/"}]
    cluster.apply(FUNCTIONS, namespace, function_manifest("first", input=[shared], output=out))
    first = wait_ready(cluster, namespace, "first")
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, namespace, function_manifest(
        "second", input=[{**shared, "suffix": ".jpg"}], output=[{"bucket": "scar-it-teams", "prefix": "other/"}]))
    stalled = wait_stalled(cluster, namespace, "second")
    assert stalled["reason"] == "OverlappingTrigger"
    assert stalled["message"].startswith("PutBucketNotificationConfiguration: OverlappingTrigger: spec.input: "
                                         "the trigger on s3://scar-it-teams/uploads/*.jpg overlaps")
    assert first["status"]["functionArn"] in stalled["message"]
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []

    # Once the first object is gone, the periodic re-check finds room for the second.
    cluster.delete(FUNCTIONS, namespace, "first")
    wait_gone(cluster, namespace, "first")
    wait_ready(cluster, namespace, "second")
