"""The resource-policy statement that lets S3 invoke a function, scoped to one bucket and account."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scar_operator.aws.errors import call_idempotent, call_or_none
from scar_operator.reconciler import Observation


@dataclass
class S3InvokePermission:
    lambda_: Any
    function_name: str
    statement_id: str
    bucket_arn: str
    account_id: str

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
        statement = self._statement()
        if statement is None:
            return Observation(exists=False)
        condition = statement.get("Condition", {})
        in_sync = (
            condition.get("ArnLike", {}).get("AWS:SourceArn") == self.bucket_arn
            and condition.get("StringEquals", {}).get("AWS:SourceAccount") == self.account_id
        )
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
        call_idempotent(
            "RemovePermission",
            lambda: self.lambda_.remove_permission(FunctionName=self.function_name, StatementId=self.statement_id),
        )
        return None


