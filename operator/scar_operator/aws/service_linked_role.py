"""AWS Batch's service-linked role: made once per account, shared by everyone, never deleted.

AWS creates it on a first compute environment when no service role is given; creating it
explicitly (and passing its ARN) works the same on AWS and on emulators that insist on a role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scar_operator.aws.errors import call, call_idempotent
from scar_operator.reconciler import Observation

BATCH_SERVICE = "batch.amazonaws.com"


# The name AWS gives Batch's service-linked role in every account.
ROLE_NAME = "AWSServiceRoleForBatch"


def service_linked_role_arn(partition: str, account_id: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/{BATCH_SERVICE}/{ROLE_NAME}"


@dataclass
class BatchServiceLinkedRole:
    """The role; its ARN is known without reading it, so that what needs it (a compute
    environment) has it even when a retried pass skips this role as already confirmed."""

    iam: Any
    arn: str

    @property
    def describe(self) -> str:
        return "AWS Batch service-linked role"

    def _find(self) -> str | None:
        found = call("ListRoles", lambda: self.iam.list_roles(PathPrefix=f"/aws-service-role/{BATCH_SERVICE}/"))
        roles = found.get("Roles", [])
        return str(roles[0]["Arn"]) if roles else None

    def observe(self) -> Observation:
        return Observation(exists=self._find() is not None)

    def create(self) -> str | None:
        call_idempotent("CreateServiceLinkedRole",
                        lambda: self.iam.create_service_linked_role(AWSServiceName=BATCH_SERVICE))
        return None if self._find() else "waiting for the service-linked role to be listed"

    def update(self) -> str | None:
        return None

    def delete(self) -> str | None:
        return None  # other compute environments of the account depend on it
