"""The resource-policy statement that lets S3 invoke a function, scoped to one bucket and account."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call_idempotent, call_or_none
from scar_operator.aws.lambda_function import LambdaFunction
from scar_operator.reconciler import Observation


@dataclass
class S3InvokePermission:
    lambda_: Any
    function_name: str
    statement_id: str
    bucket_arn: str
    account_id: str
    # A statement found as wanted is not read again (GetPolicy has the smallest of Lambda's read
    # quotas, 15/s) until the slow-drift time has passed or the function's revision changed.
    function: LambdaFunction | None = None
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0

    @property
    def _as_wanted(self) -> tuple[str, ...]:
        return ("invoke-permission-as-wanted", self.function_name, self.statement_id, self.bucket_arn, self.account_id)

    @property
    def _function_revision(self) -> tuple[str, str] | None:
        return self.function.revision_seen if self.function is not None else None

    @property
    def describe(self) -> str:
        return f"invoke permission {self.statement_id} on {self.function_name}"

    def _statement(self) -> dict[str, Any] | None:
        policy = call_or_none("GetPolicy", lambda: self.lambda_.get_policy(FunctionName=self.function_name))
        if policy is None:
            return None
        statements = json.loads(policy["Policy"]).get("Statement", [])
        return next((s for s in statements if s.get("Sid") == self.statement_id), None)

    def observe(self) -> Observation:
        if self.function is not None and self.function.created_now:
            return Observation(exists=False)
        revision = self._function_revision
        if revision is not None and self.facts.fresh(self._as_wanted, version=revision):
            return Observation(exists=True, in_sync=True)
        statement = self._statement()
        if statement is None:
            return Observation(exists=False)
        condition = statement.get("Condition", {})
        in_sync = (
            condition.get("ArnLike", {}).get("AWS:SourceArn") == self.bucket_arn
            and condition.get("StringEquals", {}).get("AWS:SourceAccount") == self.account_id
        )
        if in_sync and revision is not None:
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds, version=revision)
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        call_idempotent(
            "AddPermission",
            lambda: self.lambda_.add_permission(
                FunctionName=self.function_name,
                StatementId=self.statement_id,
                Action="lambda:InvokeFunction",
                Principal="s3.amazonaws.com",
                SourceArn=self.bucket_arn,
                # Bucket names are global: without the account, a same-named bucket elsewhere could invoke.
                SourceAccount=self.account_id,
            ),
        )
        return None

    def update(self) -> str | None:
        self.delete()
        return self.create()

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        call_idempotent(
            "RemovePermission",
            lambda: self.lambda_.remove_permission(FunctionName=self.function_name, StatementId=self.statement_id),
        )
        return None


