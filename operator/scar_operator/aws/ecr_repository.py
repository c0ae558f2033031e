"""The operator's managed ECR repositories: where assembled images live, one repository per base.

`scar-images/<registry>/<repository>` in the object's account and Region holds every assembled
image of that base, shared by all the objects that use it: the same base digest and supervisor
give the same manifest, stored once. Each object names what it runs with a tag of its own
(`scarfunction-<hash>`), so ECR itself counts who uses what: an object that goes deletes its tag,
and the repository goes with the last tag. Images no tag names any more (an object moved on to a
newer base) are expired by the repository's lifecycle rule a day later, never by a pass.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from scar_operator import naming
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, ErrorKind, call, call_create, call_idempotent
from scar_operator.images.pull_secrets import Credentials
from scar_operator.images.reference import ImageReference

REPOSITORY_PREFIX = "scar-images/"
_REPOSITORY_LIMIT = 256
UNTAGGED_EXPIRY_DAYS = 1
LIFECYCLE_POLICY = json.dumps({"rules": [{
    "rulePriority": 1,
    "description": "Assembled images no ScarFunction or ScarBatchJob names any more",
    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                  "countNumber": UNTAGGED_EXPIRY_DAYS},
    "action": {"type": "expire"},
}]}, sort_keys=True)
# A token is good for 12 hours; it is asked for again this long before it runs out.
_TOKEN_MARGIN = datetime.timedelta(minutes=30)
_PART = re.compile(r"[^a-z0-9._-]+|[._-]{2,}")

# Per repository, within this process: a teardown's "no tag left, delete the repository" and a
# push into the same repository take turns, so the delete never takes an image being named.
_turns: dict[tuple[str, str, str], threading.Lock] = {}
_turns_lock = threading.Lock()


def repository_turn(account: str, region: str, name: str) -> threading.Lock:
    with _turns_lock:
        return _turns.setdefault((account, region, name), threading.Lock())


def managed_repository_name(base: ImageReference) -> str:
    """`scar-images/docker.io/grycap/cowsay` (`localhost:5000` becomes `localhost-5000`): ECR's name
    rules kept (lowercase parts joined by one of `._-`), shortened with a hash of the whole when too long."""
    parts = [base.registry.lower(), *base.repository.split("/")]
    clean = "/".join(_PART.sub("-", p).strip("._-") or "x" for p in parts)
    name = REPOSITORY_PREFIX + clean
    if len(name) > _REPOSITORY_LIMIT:
        suffix = "-" + naming.short_hash(base.name, length=12)
        name = name[: _REPOSITORY_LIMIT - len(suffix)].rstrip("/._-") + suffix
    return name


def object_tag(owner: naming.Owner) -> str:
    """The tag an object names its image with: its kind and a hash of its identity (cluster included)."""
    identity = naming.short_hash(owner.cluster, owner.kind, owner.namespace, owner.name, length=20)
    return f"{owner.kind.lower()}-{identity}"


def registry_host(account: str, region: str, partition: str = "aws") -> str:
    """The host of image URIs (what Lambda and Batch are given): the account's private registry."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com" + (".cn" if partition == "aws-cn" else "")


@dataclass(frozen=True)
class RegistryLogin:
    """Where the registry API of the account's ECR answers, and the credentials it takes."""

    host: str
    scheme: str
    credentials: Credentials


def registry_login(ecr: Any, account: str, region: str, facts: ConfirmedFacts) -> RegistryLogin:
    """One GetAuthorizationToken per account and Region, reused until half an hour before it expires."""
    fact = ("ecr-login", account, region)
    with facts.turn(fact):
        known = facts.value(fact)
        if isinstance(known, RegistryLogin):
            return known
        answer = call("GetAuthorizationToken", ecr.get_authorization_token)
        data = answer["authorizationData"][0]
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        endpoint = str(data.get("proxyEndpoint") or f"https://{registry_host(account, region)}")
        scheme, _, host = endpoint.partition("://")
        login = RegistryLogin(host.rstrip("/"), scheme or "https", Credentials(username, password))
        expires = data.get("expiresAt")
        now = datetime.datetime.now(datetime.UTC)
        left = (expires - now - _TOKEN_MARGIN).total_seconds() if isinstance(expires, datetime.datetime) else 0.0
        if left > 0:
            facts.confirm(fact, ttl_seconds=left, value=login)
        return login


def ensure_repository(ecr: Any, name: str, tags: dict[str, str], facts: ConfirmedFacts, region: str) -> None:
    """The repository exists (made with its lifecycle rule when it did not); once per process."""
    fact = ("ecr-repository", region, name)
    if facts.fresh(fact):
        return
    made = call_create("CreateRepository", lambda: ecr.create_repository(
        repositoryName=name, imageTagMutability="MUTABLE",
        tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())]))
    if made:
        call("PutLifecyclePolicy", lambda: ecr.put_lifecycle_policy(
            repositoryName=name, lifecyclePolicyText=LIFECYCLE_POLICY))
    facts.confirm(fact)


def forget_repository(facts: ConfirmedFacts, region: str, name: str) -> None:
    facts.confirm(("ecr-repository", region, name), ttl_seconds=0)


def release_tag(ecr: Any, name: str, tag: str) -> bool:
    """Delete `tag`; then the repository, when no tag is left in it. True when the repository went."""
    try:
        call("BatchDeleteImage", lambda: ecr.batch_delete_image(repositoryName=name, imageIds=[{"imageTag": tag}]))
        left = call("ListImages", lambda: ecr.list_images(repositoryName=name, filter={"tagStatus": "TAGGED"},
                                                         maxResults=1))
    except AwsError as e:
        if e.kind is ErrorKind.NOT_FOUND or e.code == "RepositoryNotFoundException":
            return True
        raise
    if left.get("imageIds"):
        return False
    # force: the untagged images left (what objects ran before) go with it.
    return call_idempotent("DeleteRepository", lambda: ecr.delete_repository(repositoryName=name, force=True))
