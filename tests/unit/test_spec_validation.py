"""The ScarFunction spec: defaults, and every rule that refuses a spec, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from scar_operator.models import ScarFunctionSpec, SpecError, parse_function_spec

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/f:1"


def spec(**fields: Any) -> dict[str, Any]:
    return {"image": IMAGE, **fields}


def test_defaults_are_those_of_the_issue() -> None:
    parsed = parse_function_spec(spec())
    assert (parsed.memory, parsed.timeout, parsed.ephemeral_storage) == (512, 300, 512)
    assert parsed.architecture == "x86_64"
    assert parsed.output_layout == "requestId"
    assert parsed.log_retention_days == 30
    assert parsed.deletion_policy == "Delete"
    assert parsed.role_arn is None and parsed.function_name is None


def test_camel_case_fields_parse_into_the_model() -> None:
    parsed = parse_function_spec(spec(ephemeralStorage=1024, outputLayout="flat", logRetentionDays=7,
                                      roleArn="arn:aws:iam::123456789012:role/service/x", functionName="f-1"))
    assert parsed.ephemeral_storage == 1024 and parsed.output_layout == "flat"
    assert parsed.role_arn == "arn:aws:iam::123456789012:role/service/x"


@pytest.mark.parametrize(("fields", "field"), [
    ({"memory": 127}, "spec.memory"),
    ({"memory": 10241}, "spec.memory"),
    ({"timeout": 901}, "spec.timeout"),
    ({"ephemeralStorage": 10241}, "spec.ephemeralStorage"),
    ({"architecture": "i386"}, "spec.architecture"),
    ({"input": [{"bucket": "UPPER"}]}, "spec.input[0].bucket"),
    ({"input": [{"bucket": "a" * 64}]}, "spec.input[0].bucket"),
    ({"output": [{"bucket": "-leading-dash"}]}, "spec.output[0].bucket"),
    ({"output": [{"bucket": "scar..video"}]}, "spec.output[0].bucket"),
    ({"output": [{"bucket": "scar.-video"}]}, "spec.output[0].bucket"),
    ({"output": [{"bucket": "10.0.0.1"}]}, "spec.output[0].bucket"),
    ({"output": [{"bucket": "sthree-video"}]}, "spec.output[0].bucket"),
    ({"output": [{"bucket": "video-s3alias"}]}, "spec.output[0].bucket"),
    ({"input": [{"bucket": "scar-video", "prefix": "/x"}]}, "spec.input[0].prefix"),
    ({"roleArn": "role/x"}, "spec.roleArn"),
    ({"region": "EU-WEST-1"}, "spec.region"),
    ({"logRetentionDays": 2}, "spec.logRetentionDays"),
    ({"functionName": "a" * 65}, "spec.functionName"),
    ({"environment": {"AWS_SESSION_TOKEN": "x"}}, "spec.environment"),
    ({"environment": {"SCAR_SUPERVISOR_CONFIG": "{}"}}, "spec.environment"),
    ({"environment": {"has-dash": "x"}}, "spec.environment"),
    ({"unknownField": 1}, "spec.unknownField"),
    ({"image": "has space"}, "spec.image"),
])
def test_a_bad_field_is_refused_with_its_path(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_function_spec(spec(**fields))
    assert str(caught.value).startswith(field), str(caught.value)


def test_an_image_is_required() -> None:
    with pytest.raises(SpecError, match=r"spec\.image: Field required"):
        parse_function_spec({})


@pytest.mark.parametrize(("inputs", "outputs", "layout"), [
    ([{"bucket": "scar-v", "prefix": "in/"}], [{"bucket": "scar-v", "prefix": "in/out/"}], "requestId"),
    ([{"bucket": "scar-v", "prefix": ""}], [{"bucket": "scar-v", "prefix": "out/"}], "requestId"),
    ([{"bucket": "scar-v", "prefix": "data/in/"}], [{"bucket": "scar-v", "prefix": "data/"}], "flat"),
    ([{"bucket": "scar-v", "prefix": "in/", "suffix": ".png"}],
     [{"bucket": "scar-v", "prefix": "in/", "suffixes": [".png"]}], "requestId"),
])
def test_an_output_that_would_trigger_the_function_again_is_refused(
    inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], layout: str
) -> None:
    with pytest.raises(SpecError, match=r"output\[0\].*lies under input\[0\].*forever"):
        parse_function_spec(spec(input=inputs, output=outputs, outputLayout=layout))


@pytest.mark.parametrize(("inputs", "outputs", "layout"), [
    ([{"bucket": "scar-v", "prefix": "in/"}], [{"bucket": "scar-v", "prefix": "out/"}], "requestId"),
    ([{"bucket": "scar-v", "prefix": "in/"}], [{"bucket": "other-v", "prefix": "in/"}], "requestId"),
    # A deeper input is safe with the request-id layout: outputs land under prefix/<uuid>/.
    ([{"bucket": "scar-v", "prefix": "data/in/"}], [{"bucket": "scar-v", "prefix": "data/"}], "requestId"),
    ([{"bucket": "scar-v", "prefix": "in/", "suffix": ".avi"}],
     [{"bucket": "scar-v", "prefix": "in/frames/", "suffixes": [".jpg"]}], "requestId"),
])
def test_outputs_beside_the_inputs_are_accepted(
    inputs: list[dict[str, Any]], outputs: list[dict[str, Any]], layout: str
) -> None:
    parse_function_spec(spec(input=inputs, output=outputs, outputLayout=layout))


def test_overlapping_triggers_on_one_bucket_are_refused_as_s3_would() -> None:
    with pytest.raises(SpecError, match=r"input\[1\] overlaps input\[0\]"):
        parse_function_spec(spec(input=[{"bucket": "scar-v", "prefix": "a/"}, {"bucket": "scar-v", "prefix": "a/b"}]))
    parse_function_spec(spec(input=[{"bucket": "scar-v", "prefix": "a/"}, {"bucket": "scar-v", "prefix": "b/"}]))
    parse_function_spec(spec(input=[{"bucket": "scar-v", "suffix": ".jpg"}, {"bucket": "scar-v", "suffix": ".png"}]))


def test_the_model_is_frozen() -> None:
    parsed = parse_function_spec(spec())
    with pytest.raises(Exception, match="frozen"):
        parsed.memory = 1024
    assert isinstance(parsed, ScarFunctionSpec)
