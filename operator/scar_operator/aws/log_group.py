"""CloudWatch Logs groups, created ahead of Lambda so that retention applies from the first line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scar_operator.aws.errors import call, call_idempotent
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Observation


@dataclass
class LogGroup:
    logs: Any
    name: str
    retention_days: int
    owner: Owner

    @property
    def describe(self) -> str:
        return f"log group {self.name}"

    def _find(self) -> dict[str, Any] | None:
        pages = call(
            "DescribeLogGroups", lambda: self.logs.describe_log_groups(logGroupNamePrefix=self.name, limit=5)
        )
        return next((g for g in pages.get("logGroups", []) if g["logGroupName"] == self.name), None)

    def observe(self) -> Observation:
        group = self._find()
        if group is None:
            return Observation(exists=False)
        arn = group["arn"].removesuffix(":*")
        tags = call("ListTagsForResource", lambda: self.logs.list_tags_for_resource(resourceArn=arn)).get("tags", {})
        # Lambda itself creates this group on the first invocation, untagged: adopt that one.
        owner = tags.get(OWNER_TAG)
        if owner is not None and owner != self.owner.key:
            return Observation(exists=True, foreign_owner=owner)
        in_sync = group.get("retentionInDays") == self.retention_days and owner == self.owner.key
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        call_idempotent(
            "CreateLogGroup", lambda: self.logs.create_log_group(logGroupName=self.name, tags=self.owner.tags())
        )
        return self.update()

    def update(self) -> str | None:
        call(
            "PutRetentionPolicy",
            lambda: self.logs.put_retention_policy(logGroupName=self.name, retentionInDays=self.retention_days),
        )
        group = self._find()
        if group is not None:
            arn = group["arn"].removesuffix(":*")
            call("TagResource", lambda: self.logs.tag_resource(resourceArn=arn, tags=self.owner.tags()))
        return None

    def delete(self) -> str | None:
        call_idempotent("DeleteLogGroup", lambda: self.logs.delete_log_group(logGroupName=self.name))
        return None
