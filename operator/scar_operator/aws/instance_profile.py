"""The EC2 instance profile that EC2 and SPOT compute environments launch their instances with."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call, call_idempotent, call_or_none
from scar_operator.function.desired import ROLE_PATH
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Observation


@dataclass
class InstanceProfile:
    iam: Any
    name: str
    role_name: str
    owner: Owner
    # A compute pool's profile is looked at by each member's pass: once found as wanted, it is not
    # read again until the slow-drift re-check.
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0

    @property
    def describe(self) -> str:
        return f"IAM instance profile {self.name}"

    @property
    def _as_wanted(self) -> tuple[Hashable, ...]:
        return ("instance-profile-as-wanted", self.name, self.role_name, self.owner.key)

    def _get(self) -> dict[str, Any] | None:
        found = call_or_none("GetInstanceProfile", lambda: self.iam.get_instance_profile(InstanceProfileName=self.name))
        return None if found is None else dict(found["InstanceProfile"])

    def observe(self) -> Observation:
        # Found as wanted by this member or another of the pool, until the slow-drift re-check.
        return self.facts.read_unless_fresh(self._as_wanted, self._observe_in_turn) or Observation(exists=True)

    def _observe_in_turn(self) -> Observation:
        profile = self._get()
        if profile is None:
            return Observation(exists=False)
        tags = {t["Key"]: t["Value"] for t in profile.get("Tags", [])}
        if tags.get(OWNER_TAG) != self.owner.key:
            return Observation(exists=True, foreign_owner=tags.get(OWNER_TAG, "no scar-operator owner tag"))
        roles = [r["RoleName"] for r in profile.get("Roles", [])]
        if roles == [self.role_name]:
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
            return Observation(exists=True)
        return Observation(exists=True, in_sync=False)

    def create(self) -> str | None:
        with self.facts.turn(self._as_wanted):
            call_idempotent("CreateInstanceProfile", lambda: self.iam.create_instance_profile(
                InstanceProfileName=self.name, Path=ROLE_PATH,
                Tags=[{"Key": k, "Value": v} for k, v in self.owner.tags().items()]))
            return self._update_in_turn()

    def update(self) -> str | None:
        with self.facts.turn(self._as_wanted):
            return self._update_in_turn()

    def _update_in_turn(self) -> str | None:
        """In turn: a profile holds one role, and the members of a compute pool that found it without
        one would each add it (the second refused by IAM's InstanceSessionsPerInstanceProfile quota)."""
        if self.facts.fresh(self._as_wanted):  # put in line by the member whose turn came before
            return None
        profile = self._get() or {}
        roles = [r["RoleName"] for r in profile.get("Roles", [])]
        for other in roles:
            if other != self.role_name:
                self._remove(other)
        if self.role_name not in roles:
            call("AddRoleToInstanceProfile", lambda: self.iam.add_role_to_instance_profile(
                InstanceProfileName=self.name, RoleName=self.role_name))
        self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return None

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        # IAM refuses to delete a profile that still holds a role.
        for role in (self._get() or {}).get("Roles", []):
            self._remove(str(role["RoleName"]))
        call_idempotent("DeleteInstanceProfile",
                        lambda: self.iam.delete_instance_profile(InstanceProfileName=self.name))
        return None

    def _remove(self, role: str) -> None:
        call_idempotent("RemoveRoleFromInstanceProfile", lambda: self.iam.remove_role_from_instance_profile(
            InstanceProfileName=self.name, RoleName=role))
