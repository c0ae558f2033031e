"""AWS Batch managed compute environments (a compute pool's, batchjob/pool.py).

AWS's rules shape this client: a compute environment is CREATING or UPDATING for a while and no
write may happen meanwhile; its type cannot change in place; and it can be deleted only once it
is DISABLED and no job queue uses it any more (the reconciler deletes the queue first).

A pool's members all look at its environment: what one read found as wanted is remembered
(AwsClients.facts) with its maxvCpus, and the others take it from there until the slow-drift
re-check, instead of spending Batch's 10 control-plane calls a second on the same answer.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.batch_lifecycle import disable_then_delete, not_ours_or_settling
from scar_operator.aws.confirmed_facts import ConfirmedFacts
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
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0

    @property
    def _as_wanted(self) -> tuple[Hashable, ...]:
        """Found VALID, ENABLED and as planned but for maxvCpus, remembered with the maxvCpus found."""
        p = self.plan
        return ("batch-compute-as-wanted", p.name, self.owner.key, p.type, p.instance_types,
                p.network.subnets, p.network.security_group_ids)

    @property
    def describe(self) -> str:
        return f"Batch compute environment {self.plan.name}"

    def _get(self) -> dict[str, Any] | None:
        found = call("DescribeComputeEnvironments",
                     lambda: self.batch.describe_compute_environments(computeEnvironments=[self.plan.name]))
        return next((e for e in found.get("computeEnvironments", []) if e.get("status") != "DELETED"), None)

    def observe(self) -> Observation:
        known = self.facts.value(self._as_wanted)
        if known is not None and self.plan.vcpus_fit(known):
            return Observation(exists=True)
        with self.facts.turn(self._as_wanted):
            # The members that waited for their turn find what the first one read.
            known = self.facts.value(self._as_wanted)
            if known is not None and self.plan.vcpus_fit(known):
                return Observation(exists=True)
            return self._observe_in_turn()

    def _observe_in_turn(self) -> Observation:
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
                f"{self.describe} is {actual_type}, not {self.plan.type}, and AWS Batch cannot change a "
                f"compute environment's type in place; delete it to let the operator make it again",
                "UpdateComputeEnvironment")
        drift = self._drift(found)
        # INVALID (a subnet of another VPC, a role AWS cannot use): AWS takes an update that mends it,
        # so a changed spec is applied; with nothing to change, only the user can help.
        if found.get("status") == "INVALID" and self.plan.type and not drift:
            reason = f"{self.describe} is INVALID: {found.get('statusReason', '')}"
            raise AwsError(ErrorKind.TERMINAL, "ComputeEnvironmentInvalid", reason, "DescribeComputeEnvironments")
        if not drift and found.get("status") == "VALID":
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds,
                               value=(found.get("computeResources") or {}).get("maxvCpus"))
        return Observation(exists=True, in_sync=not drift)

    def _drift(self, found: dict[str, Any]) -> list[str]:
        actual = found.get("computeResources") or {}
        wanted = self.plan.compute_resources(self.account)
        drift = [] if found.get("state") == "ENABLED" else ["state"]
        if not self.plan.vcpus_fit(actual.get("maxvCpus")):
            drift.append("maxvCpus")
        for key in ("subnets", "securityGroupIds", "instanceTypes"):
            if key not in wanted:
                continue
            have, want = actual.get(key), wanted[key]
            if isinstance(want, list):
                have, want = sorted(have or []), sorted(want)
            if have != want:
                drift.append(key)
        return drift

    def create(self) -> str | None:
        with self.facts.turn(self._as_wanted):
            # The members of a pool that found it absent at once: the first makes it, the others
            # find it made (a second create would be refused, and not as "already exists" by all).
            if self._get() is None:
                self._create_in_turn()
        return "waiting for the compute environment to become VALID"

    def _create_in_turn(self) -> None:
        call_idempotent("CreateComputeEnvironment", lambda: self.batch.create_compute_environment(
            computeEnvironmentName=self.plan.name,
            type="MANAGED",
            state="ENABLED",
            computeResources=self.plan.compute_resources(self.account),
            **({"serviceRole": self.service_role.arn} if self.service_role and self.service_role.arn else {}),
            tags=self.owner.tags(),
        ))

    def update(self) -> str | None:
        with self.facts.turn(self._as_wanted):
            # Another member of the pool may have resized it since this one looked: look again in
            # turn, so that two members never send two updates (AWS refuses one while UPDATING).
            seen = self._observe_in_turn()
            if seen.settling is not None:
                return seen.settling
            if seen.in_sync:
                return None
            wanted = self.plan.compute_resources(self.account)
            # What UpdateComputeEnvironment accepts in place (the type and the instance role are fixed).
            updatable = {k: wanted[k] for k in ("maxvCpus", "subnets", "securityGroupIds", "instanceTypes")
                         if k in wanted}
            self.facts.forget(self._as_wanted)
            call("UpdateComputeEnvironment", lambda: self.batch.update_compute_environment(
                computeEnvironment=self.plan.name, state="ENABLED", computeResources=updatable))
        return "compute environment update in progress"

    def delete(self) -> str | None:
        name = self.plan.name
        self.facts.forget(self._as_wanted)
        return disable_then_delete(
            self._get(), "compute environment",
            disable=lambda: call("UpdateComputeEnvironment", lambda: self.batch.update_compute_environment(
                computeEnvironment=name, state="DISABLED")),
            delete=lambda: call_idempotent("DeleteComputeEnvironment", lambda: self.batch.delete_compute_environment(
                computeEnvironment=name)))
