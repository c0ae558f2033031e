"""AWS Batch managed compute environments.

AWS's rules shape this client: a compute environment is CREATING or UPDATING for a while and no
write may happen meanwhile; its type cannot change in place; and it can be deleted only once it
is DISABLED and no job queue uses it any more (the reconciler deletes the queue first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scar_operator.aws.batch_lifecycle import disable_then_delete, not_ours_or_settling
from scar_operator.aws.errors import AwsError, ErrorKind, call, call_idempotent
from scar_operator.aws.service_linked_role import BatchServiceLinkedRole
from scar_operator.batchjob.desired import ComputePlan
from scar_operator.function.desired import Account
from scar_operator.naming import Owner
from scar_operator.reconciler import Observation


@dataclass
class ComputeEnvironment:
    batch: Any
    plan: ComputePlan
    account: Account
    owner: Owner
    # Read when creating: the service-linked role is observed (or made) earlier in the same pass.
    service_role: BatchServiceLinkedRole | None = None

    @property
    def describe(self) -> str:
        return f"Batch compute environment {self.plan.name}"

    def _get(self) -> dict[str, Any] | None:
        found = call("DescribeComputeEnvironments",
                     lambda: self.batch.describe_compute_environments(computeEnvironments=[self.plan.name]))
        return next((e for e in found.get("computeEnvironments", []) if e.get("status") != "DELETED"), None)

    def observe(self) -> Observation:
        found = self._get()
        if found is None:
            return Observation(exists=False)
        early = not_ours_or_settling(found, self.owner, "compute environment")
        if early is not None:
            return early
        actual_type = (found.get("computeResources") or {}).get("type")
        # A plan without a type is a teardown by name: whatever the type, it goes.
        if self.plan.type and actual_type and actual_type != self.plan.type:
            raise AwsError(
                ErrorKind.TERMINAL, "ImmutableField",
                f"spec.compute.type: AWS Batch cannot change a compute environment from {actual_type} to "
                f"{self.plan.type} in place; delete this object and create it again with the new type",
                "UpdateComputeEnvironment")
        drift = self._drift(found)
        # INVALID (a subnet of another VPC, a role AWS cannot use): AWS takes an update that mends it,
        # so a changed spec is applied; with nothing to change, only the user can help.
        if found.get("status") == "INVALID" and self.plan.type and not drift:
            reason = f"{self.describe} is INVALID: {found.get('statusReason', '')}"
            raise AwsError(ErrorKind.TERMINAL, "ComputeEnvironmentInvalid", reason, "DescribeComputeEnvironments")
        return Observation(exists=True, in_sync=not drift)

    def _drift(self, found: dict[str, Any]) -> list[str]:
        actual = found.get("computeResources") or {}
        wanted = self.plan.compute_resources(self.account)
        drift = [] if found.get("state") == "ENABLED" else ["state"]
        for key in ("maxvCpus", "subnets", "securityGroupIds", "instanceTypes"):
            if key not in wanted:
                continue
            have, want = actual.get(key), wanted[key]
            if isinstance(want, list):
                have, want = sorted(have or []), sorted(want)
            if have != want:
                drift.append(key)
        return drift

    def create(self) -> str | None:
        call_idempotent("CreateComputeEnvironment", lambda: self.batch.create_compute_environment(
            computeEnvironmentName=self.plan.name,
            type="MANAGED",
            state="ENABLED",
            computeResources=self.plan.compute_resources(self.account),
            **({"serviceRole": self.service_role.arn} if self.service_role and self.service_role.arn else {}),
            tags=self.owner.tags(),
        ))
        return "waiting for the compute environment to become VALID"

    def update(self) -> str | None:
        wanted = self.plan.compute_resources(self.account)
        # What UpdateComputeEnvironment accepts in place (the type and the instance role are fixed).
        updatable = {k: wanted[k] for k in ("maxvCpus", "subnets", "securityGroupIds", "instanceTypes") if k in wanted}
        call("UpdateComputeEnvironment", lambda: self.batch.update_compute_environment(
            computeEnvironment=self.plan.name, state="ENABLED", computeResources=updatable))
        return "compute environment update in progress"

    def delete(self) -> str | None:
        name = self.plan.name
        return disable_then_delete(
            self._get(), "compute environment",
            disable=lambda: call("UpdateComputeEnvironment", lambda: self.batch.update_compute_environment(
                computeEnvironment=name, state="DISABLED")),
            delete=lambda: call_idempotent("DeleteComputeEnvironment", lambda: self.batch.delete_compute_environment(
                computeEnvironment=name)))
