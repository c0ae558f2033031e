"""The operator's AWS clients keep botocore's service models compact, and work as botocore's own."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws
from scar_operator.aws import service_models
from scar_operator.aws.session import AwsClients


def prose_and_ordered_dicts(model: Any, path: str = "") -> list[str]:
    """Where a model still holds documentation or an OrderedDict."""
    found: list[str] = []
    if isinstance(model, dict):
        if type(model) is not dict:
            found.append(f"{path}: {type(model).__name__}")
        for key, value in model.items():
            if key in ("documentation", "documentationUrl") and value not in ("", None) and isinstance(value, str):
                found.append(f"{path}.{key}")
            found += prose_and_ordered_dicts(value, f"{path}.{key}")
    elif isinstance(model, list):
        for index, item in enumerate(model):
            found += prose_and_ordered_dicts(item, f"{path}[{index}]")
    return found


@pytest.mark.parametrize("service", ["sts", "logs", "iam", "lambda", "s3", "batch", "ecr"])
def test_a_services_model_and_endpoint_rules_are_plain_dicts_without_prose(service: str) -> None:
    loader = service_models.compact_loader(None)
    assert prose_and_ordered_dicts(loader.load_service_model(service, "service-2")) == []
    assert prose_and_ordered_dicts(loader.load_service_model(service, "endpoint-rule-set-1")) == []


def test_documentation_is_emptied_and_a_member_named_documentation_stays() -> None:
    model = service_models.parse('{"documentation": "Says what it is.", '
                                 '"members": {"documentation": {"shape": "Text"}, "Name": {"shape": "N"}}}')
    assert model == {"documentation": "", "members": {"documentation": {"shape": "Text"}, "Name": {"shape": "N"}}}


def test_the_data_path_botocore_searches_is_searched_too(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    loader = service_models.botocore_session().get_component("data_loader")
    assert str(tmp_path) in loader.search_paths


@mock_aws
def test_clients_with_compact_models_call_aws_as_botocores_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clients = AwsClients(default_region="us-east-1")
    assert type(clients.client("iam").meta.service_model._service_description) is dict
    # Query (IAM), REST-XML (S3) and REST-JSON (Lambda): each serialises and parses as usual.
    role = clients.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument='{"Version": "2012-10-17"}')
    assert role["Role"]["Arn"].endswith(":role/r")
    s3 = clients.client("s3")
    s3.create_bucket(Bucket="inputs")
    s3.put_bucket_tagging(Bucket="inputs", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket="inputs")["TagSet"] == [{"Key": "team", "Value": "a"}]
    assert clients.client("lambda").list_functions()["Functions"] == []
    # The same answers as a client of botocore's own models.
    plain = boto3.Session(region_name="us-east-1").client("s3")
    assert plain.get_bucket_tagging(Bucket="inputs")["TagSet"] == s3.get_bucket_tagging(Bucket="inputs")["TagSet"]
