"""Which image an object runs: spec.image as it is, or an image assembled from it, decided and
resolved before the pass writes anything.

Resolving reads the base image from its registry (with the object's pull secrets): a reference
that is not one, a Secret that is missing or wrong, credentials the registry refuses or an image
it does not have are errors in the spec, reported naming the field with the registry's own
answer, and nothing in AWS is made for them. What a resolution found is kept for the slow-drift
interval and shared by the objects of one namespace that name the same image: a tag that moved
is seen at the next resolution, and the objects roll to the new digest then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scar_operator import naming
from scar_operator.aws import ecr_repository
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.ecr_images import ecr_image
from scar_operator.images.assembly import PLATFORMS, AssembledImage, BaseImage, BaseImageError, assemble, resolve_base
from scar_operator.images.pull_secrets import Credentials, PullSecretError, registry_credentials
from scar_operator.images.reference import ImageReference, ReferenceError, parse_reference
from scar_operator.images.registry import RegistryError, Repository
from scar_operator.images.supervisor_layer import executable_for, supervisor_layer
from scar_operator.models import SpecError

SecretReader = Callable[[str, str], "dict[str, Any] | None"]
# The ECR registry login of a Region (aws/ecr_repository.registry_login, bound to the object's clients).
EcrLogin = Callable[[str], ecr_repository.RegistryLogin]


@dataclass(frozen=True)
class ImagePlan:
    # What Lambda or Batch is given.
    uri: str
    # Set when the operator assembles the image (spec.supervisor Add, or Auto for a non-ECR image).
    assembled: AssembledImage | None = None
    source: Repository | None = None
    repository: str | None = None
    tag: str | None = None


def assembles(image: str, supervisor: str, region: str) -> bool:
    """Whether the operator assembles the image: asked for (Add), or Auto and not an ECR image of
    the object's Region (which is taken to hold the supervisor already, as before images were assembled)."""
    if supervisor != "Auto":
        return supervisor == "Add"
    found = ecr_image(image)
    return found is None or found.region != region


def _credentials(reference: ImageReference, secret_names: Sequence[str], namespace: str,
                 read_secret: SecretReader) -> Credentials | None:
    for i, name in enumerate(secret_names):
        field = f"spec.imagePullSecrets[{i}]"
        try:
            secret = read_secret(namespace, name)
        except Exception as e:  # the client's own errors (403 without RBAC, the API server away)
            raise SpecError(f"{field}: the operator cannot read Secret {namespace}/{name}: {e}") from None
        if secret is None:
            raise SpecError(f"{field}: there is no Secret {namespace}/{name}")
        try:
            found = registry_credentials(secret).get(reference.registry)
        except PullSecretError as e:
            raise SpecError(f"{field}: {e}") from None
        if found is not None:
            return found
    return None


# A resolution is kept this long for its HEAD-only refresh (after the slow-drift interval, one
# HEAD of the tag confirms it when the tag still names the same digest).
_KEPT_SECONDS = 7 * 24 * 3600.0


def _resolved(source: Repository, reference: ImageReference, platform: str, last: BaseImage | None) -> BaseImage:
    """The base image now: `last` when the tag still names what it named (one HEAD, which registries
    such as Docker Hub do not count as a pull), else read again."""
    try:
        if last is not None and source.manifest_digest(reference.version) == last.named:
            return last
        return resolve_base(source, reference, platform)
    except BaseImageError as e:
        raise SpecError(f"spec.image: {e}") from None
    except RegistryError as e:
        if e.transient:
            raise AwsError(ErrorKind.THROTTLED, f"Registry{e.status or ''}", str(e), "resolve image") from None
        raise SpecError(f"spec.image: {reference} can't be read: {e}") from None


def _source(reference: ImageReference, credentials: Credentials | None, account: str,
            ecr_login: EcrLogin | None) -> Repository:
    """Where the base is read from. An ECR base with no pull secret for it is read with the ECR
    token of its Region (the operator's own registry at the address GetAuthorizationToken gives;
    another account's, which must let this one pull, at its own)."""
    found = ecr_image(str(reference))
    if credentials is not None or found is None or ecr_login is None:
        return Repository(reference.api_host, reference.repository, credentials)
    login = ecr_login(found.region)
    if found.account == account:
        return Repository(login.host, reference.repository, login.credentials, scheme=login.scheme)
    return Repository(reference.api_host, reference.repository, login.credentials)


def plan_image(*, image: str, supervisor: str, pull_secrets: Sequence[str], architecture: str,
               owner: naming.Owner, account: str, region: str, partition: str, facts: ConfirmedFacts,
               slow_drift_seconds: float, supervisor_dir: Path, read_secret: SecretReader,
               ecr_login: EcrLogin | None = None) -> ImagePlan:
    if not assembles(image, supervisor, region):
        return ImagePlan(uri=image)
    try:
        reference = parse_reference(image)
    except ReferenceError as e:
        raise SpecError(f"spec.image: {image!r} is not an image reference: {e}") from None
    platform = PLATFORMS[architecture]
    executable = executable_for(supervisor_dir, platform)
    if executable is None:
        raise SpecError(f"spec.image: this operator has no supervisor executable for {platform} "
                        f"({supervisor_dir}/{platform}/scar-supervisor) to add to {reference}")
    # One resolution per namespace, image, platform and pull secrets, kept with the credentials it
    # used (so a pass that finds it fresh reads no Secret): the objects of another namespace
    # resolve with their own credentials, never riding on these.
    identity = (owner.namespace, str(reference), platform)
    fact, kept = ("base-image", *identity, *pull_secrets), ("base-image-kept", *identity)
    with facts.turn(fact):
        known = facts.value(fact)
        if isinstance(known, tuple):
            base, credentials = known
        else:
            credentials = _credentials(reference, pull_secrets, owner.namespace, read_secret)
            last = facts.value(kept)
            with _source(reference, credentials, account, ecr_login).session() as reading:
                base = _resolved(reading, reference, platform, last if isinstance(last, BaseImage) else None)
            facts.confirm(fact, ttl_seconds=slow_drift_seconds, value=(base, credentials))
            facts.confirm(kept, ttl_seconds=_KEPT_SECONDS, value=base)
    # A repository of its own for each pass: python-dxf's sessions are not for sharing across threads.
    source = _source(reference, credentials, account, ecr_login)
    assembled = assemble(base, supervisor_layer(executable))
    repository = ecr_repository.managed_repository_name(reference)
    host = ecr_repository.registry_host(account, region, partition)
    return ImagePlan(uri=f"{host}/{repository}@{assembled.digest}", assembled=assembled, source=source,
                     repository=repository, tag=ecr_repository.object_tag(owner))
