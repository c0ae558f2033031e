"""S3 buckets: created when missing, never deleted (the operator does not own data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, ErrorKind, call, call_or_none
from scar_operator.reconciler import Observation


@dataclass
class S3Bucket:
    s3: Any
    bucket: str
    region: str
    # Input buckets must be in the function's region: S3 only notifies functions there.
    must_be_in_region: bool = False
    # Shared by every object that names the bucket (AwsClients.facts): read once per time to live.
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))

    @property
    def _fact(self) -> tuple[str, str, str, bool]:
        return ("s3-bucket", self.region, self.bucket, self.must_be_in_region)

    @property
    def describe(self) -> str:
        return f"S3 bucket {self.bucket}"

    def observe(self) -> Observation:
        if self.facts.fresh(self._fact):
            return Observation(exists=True)
        with self.facts.turn(self._fact):
            return self._observe_in_turn()

    def _observe_in_turn(self) -> Observation:
        if self.facts.fresh(self._fact):  # read by the object whose turn came before
            return Observation(exists=True)
        found = call_or_none("HeadBucket", lambda: self.s3.head_bucket(Bucket=self.bucket))
        if found is None:
            return Observation(exists=False)
        if self.must_be_in_region:
            location = call("GetBucketLocation", lambda: self.s3.get_bucket_location(Bucket=self.bucket))
            region = location.get("LocationConstraint") or "us-east-1"
            if region != self.region:
                raise AwsError(
                    ErrorKind.TERMINAL,
                    "BucketInOtherRegion",
                    f"input bucket {self.bucket} is in {region}; S3 can only trigger a function in the same "
                    f"region ({self.region}): set spec.region or use a bucket in {self.region}",
                    "GetBucketLocation",
                )
        self.facts.confirm(self._fact)
        return Observation(exists=True)

    def create(self) -> str | None:
        with self.facts.turn(self._fact):
            if self.facts.fresh(self._fact):  # made by the object whose turn came before
                return None
            if self._create_in_turn():
                # Made here, in this region: what observe would confirm.
                self.facts.confirm(self._fact)
        return None

    def _create_in_turn(self) -> bool:
        """True when this call made it; False when it was ours already (in a region not known here)."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            call("CreateBucket", lambda: self.s3.create_bucket(**kwargs))
        except AwsError as e:
            if e.code == "BucketAlreadyExists":
                raise AwsError(
                    ErrorKind.TERMINAL, e.code, f"bucket {self.bucket} belongs to another AWS account", e.operation
                ) from e
            if e.code != "BucketAlreadyOwnedByYou":
                raise
            return False
        return True

    def update(self) -> str | None:
        return None

    def delete(self) -> str | None:
        # Never: buckets and their objects outlive every function that used them.
        return None
