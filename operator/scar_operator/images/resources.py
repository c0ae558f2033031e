"""The AWS side of an object's image: its tag in the managed repository, made first and released
last, and what status records of it (so a teardown, or a move to another base, releases the tag
it had even when the spec no longer says)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scar_operator import naming
from scar_operator.aws import ecr_repository
from scar_operator.aws.managed_image import ManagedImage
from scar_operator.aws.session import AwsClients
from scar_operator.function.desired import Account
from scar_operator.images.plan import ImagePlan
from scar_operator.reconciler import Resource


def _managed(clients: AwsClients, account: Account, repository: str, tag: str, plan: ImagePlan | None = None
             ) -> ManagedImage:
    ecr = clients.client("ecr", account.region)
    return ManagedImage(
        ecr, lambda: ecr_repository.registry_login(ecr, account.id, account.region, clients.facts),
        account.id, account.region, repository, tag,
        image=plan.assembled if plan else None, source=plan.source if plan else None,
        tags={naming.MANAGED_BY_TAG: naming.MANAGED_BY}, facts=clients.facts, limiter=clients.limiter,
        slow_drift_seconds=clients.slow_drift_seconds)


def held_images(status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (repository, tag) pairs the status says the object may hold: its image, and one it
    moved away from and has not released yet."""
    held: list[tuple[str, str]] = []
    for key in ("image", "formerImage"):
        image = status.get(key)
        if isinstance(image, Mapping) and image.get("repository") and image.get("tag"):
            pair = (str(image["repository"]), str(image["tag"]))
            if pair not in held:
                held.append(pair)
    return held


def _current(plan: ImagePlan) -> tuple[str, str] | None:
    return (plan.repository, plan.tag) if plan.repository is not None and plan.tag is not None else None


def image_resources(plan: ImagePlan, clients: AwsClients, account: Account, status: Mapping[str, Any]
                    ) -> tuple[list[Resource], list[Resource]]:
    """(wanted, unwanted): the object's tag on its assembled image; a tag it held in another
    repository before (spec.image now names another base, or an image used as it is)."""
    current = _current(plan)
    wanted: list[Resource] = [_managed(clients, account, *current, plan)] if current is not None else []
    unwanted: list[Resource] = [_managed(clients, account, *held) for held in held_images(status) if held != current]
    return wanted, unwanted


def image_teardown(clients: AwsClients, account: Account, status: Mapping[str, Any]) -> list[Resource]:
    """The tags the object holds, as status records them (a pass that reaches AWS with an
    assembled image records it, whether or not it gets to the end). An object that never had one
    costs no ECR call at its deletion."""
    return [_managed(clients, account, *held) for held in held_images(status)]


def image_status(plan: ImagePlan, status: Mapping[str, Any], done: bool) -> dict[str, Any]:
    """status.image (the image the plan names) and status.formerImage (a tag held elsewhere, until
    a pass that went through has released it)."""
    current = _current(plan)
    image = None
    if plan.assembled is not None and current is not None:
        image = {"base": str(plan.assembled.base.reference), "baseDigest": plan.assembled.base.digest,
                 "repository": current[0], "tag": current[1]}
    former = None if done else next((h for h in held_images(status) if h != current), None)
    return {"image": image, "formerImage": {"repository": former[0], "tag": former[1]} if former else None}
