"""An object's assembled image in its managed ECR repository, named by the object's own tag.

Observed through the registry API (one HEAD of the tag: which manifest it names); made by pushing
what the repository lacks and naming the manifest with the tag; deleted by deleting the tag (and
the repository with the last one). A registry's refusal arrives as an AwsError like AWS's own, so
the pass reports it the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from scar_operator.aws import ecr_repository
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.aws.rate_limits import RateLimiter
from scar_operator.images.assembly import AssembledImage, push
from scar_operator.images.registry import RegistryError, Repository
from scar_operator.reconciler import Observation


@contextlib.contextmanager
def registry_errors(operation: str) -> Iterator[None]:
    try:
        yield
    except RegistryError as e:
        kind = ErrorKind.THROTTLED if e.transient else ErrorKind.NOT_FOUND if e.status == 404 else ErrorKind.TERMINAL
        raise AwsError(kind, f"Registry{e.status or ''}", str(e), operation) from None


class ManagedImage:
    def __init__(self, ecr: Any, login: Callable[[], ecr_repository.RegistryLogin], account: str, region: str,
                 repository: str, tag: str, *, image: AssembledImage | None = None, source: Repository | None = None,
                 tags: dict[str, str] | None = None, facts: ConfirmedFacts | None = None,
                 limiter: RateLimiter | None = None, slow_drift_seconds: float = 1200.0) -> None:
        self.ecr = ecr
        self.login = login
        self.account = account
        self.region = region
        self.repository = repository
        self.tag = tag
        self.image = image
        self.source = source
        self.tags = tags or {}
        self.facts = facts or ConfirmedFacts()
        self.limiter = limiter
        self.slow_drift_seconds = slow_drift_seconds

    @property
    def describe(self) -> str:
        # With the digest: what a retry finds confirmed is this image, not the tag's earlier one.
        digest = f" ({self.image.digest[:19]}...)" if self.image is not None else ""
        return f"ECR image {self.repository}:{self.tag}{digest}"

    def _target(self) -> Repository:
        login = self.login()
        return Repository(login.host, self.repository, login.credentials, scheme=login.scheme)

    def _fact(self) -> tuple[str, ...]:
        return ("ecr-image", self.account, self.region, self.repository, self.tag)

    def observe(self) -> Observation:
        wanted = self.image.digest if self.image is not None else None
        if wanted is not None and self.facts.fresh(self._fact(), version=wanted):
            return Observation(exists=True, in_sync=True)
        with registry_errors("HEAD manifest"):
            named = self._target().manifest_digest(self.tag)
        if named is not None and named == wanted:
            self.facts.confirm(self._fact(), ttl_seconds=self.slow_drift_seconds, version=wanted)
        return Observation(exists=named is not None, in_sync=named == wanted)

    def observe_owner(self) -> Observation:
        # The tag is this object's alone by its name; deleting a tag that is gone changes nothing.
        return Observation(exists=True)

    def create(self) -> str | None:
        if self.image is None or self.source is None:
            raise AssertionError("an image to push is needed to make one")
        with ecr_repository.repository_turn(self.account, self.region, self.repository):
            ecr_repository.ensure_repository(self.ecr, self.repository, self.tags, self.facts, self.region)
            if self.limiter is not None:
                self.limiter.take(self.region, "ecr", "PutImage")
            target = self._target()
            try:
                with registry_errors("push image"), self.source.session(), target.session():
                    push(self.source, target, self.image, self.tag)
            except AwsError as e:
                if e.kind is ErrorKind.NOT_FOUND:
                    # The repository went (by hand, or another operator's teardown): make it again next time.
                    ecr_repository.forget_repository(self.facts, self.region, self.repository)
                    raise AwsError(ErrorKind.RETRY, e.code, e.message, e.operation) from None
                raise
        self.facts.confirm(self._fact(), ttl_seconds=self.slow_drift_seconds, version=self.image.digest)
        return None

    def update(self) -> str | None:
        return self.create()

    def delete(self) -> str | None:
        with ecr_repository.repository_turn(self.account, self.region, self.repository):
            if ecr_repository.release_tag(self.ecr, self.repository, self.tag):
                ecr_repository.forget_repository(self.facts, self.region, self.repository)
        self.facts.confirm(self._fact(), ttl_seconds=0)
        return None
