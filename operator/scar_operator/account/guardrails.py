"""What a ScarFunction or ScarBatchJob may name under its ScarAccount.

Checked on the parsed spec before any AWS call: a violation costs nothing and names the field,
the value and the ScarAccount.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from scar_operator.account.spec import ScarAccountSpec
from scar_operator.batchjob.spec import ScarBatchJobSpec
from scar_operator.models import ScarFunctionSpec

Spec = ScarFunctionSpec | ScarBatchJobSpec


def violations(spec: Spec, region: str, account_name: str, account: ScarAccountSpec) -> list[str]:
    """Each broken guardrail as "<field>: <value> <why>, by ScarAccount '<name>'"; empty when all hold."""
    by = f"by ScarAccount {account_name!r}"
    return [f"{field}: {why} {by}" for field, why in _broken(spec, region, account)]


def _broken(spec: Spec, region: str, account: ScarAccountSpec) -> Iterator[tuple[str, str]]:
    if account.regions and region not in account.regions:
        field = "spec.region" if spec.region else "spec.region (the operator's default)"
        yield field, f"{region!r} is not among the regions allowed ({', '.join(account.regions)})"
    if account.images is not None and not any(spec.image.startswith(p) for p in account.images):
        yield "spec.image", f"{spec.image!r} is not under an image prefix allowed ({_listed(account.images)})"
    if account.buckets is not None:
        places = [(f"spec.input[{i}]", s.bucket, s.prefix) for i, s in enumerate(spec.input)]
        places += [(f"spec.output[{i}]", s.bucket, s.prefix) for i, s in enumerate(spec.output)]
        for field, bucket, prefix in places:
            if not _granted(account, bucket, prefix):
                yield field, f"s3://{bucket}/{prefix} is not within the buckets allowed ({_grants(account)})"
    for field, arn in _role_arns(spec):
        if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in account.execution_roles):
            allowed = _listed(account.execution_roles) if account.execution_roles else "none: managed roles only"
            yield field, f"{arn!r} is not among the execution roles allowed ({allowed})"
    if isinstance(spec, ScarFunctionSpec) and spec.http is not None and spec.http.auth_type == "NONE" \
            and not account.allow_public_urls:
        yield "spec.http.authType", "'NONE' (a URL anyone may invoke) is not allowed (allowPublicUrls is false)"
    yield from _over_limits(spec, account)


def _granted(account: ScarAccountSpec, bucket: str, prefix: str) -> bool:
    return any(g.bucket == bucket and (not g.prefixes or any(prefix.startswith(p) for p in g.prefixes))
               for g in account.buckets or [])


def _grants(account: ScarAccountSpec) -> str:
    places = [f"s3://{g.bucket}/{p}" for g in account.buckets or [] for p in (g.prefixes or [""])]
    return ", ".join(places) or "none"


def _listed(values: list[str]) -> str:
    return ", ".join(values) or "none"


def _role_arns(spec: Spec) -> Iterator[tuple[str, str]]:
    if isinstance(spec, ScarFunctionSpec):
        if spec.role_arn:
            yield "spec.roleArn", spec.role_arn
        return
    if spec.job_role_arn:
        yield "spec.jobRoleArn", spec.job_role_arn
    if spec.execution_role_arn:
        yield "spec.executionRoleArn", spec.execution_role_arn


def _over_limits(spec: Spec, account: ScarAccountSpec) -> Iterator[tuple[str, str]]:
    limits = account.limits
    asked: list[tuple[str, float | None, float | None]]
    if isinstance(spec, ScarFunctionSpec):
        asked = [("spec.memory", spec.memory, limits.memory), ("spec.timeout", spec.timeout, limits.timeout),
                 ("spec.ephemeralStorage", spec.ephemeral_storage, limits.ephemeral_storage)]
    else:
        asked = [("spec.resources.memory", spec.resources.memory, limits.memory),
                 ("spec.resources.vcpus", spec.resources.vcpus, limits.vcpus),
                 ("spec.resources.gpus", spec.resources.gpus, limits.gpus),
                 ("spec.timeout", spec.timeout, limits.timeout),
                 ("spec.compute.maxVcpus", spec.compute.max_vcpus if spec.compute else None, limits.max_vcpus)]
    for field, value, bound in asked:
        if value is not None and bound is not None and value > bound:
            yield field, f"{value:g} is above the limit of {bound:g} set"
