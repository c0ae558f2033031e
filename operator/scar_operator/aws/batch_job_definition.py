"""AWS Batch job definitions: immutable revisions.

A change registers a new revision and deregisters the others, so exactly one ACTIVE revision
carries this object's content. AWS fills defaults into what it describes, so a revision is
compared by the fingerprint tag written with it, not field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scar_operator.aws.errors import call, call_idempotent
from scar_operator.batchjob.desired import JobDefinitionPlan
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Observation

FINGERPRINT_TAG = "scar.dev/fingerprint"


@dataclass
class JobDefinition:
    batch: Any
    plan: JobDefinitionPlan
    owner: Owner

    @property
    def describe(self) -> str:
        return f"Batch job definition {self.plan.name}"

    def active_revisions(self) -> list[dict[str, Any]]:
        pages = self.batch.get_paginator("describe_job_definitions")
        revisions: list[dict[str, Any]] = call("DescribeJobDefinitions", lambda: [
            d for page in pages.paginate(jobDefinitionName=self.plan.name, status="ACTIVE")
            for d in page.get("jobDefinitions", [])])
        return sorted(revisions, key=lambda r: int(r["revision"]))

    def observe(self) -> Observation:
        revisions = self.active_revisions()
        if not revisions:
            return Observation(exists=False)
        foreign = [r for r in revisions if (r.get("tags") or {}).get(OWNER_TAG) != self.owner.key]
        if foreign:
            owner = (foreign[0].get("tags") or {}).get(OWNER_TAG)
            return Observation(exists=True, foreign_owner=owner or "no scar-operator owner tag")
        in_sync = len(revisions) == 1 and bool(self._current(revisions))
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        call("RegisterJobDefinition", lambda: self.batch.register_job_definition(
            jobDefinitionName=self.plan.name, tags={**self.owner.tags(), FINGERPRINT_TAG: self.plan.fingerprint},
            **self.plan.properties))
        return None

    def update(self) -> str | None:
        revisions = self.active_revisions()
        if not self._current(revisions):
            self.create()
            revisions = self.active_revisions()
        current = self._current(revisions)
        if not current:
            return "waiting for the new revision to be listed"
        keep = current[-1]["jobDefinitionArn"]
        for revision in revisions:
            if revision["jobDefinitionArn"] != keep:
                self._deregister(revision["jobDefinitionArn"])
        return None

    def current_revision(self) -> dict[str, Any] | None:
        """The ACTIVE revision that carries this plan's content, if any."""
        current = self._current(self.active_revisions())
        return current[-1] if current else None

    def _current(self, revisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in revisions if (r.get("tags") or {}).get(FINGERPRINT_TAG) == self.plan.fingerprint]

    def delete(self) -> str | None:
        for revision in self.active_revisions():
            self._deregister(revision["jobDefinitionArn"])
        return None

    def _deregister(self, arn: str) -> None:
        call_idempotent("DeregisterJobDefinition", lambda: self.batch.deregister_job_definition(jobDefinition=arn))
