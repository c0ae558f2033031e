"""The desired AWS state of a ScarFunction: plain data built by pure functions from the spec.

No AWS calls and no kopf here, so every rule about names, policies and limits is unit-testable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lambda_supervisor.config import CONFIG_ENV, OutputTarget, SupervisorConfig
from scar_operator import naming
from scar_operator.ecr_images import lambda_image_refusal
from scar_operator.models import (
    LAMBDA_ENVIRONMENT_LIMIT_BYTES,
    S3Input,
    S3Output,
    ScarFunctionSpec,
    SpecError,
    lambda_environment_size,
)

ROLE_PATH = "/scar/"
ROLE_POLICY_NAME = "scar-data-access"
S3_INVOKE_EVENTS = ("s3:ObjectCreated:*",)


@dataclass(frozen=True)
class Account:
    """Where the objects live: resolved once per region from the credentials, passed in as data."""

    id: str
    region: str
    partition: str = "aws"


@dataclass(frozen=True)
class NotificationEntry:
    id: str
    function_arn: str
    prefix: str
    suffix: str

    def to_aws(self) -> dict[str, Any]:
        rules = [{"Name": "prefix", "Value": self.prefix}] if self.prefix else []
        if self.suffix:
            rules.append({"Name": "suffix", "Value": self.suffix})
        entry: dict[str, Any] = {
            "Id": self.id,
            "LambdaFunctionArn": self.function_arn,
            "Events": list(S3_INVOKE_EVENTS),
        }
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        return entry


@dataclass(frozen=True)
class RolePlan:
    name: str
    arn: str
    trust_policy: dict[str, Any]
    inline_policy: dict[str, Any]


@dataclass(frozen=True)
class FunctionPlan:
    owner: naming.Owner
    account: Account
    name: str
    arn: str
    image: str
    memory: int
    timeout: int
    ephemeral_storage: int
    architecture: str
    environment: dict[str, str]
    role_arn: str
    managed_role: RolePlan | None
    log_group: str
    log_retention_days: int
    # bucket -> the notification entries this function owns there
    notifications: dict[str, tuple[NotificationEntry, ...]]
    buckets: tuple[str, ...]
    retain: bool
    tags: dict[str, str] = field(default_factory=dict)
    # The function URL: its auth type (None: no URL) and CORS settings as Lambda takes them.
    url_auth_type: str | None = None
    url_cors: dict[str, Any] | None = None

    @property
    def trigger_buckets(self) -> tuple[str, ...]:
        return tuple(self.notifications)


def bucket_arn(account: Account, bucket: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}"


def objects_arn(account: Account, bucket: str, prefix: str) -> str:
    return f"arn:{account.partition}:s3:::{bucket}/{prefix}*"


def log_group_arn(account: Account, group: str) -> str:
    return f"arn:{account.partition}:logs:{account.region}:{account.id}:log-group:{group}:*"


def supervisor_config(spec: ScarFunctionSpec | Any, timeout: int) -> SupervisorConfig:
    # Stop the script early enough that uploading what it wrote still fits in the invocation.
    threshold = max(0.5, min(30.0, timeout * 0.1))
    return SupervisorConfig(
        script=spec.script,
        outputs=tuple(OutputTarget(o.bucket, o.prefix, tuple(o.suffixes)) for o in spec.output),
        layout=spec.output_layout,
        timeout_threshold_seconds=threshold,
    )


def function_environment(spec: ScarFunctionSpec) -> dict[str, str]:
    variables = {**spec.environment, CONFIG_ENV: supervisor_config(spec, spec.timeout).to_json()}
    size = lambda_environment_size(variables)
    if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        raise SpecError(
            f"spec.environment and spec.script: together they take {size} bytes of the function's environment, "
            f"over Lambda's {LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit; move large scripts into the image"
        )
    return variables


def trust_policy(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def data_access_policy(
    account: Account, inputs: list[S3Input], outputs: list[S3Output], log_groups: list[str]
) -> dict[str, Any]:
    """Read on the input prefixes, write on the output prefixes, its own log group: nothing more."""
    statements: list[dict[str, Any]] = []
    if inputs:
        resources = sorted({objects_arn(account, i.bucket, i.prefix) for i in inputs})
        statements.append({"Sid": "ReadInputs", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": resources})
    if outputs:
        resources = sorted({objects_arn(account, o.bucket, o.prefix) for o in outputs})
        statements.append({
            "Sid": "WriteOutputs",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": resources,
        })
    if log_groups:
        statements.append({
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": sorted(log_group_arn(account, g) for g in log_groups),
        })
    return {"Version": "2012-10-17", "Statement": statements}


def plan_function(spec: ScarFunctionSpec, owner: naming.Owner, account: Account,
                  assembled_image: str | None = None) -> FunctionPlan:
    """`assembled_image`: the ECR image the operator assembled from spec.image (images/), if it did."""
    refusal = None if assembled_image else lambda_image_refusal(spec.image, account.region)
    if refusal is not None:
        raise SpecError(f"spec.image: {refusal}")
    name = spec.function_name or naming.function_name(owner)
    arn = f"arn:{account.partition}:lambda:{account.region}:{account.id}:function:{name}"
    log_group = naming.log_group_name(name)
    managed_role: RolePlan | None = None
    if spec.role_arn:
        role_arn = spec.role_arn
    else:
        role = naming.role_name(owner)
        role_arn = f"arn:{account.partition}:iam::{account.id}:role{ROLE_PATH}{role}"
        managed_role = RolePlan(
            name=role,
            arn=role_arn,
            trust_policy=trust_policy("lambda.amazonaws.com"),
            inline_policy=data_access_policy(account, spec.input, spec.output, [log_group]),
        )
    notifications: dict[str, list[NotificationEntry]] = {}
    for i in spec.input:
        entry = NotificationEntry(naming.notification_id(owner, i.bucket, i.prefix, i.suffix), arn, i.prefix, i.suffix)
        notifications.setdefault(i.bucket, []).append(entry)
    buckets = tuple(dict.fromkeys([i.bucket for i in spec.input] + [o.bucket for o in spec.output]))
    return FunctionPlan(
        owner=owner,
        account=account,
        name=name,
        arn=arn,
        image=assembled_image or spec.image,
        memory=spec.memory,
        timeout=spec.timeout,
        ephemeral_storage=spec.ephemeral_storage,
        architecture=spec.architecture,
        environment=function_environment(spec),
        role_arn=role_arn,
        managed_role=managed_role,
        log_group=log_group,
        log_retention_days=spec.log_retention_days,
        notifications={bucket: tuple(entries) for bucket, entries in notifications.items()},
        buckets=buckets,
        retain=spec.deletion_policy == "Retain",
        tags=owner.tags(),
        url_auth_type=spec.http.auth_type if spec.http else None,
        url_cors=spec.http.cors.to_aws() if spec.http and spec.http.cors else None,
    )


def canonical(document: Any) -> str:
    """A stable text form, to compare policy documents whatever their key order."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
