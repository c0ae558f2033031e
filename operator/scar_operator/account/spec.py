"""The ScarAccount kind: cluster-scoped, created by cluster administrators only."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from scar_operator.models import BucketName, KeyPrefix, Region, RoleArn, SpecError, _Model, format_validation_error
from scar_operator.status_model import Condition, _Status


class LabelSelectorRequirement(_Model):
    key: Annotated[str, Field(min_length=1, max_length=317)]
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list)


class LabelSelector(_Model):
    """A Kubernetes label selector: every matchLabels pair and every expression must hold."""

    match_labels: dict[str, Annotated[str, Field(max_length=63)]] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class BucketGrant(_Model):
    bucket: BucketName
    prefixes: list[KeyPrefix] = Field(
        default_factory=list, description="Key prefixes inputs and outputs may use; empty: the whole bucket.")


class AccountLimits(_Model):
    """Upper bounds of what one object may ask for; absent: AWS's own bounds."""

    memory: Annotated[int | None, Field(ge=128, description="MiB (a function's memory, a job's memory).")] = None
    timeout: Annotated[int | None, Field(ge=1, description="Seconds (per invocation, per job attempt).")] = None
    ephemeral_storage: Annotated[int | None, Field(ge=512, description="MiB of a function's /tmp.")] = None
    vcpus: Annotated[float | None, Field(ge=0.25, description="vCPUs per Batch job.")] = None
    gpus: Annotated[int | None, Field(ge=0, description="GPUs per Batch job.")] = None
    max_vcpus: Annotated[int | None, Field(ge=1, description="A managed compute environment's maxVcpus.")] = None


PolicyArn = Annotated[
    str,
    Field(max_length=2048, pattern=r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]{1,512}$",
          description="IAM managed policy ARN."),
]
ExternalId = Annotated[str, Field(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")]


class ScarAccountSpec(_Model):
    """The AWS identity and the guardrails of the namespaces this account selects."""

    namespace_selector: Annotated[LabelSelector, Field(description="The namespaces (teams) this account serves.")]
    assume_role_arn: Annotated[
        RoleArn | None,
        Field(description="Role the operator assumes for every AWS call of these namespaces; absent: its own."),
    ] = None
    external_id: Annotated[
        ExternalId | None, Field(description="sts:ExternalId the role's trust policy asks for.")
    ] = None
    regions: list[Region] = Field(default_factory=list, description="Allowed regions; empty: all.")
    buckets: Annotated[
        list[BucketGrant] | None,
        Field(description="The only places input and output may name; absent: any bucket."),
    ] = None
    images: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=1024)]] | None,
        Field(description="Allowed image prefixes (a registry, a repository path); absent: any image."),
    ] = None
    execution_roles: list[Annotated[str, Field(min_length=1, max_length=2048)]] = Field(
        default_factory=list,
        description="ARN patterns ('*' matches any run of characters) a spec's role ARNs may name; "
                    "empty: managed roles only.")
    permissions_boundary_arn: Annotated[
        PolicyArn | None, Field(description="Set on every role the operator creates for these namespaces."),
    ] = None
    limits: AccountLimits = AccountLimits()
    allow_public_urls: Annotated[
        bool, Field(description="May a ScarFunction's spec.http have authType NONE (a URL anyone may invoke)."),
    ] = False

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "!has(self.externalId) || has(self.assumeRoleArn)",
                 "message": "externalId is sent when assuming assumeRoleArn: give the role too"},
            ]
        }
    )

    @model_validator(mode="after")
    def _external_id_with_role(self) -> ScarAccountSpec:
        if self.external_id and not self.assume_role_arn:
            raise ValueError("externalId: it is sent when assuming assumeRoleArn; give the role too")
        return self


class ScarAccountStatus(_Status):
    observed_generation: int | None = None
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]})
    account_id: Annotated[str | None, Field(description="The AWS account the role acts in.")] = None
    namespaces: list[str] = Field(default_factory=list, description="The namespaces this account serves now.")


def parse_account_spec(spec: dict[str, object]) -> ScarAccountSpec:
    try:
        return ScarAccountSpec.model_validate(spec)
    except ValidationError as e:
        raise SpecError(format_validation_error(e)) from None
