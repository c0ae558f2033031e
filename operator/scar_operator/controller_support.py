"""What both kinds' controllers need: the owner, the account they act in, and where teardown looks."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scar_operator import naming, reconciler
from scar_operator.aws import ecr_repository
from scar_operator.aws.session import AwsClients
from scar_operator.function.desired import Account
from scar_operator.images.plan import ImagePlan, SecretReader, plan_image
from scar_operator.models import DataContract, SpecError
from scar_operator.settings import OperatorSettings

_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")


def owner_of(kind: str, meta: Mapping[str, Any], settings: OperatorSettings) -> naming.Owner:
    return naming.Owner(kind, str(meta["namespace"]), str(meta["name"]), settings.cluster_id)


def inline_wait(settings: OperatorSettings) -> reconciler.InlineWait:
    """A fresh budget for one pass to wait for AWS to settle what it wrote."""
    return reconciler.InlineWait(budget=settings.settle_inline_seconds, first=settings.settle_first_seconds)


def account_in(clients: AwsClients, region: str) -> Account:
    return Account(id=clients.account_id(region), region=region, partition=clients.partition(region))


def teardown_region(spec: Mapping[str, Any], status: Mapping[str, Any], clients: AwsClients) -> str:
    """Where the AWS side was made: the status says; else the spec, if it is a region at all."""
    spec_region = spec.get("region")
    recorded = status.get("region")
    if isinstance(recorded, str) and recorded:
        return recorded
    if isinstance(spec_region, str) and _REGION.match(spec_region):
        return spec_region
    return clients.default_region


def recorded_trigger_buckets(spec: Mapping[str, Any], status: Mapping[str, Any]) -> list[str]:
    """Buckets that may carry this object's notification entries: the status's, and the spec's inputs."""
    spec_buckets = [i.get("bucket") for i in spec.get("input") or [] if isinstance(i, Mapping)]
    return [b for b in dict.fromkeys([*(status.get("triggerBuckets") or []), *spec_buckets]) if isinstance(b, str)]


def buckets_to_remember(wanted: Sequence[str], status: Mapping[str, Any]) -> list[str]:
    """Until a pass completes, every bucket that may still carry our entries: the wanted and the recorded."""
    return list(dict.fromkeys([*wanted, *(status.get("triggerBuckets") or [])]))


def check_region_unchanged(region: str, status: Mapping[str, Any]) -> None:
    created_region = status.get("region")
    if created_region and created_region != region:
        raise SpecError(
            f"spec.region: immutable once the AWS side exists (it is in {created_region}); "
            f"create a new object for another region"
        )


def image_plan(spec: DataContract, architecture: str, owner: naming.Owner, account: Account, clients: AwsClients,
               settings: OperatorSettings, read_secret: SecretReader) -> ImagePlan:
    """The image the object runs: spec.image, or the ECR image the operator assembles from it (images/)."""
    def ecr_login(region: str) -> ecr_repository.RegistryLogin:
        return ecr_repository.registry_login(clients.client("ecr", region), account.id, region, clients.facts)

    return plan_image(image=spec.image, supervisor=spec.supervisor,
                      pull_secrets=[s.name for s in spec.image_pull_secrets], architecture=architecture,
                      owner=owner, account=account.id, region=account.region, partition=account.partition,
                      facts=clients.facts, slow_drift_seconds=clients.slow_drift_seconds,
                      supervisor_dir=Path(settings.supervisor_dir), read_secret=read_secret, ecr_login=ecr_login)
