"""The AWS side of an object's image: its tag in the managed repository, made first and released
last, and what status records of it (so a teardown, or a move to another base, releases the tag
it had even when the spec no longer says)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from scar_operator import naming
from scar_operator.aws import ecr_repository
from scar_operator.aws.managed_image import ManagedImage
from scar_operator.aws.session import AwsClients
from scar_operator.function.desired import Account
from scar_operator.images.plan import ImagePlan, assembles
from scar_operator.images.reference import ReferenceError, parse_reference
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


def recorded_image(status: Mapping[str, Any]) -> tuple[str, str] | None:
    """The managed repository and tag the status says the object may hold."""
    image = status.get("image")
    if isinstance(image, Mapping) and image.get("repository") and image.get("tag"):
        return str(image["repository"]), str(image["tag"])
    return None


def image_resources(plan: ImagePlan, clients: AwsClients, account: Account, status: Mapping[str, Any]
                    ) -> tuple[list[Resource], list[Resource]]:
    """(wanted, unwanted): the object's tag on its assembled image; the tag it held in another
    repository before (spec.image now names another base, or an image used as it is)."""
    wanted: list[Resource] = []
    if plan.repository is not None and plan.tag is not None:
        wanted.append(_managed(clients, account, plan.repository, plan.tag, plan))
    recorded = recorded_image(status)
    unwanted: list[Resource] = []
    if recorded is not None and recorded != (plan.repository, plan.tag):
        unwanted.append(_managed(clients, account, *recorded))
    return wanted, unwanted


def image_teardown(clients: AwsClients, account: Account, owner: naming.Owner, spec: Mapping[str, Any],
                   status: Mapping[str, Any]) -> list[Resource]:
    """The tags the object may hold: the one status records, and the one its spec names (a pass
    may have made it and ended before recording it)."""
    held = set()
    recorded = recorded_image(status)
    if recorded is not None:
        held.add(recorded)
    image = spec.get("image")
    if isinstance(image, str) and assembles(image, str(spec.get("supervisor") or "Auto"), account.region):
        with contextlib.suppress(ReferenceError):
            held.add((ecr_repository.managed_repository_name(parse_reference(image)), ecr_repository.object_tag(owner)))
    return [_managed(clients, account, repository, tag) for repository, tag in sorted(held)]


def image_status(plan: ImagePlan, status: Mapping[str, Any], done: bool) -> dict[str, Any] | None:
    """What status.image says: the new image once a pass went through; until then, while a tag
    elsewhere may still be held, the one recorded before (so that it is released later)."""
    if plan.assembled is None or plan.repository is None or plan.tag is None:
        return None if done else dict(status["image"]) if recorded_image(status) else None
    current = {"base": str(plan.assembled.base.reference), "baseDigest": plan.assembled.base.digest,
               "repository": plan.repository, "tag": plan.tag}
    recorded = recorded_image(status)
    if not done and recorded is not None and recorded != (plan.repository, plan.tag):
        return dict(status["image"])
    return current
