"""The typed spec of the custom resources: the one source of truth.

The operator parses every object with these models, and the CRDs in crds/ are generated from
them (see crdgen.py), so the schema the API server enforces and the rules the operator enforces
cannot drift apart. Rules a structural schema can express (ranges, patterns, enums) live in
the field declarations and so reach the CRD; rules that need more than one field or AWS
arithmetic (limits on sizes, overlapping triggers) are validators here, reported as `Stalled`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from lambda_supervisor.config import CONFIG_ENV


class SpecError(ValueError):
    """A spec that cannot be reconciled; the message names the field and the reason."""


# S3's own rules for general purpose bucket names; the rest of them are checked in `_check_bucket`.
BucketName = Annotated[
    str,
    Field(
        min_length=3,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$",
        description="S3 bucket name; created if missing, never deleted by the operator.",
    ),
]
KeyPrefix = Annotated[
    str,
    Field(
        max_length=1024,
        pattern=r"^([^/].*)?$",
        description="Key prefix inside the bucket (no leading '/'), e.g. 'video/input/'.",
    ),
]
RoleArn = Annotated[
    str,
    Field(
        max_length=2048,
        pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$",
        description="IAM role ARN, arn:aws:iam::<account>:role/<name>.",
    ),
]
Region = Annotated[
    str,
    Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", description="AWS region, e.g. eu-west-1."),
]
ImageUri = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[^\s]+$",
        description="Any image reference (Docker Hub short names, GHCR, ECR, a private registry; tag or digest). "
                    "The operator assembles an ECR image from it with the supervisor added (see spec.supervisor).",
    ),
]
LambdaFunctionName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The AWS function name; derived from namespace and name when absent. Immutable.",
        json_schema_extra={
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "functionName is immutable"}]
        },
    ),
]

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# Lambda reserves these names; setting one is refused by AWS at write time, so refuse it first.
LAMBDA_RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", CONFIG_ENV,
})
ENV_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
# Lambda: "the total size of all environment variables doesn't exceed 4 KB". Measured on the
# JSON form, which is larger than the raw bytes, so that a spec accepted here never fails there.
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, validate_default=True
    )


class LocalObjectReference(_Model):
    """A Secret in the object's own namespace, as pods name their imagePullSecrets."""

    name: Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


class S3Input(_Model):
    """An S3 ObjectCreated trigger."""

    bucket: BucketName
    prefix: KeyPrefix = ""
    suffix: Annotated[str, Field(max_length=1024, description="Only keys ending in this, e.g. '.avi'.")] = ""

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _check_bucket(value)


class S3Output(_Model):
    """Where the supervisor uploads what the script wrote."""

    bucket: BucketName
    prefix: KeyPrefix = ""
    suffixes: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]],
        Field(max_length=32, description="Only files whose names end in one of these (all when empty)."),
    ] = []

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _check_bucket(value)


def _check_bucket(name: str) -> str:
    """The parts of S3's bucket naming rules that a pattern cannot say."""
    if ".." in name or ".-" in name or "-." in name:
        raise ValueError("a bucket name must not contain '..', '.-' or '-.'")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        raise ValueError("a bucket name must not look like an IP address")
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            raise ValueError(f"a bucket name must not start with {prefix!r}")
    for suffix in ("-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3"):
        if name.endswith(suffix):
            raise ValueError(f"a bucket name must not end with {suffix!r}")
    return name


class DataContract(_Model):
    """What both kinds share: the image, the script, and where data comes from and goes to."""

    image: ImageUri
    supervisor: Annotated[
        Literal["Auto", "InImage", "Add"],
        Field(description="Add: the operator assembles an image from spec.image with the supervisor added (any "
                          "registry). InImage: spec.image already has it and runs as it is (for Lambda, an ECR "
                          "image of the function's Region). Auto: InImage for an ECR image of the object's Region, "
                          "Add for any other."),
    ] = "Auto"
    image_pull_secrets: Annotated[
        list[LocalObjectReference],
        Field(max_length=8, description="Secrets of type kubernetes.io/dockerconfigjson in this namespace with "
                                        "credentials for spec.image's registry, as a pod's imagePullSecrets."),
    ] = []
    script: Annotated[str, Field(description="Shell script run for each event (SCAR's init_script).")] = ""
    environment: Annotated[
        dict[str, Annotated[str, Field(max_length=4096)]],
        Field(description="Variables passed to the script."),
    ] = {}
    input: Annotated[
        list[S3Input], Field(max_length=32, description="Each entry is an S3 ObjectCreated trigger.")
    ] = []
    output: Annotated[list[S3Output], Field(max_length=32, description="Where outputs are uploaded.")] = []
    output_layout: Annotated[
        Literal["requestId", "flat"],
        Field(description="requestId: prefix/<request-id>/<file> (SCAR's layout); flat: prefix/<file>."),
    ] = "requestId"
    region: Annotated[Region | None, Field(description="AWS region; the operator's when absent.")] = None
    deletion_policy: Annotated[
        Literal["Delete", "Retain"],
        Field(description="Retain leaves the AWS compute in place when the object is deleted. Buckets always stay."),
    ] = "Delete"
    process_existing: Annotated[
        bool,
        Field(description="Once Ready, also process the objects already under the inputs, each once "
                          "(progress in status.existingObjects)."),
    ] = False

    @field_validator("environment")
    @classmethod
    def _environment_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.match(ENV_NAME_PATTERN, key):
                raise ValueError(f"variable name {key!r} must be letters, digits and '_', starting with a letter")
            if key in LAMBDA_RESERVED_VARIABLES:
                raise ValueError(f"variable name {key!r} is reserved by AWS Lambda or the supervisor")
        return value

    @model_validator(mode="after")
    def _triggers_are_sane(self) -> DataContract:
        for i, first in enumerate(self.input):
            for j in range(i + 1, len(self.input)):
                second = self.input[j]
                if first.bucket == second.bucket and _filters_overlap(first, second):
                    raise ValueError(
                        f"input[{j}] overlaps input[{i}] on bucket {first.bucket!r}: S3 refuses two triggers "
                        f"that can match the same key"
                    )
        for i, source in enumerate(self.input):
            for j, sink in enumerate(self.output):
                if sink.bucket == source.bucket and _output_retriggers(source, sink, self.output_layout):
                    raise ValueError(
                        f"output[{j}] (s3://{sink.bucket}/{sink.prefix}) lies under input[{i}] "
                        f"(s3://{source.bucket}/{source.prefix}): every output would trigger the function again, "
                        f"forever"
                    )
        return self


def _filters_overlap(a: S3Input, b: S3Input) -> bool:
    return key_filters_overlap(a.prefix, a.suffix, b.prefix, b.suffix)


def key_filters_overlap(prefix_a: str, suffix_a: str, prefix_b: str, suffix_b: str) -> bool:
    """S3's rule: two notifications for a common event may not both match some key, i.e. one's
    prefix starts the other's and one's suffix ends the other's (an empty filter matches all)."""
    prefixes_meet = prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)
    suffixes_meet = suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)
    return prefixes_meet and suffixes_meet


def s3_events_overlap(first: str, second: str) -> bool:
    """`s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`; equal events overlap too."""
    def covers(wide: str, narrow: str) -> bool:
        return wide == narrow or (wide.endswith(":*") and narrow.startswith(wide[:-1]))
    return covers(first, second) or covers(second, first)


def _output_retriggers(source: S3Input, sink: S3Output, layout: str) -> bool:
    # Output keys are sink.prefix + (request id +) the file's relative path: the trigger fires on
    # them when they can start with the input prefix and end with its suffix.
    under = sink.prefix.startswith(source.prefix) or (layout == "flat" and source.prefix.startswith(sink.prefix))
    if not under:
        return False
    if not source.suffix or not sink.suffixes:
        return True
    return any(s.endswith(source.suffix) or source.suffix.endswith(s) for s in sink.suffixes)


HttpMethod = Literal["GET", "PUT", "HEAD", "POST", "PATCH", "DELETE", "*"]


class FunctionUrlCors(_Model):
    """CORS of the function URL, as Lambda takes it (Lambda answers preflight requests itself)."""

    allow_origins: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=253)]],
        Field(max_length=100, description="Origins allowed, e.g. https://example.com, or '*'."),
    ] = []
    allow_methods: Annotated[list[HttpMethod], Field(max_length=6)] = []
    allow_headers: Annotated[list[Annotated[str, Field(max_length=1024)]], Field(max_length=100)] = []
    expose_headers: Annotated[list[Annotated[str, Field(max_length=1024)]], Field(max_length=100)] = []
    allow_credentials: bool = False
    max_age: Annotated[int, Field(ge=0, le=86400, description="Seconds a browser may cache a preflight.")] = 0

    def to_aws(self) -> dict[str, Any]:
        return {"AllowOrigins": list(self.allow_origins), "AllowMethods": list(self.allow_methods),
                "AllowHeaders": list(self.allow_headers), "ExposeHeaders": list(self.expose_headers),
                "AllowCredentials": self.allow_credentials, "MaxAge": self.max_age}


class HttpEndpoint(_Model):
    """An HTTPS endpoint of the function (a Lambda function URL): SCAR's api_gateway."""

    auth_type: Annotated[
        Literal["AWS_IAM", "NONE"],
        Field(description="AWS_IAM: callers sign with SigV4 and need lambda:InvokeFunctionUrl; "
                          "NONE: public, anyone on the internet may invoke."),
    ] = "AWS_IAM"
    cors: FunctionUrlCors | None = None


class ScarFunctionSpec(DataContract):
    """One AWS Lambda function that runs a container image with the supervisor inside."""

    memory: Annotated[int, Field(ge=128, le=10240, description="MiB.")] = 512
    timeout: Annotated[int, Field(ge=1, le=900, description="Seconds per invocation.")] = 300
    ephemeral_storage: Annotated[int, Field(ge=512, le=10240, description="MiB of /tmp.")] = 512
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    role_arn: Annotated[
        RoleArn | None,
        Field(description="Execution role; absent: the operator creates a least-privilege role and owns it."),
    ] = None
    log_retention_days: Annotated[
        int, Field(json_schema_extra={"enum": list(LOG_RETENTION_DAYS)}, description="CloudWatch Logs retention.")
    ] = 30
    function_name: LambdaFunctionName | None = None
    http: Annotated[
        HttpEndpoint | None,
        Field(description="Give the function an HTTPS endpoint (status.url): the request body is the input file, "
                          "the response carries the script's output."),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.functionName) == has(oldSelf.functionName)",
                    "message": "functionName is immutable",
                }
            ]
        }
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of the periods CloudWatch Logs accepts: {list(LOG_RETENTION_DAYS)}")
        return value


def lambda_environment_size(variables: dict[str, str]) -> int:
    return len(json.dumps(variables, separators=(",", ":"), ensure_ascii=False).encode())


_NAMED_FIELD = re.compile(r"^([a-z][A-Za-z0-9]*(?:\[\d+\])?(?:\.[a-z][A-Za-z0-9]*(?:\[\d+\])?)*): ")


def format_validation_error(error: ValidationError, root: str = "spec") -> str:
    """One line per problem, each naming the field as a user writes it: spec.input[0].bucket."""
    lines = []
    for item in error.errors():
        path = root
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        message = item["msg"].removeprefix("Value error, ")
        # A rule over several fields names the one at fault first: "resources.gpus: ..."
        named = _NAMED_FIELD.match(message)
        if named:
            path, message = f"{path}.{named.group(1)}", message[named.end():]
        lines.append(f"{path}: {message}")
    return "; ".join(lines)


def parse_function_spec(spec: dict[str, Any]) -> ScarFunctionSpec:
    try:
        return ScarFunctionSpec.model_validate(spec)
    except ValidationError as e:
        raise SpecError(format_validation_error(e)) from None
