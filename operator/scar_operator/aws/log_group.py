"""CloudWatch Logs groups, created ahead of Lambda so that retention applies from the first line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call, call_create, call_idempotent
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Made, Observation


@dataclass
class LogGroup:
    logs: Any
    name: str
    retention_days: int
    owner: Owner
    # Our owner tag, once read or written, is not read again on every pass (tags rarely drift).
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    # A group found as wanted (retention, our tag) is not read again until this says so (slow drift).
    slow_drift_seconds: float = 0.0
    # The group's ARN as the last observe found it (tagging needs it).
    _arn: str | None = field(default=None, init=False, repr=False)

    @property
    def _as_wanted(self) -> tuple[str, str, int, str]:
        return ("log-group-as-wanted", self.name, self.retention_days, self.owner.key)

    @property
    def _tagged(self) -> tuple[str, str, str]:
        return ("log-group-owner", self.name, self.owner.key)

    @property
    def describe(self) -> str:
        return f"log group {self.name}"

    def _find(self) -> dict[str, Any] | None:
        pages = call(
            "DescribeLogGroups", lambda: self.logs.describe_log_groups(logGroupNamePrefix=self.name, limit=5)
        )
        return next((g for g in pages.get("logGroups", []) if g["logGroupName"] == self.name), None)

    def observe_owner(self) -> Observation:
        """All a teardown needs: whether it is there and not another owner's. Our owner tag,
        read or written within the facts' time to live, is not read again; the delete that
        follows is idempotent, so a group already gone costs nothing more."""
        if self.facts.fresh(self._tagged):
            return Observation(exists=True)
        return self.observe()

    def observe(self) -> Observation:
        if self.facts.fresh(self._as_wanted):
            return Observation(exists=True, in_sync=True)
        group = self._find()
        if group is None:
            return Observation(exists=False)
        if self.facts.fresh(self._tagged):
            owner: str | None = self.owner.key
        else:
            arn = group["arn"].removesuffix(":*")
            tags = call("ListTagsForResource",
                        lambda: self.logs.list_tags_for_resource(resourceArn=arn)).get("tags", {})
            # Lambda itself creates this group on the first invocation, untagged: adopt that one.
            owner = tags.get(OWNER_TAG)
            if owner is not None and owner != self.owner.key:
                return Observation(exists=True, foreign_owner=owner)
            if owner == self.owner.key:
                self.facts.confirm(self._tagged)
        self._arn = group["arn"].removesuffix(":*")
        in_sync = group.get("retentionInDays") == self.retention_days and owner == self.owner.key
        if in_sync:
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return Observation(exists=True, in_sync=in_sync)

    def create_if_absent(self) -> Made | None:
        if not call_create("CreateLogGroup", self._create_group):
            return None  # Lambda may have made it, untagged: observe adopts that one
        self._put_retention()
        # Made whole by these two calls (tags, retention): as wanted.
        self.facts.confirm(self._tagged)
        self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return Made()

    def _create_group(self) -> Any:
        return self.logs.create_log_group(logGroupName=self.name, tags=self.owner.tags())

    def create(self) -> str | None:
        created = call_idempotent("CreateLogGroup", self._create_group)
        self._put_retention()
        if created:
            self.facts.confirm(self._tagged)  # made with our tags just now
        else:
            self.update()  # it was there already (Lambda makes it untagged): tag it
        return None

    def update(self) -> str | None:
        self._put_retention()
        arn = self._arn
        if arn is None:
            group = self._find()
            arn = group["arn"].removesuffix(":*") if group is not None else None
        if arn is not None:
            call("TagResource", lambda: self.logs.tag_resource(resourceArn=arn, tags=self.owner.tags()))
            self.facts.confirm(self._tagged)
        return None

    def _put_retention(self) -> None:
        call(
            "PutRetentionPolicy",
            lambda: self.logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days),
        )

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        self.facts.forget(self._tagged)
        call_idempotent("DeleteLogGroup", lambda: self.logs.delete_log_group(logGroupName=self.name))
        return None
