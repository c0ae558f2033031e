"""IAM roles the operator creates and owns: a trust policy and one inline policy, nothing else."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, call, call_create, call_idempotent, call_or_none
from scar_operator.function.desired import ROLE_PATH, canonical
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Made, Observation


def _document(value: Any) -> Any:
    # boto3 decodes policy documents into dicts; some endpoints hand back URL-encoded JSON text.
    return json.loads(unquote(value)) if isinstance(value, str) else value


@dataclass
class IamRole:
    iam: Any
    name: str
    trust_policy: dict[str, Any]
    policy_name: str
    policy: dict[str, Any]
    owner: Owner
    description: str = ""
    # A role found (or made) as wanted is not read again until this says so (slow drift).
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0
    # The ScarAccount's permissions boundary: what the role may do at most, whatever its policy says.
    permissions_boundary: str | None = None
    _seen_boundary: str | None = field(default=None, init=False, repr=False)

    @property
    def _as_wanted(self) -> tuple[str, str, str, str]:
        # The policies by their digest: the fact is kept for every role until its next slow-drift
        # read, and two policy documents are kilobytes each.
        policies = hashlib.sha256(f"{canonical(self.trust_policy)}\n{canonical(self.policy)}".encode()).hexdigest()
        return ("iam-role-as-wanted", self.name, policies, self.permissions_boundary or "")

    @property
    def _owned(self) -> tuple[str, str, str]:
        return ("iam-role-owner", self.name, self.owner.key)

    @property
    def describe(self) -> str:
        return f"IAM role {self.name}"

    def observe_owner(self) -> Observation:
        """All a teardown needs: whether it is there and ours. Our owner tag, read or written
        within the facts' time to live, is not read again (a role is never re-tagged by us)."""
        if self.facts.fresh(self._owned):
            return Observation(exists=True)
        found = call_or_none("GetRole", lambda: self.iam.get_role(RoleName=self.name))
        if found is None:
            return Observation(exists=False)
        return self._ownership(found["Role"])

    def _ownership(self, role: dict[str, Any]) -> Observation:
        tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if tags.get(OWNER_TAG) != self.owner.key:
            return Observation(exists=True, foreign_owner=tags.get(OWNER_TAG, "no scar-operator owner tag"))
        self.facts.confirm(self._owned)
        return Observation(exists=True)

    def observe(self) -> Observation:
        if self.facts.fresh(self._as_wanted):
            return Observation(exists=True, in_sync=True)
        found = call_or_none("GetRole", lambda: self.iam.get_role(RoleName=self.name))
        if found is None:
            return Observation(exists=False)
        role = found["Role"]
        owned = self._ownership(role)
        if owned.foreign_owner is not None:
            return owned
        inline = call_or_none(
            "GetRolePolicy", lambda: self.iam.get_role_policy(RoleName=self.name, PolicyName=self.policy_name)
        )
        in_sync = (
            inline is not None
            and canonical(_document(inline["PolicyDocument"])) == canonical(self.policy)
            and canonical(_document(role["AssumeRolePolicyDocument"])) == canonical(self.trust_policy)
            and self._boundary_of(role) == self.permissions_boundary
        )
        self._seen_boundary = self._boundary_of(role)
        if in_sync:
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        if call_idempotent("CreateRole", self._create_role):
            self.facts.confirm(self._owned)  # made with our tags just now
        self._put_policy()
        return None

    def create_if_absent(self) -> Made | None:
        # A role several objects share (a compute pool's instance role) is made by the first of
        # them; those that waited for their turn find it confirmed and make no call.
        with self.facts.turn(self._as_wanted):
            if self.facts.fresh(self._as_wanted) or not call_create("CreateRole", self._create_role):
                return None
            self._put_policy()
            # Made whole by these two calls (trust policy, boundary, tags, inline policy): as wanted.
            self.facts.confirm(self._owned)
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return Made()

    def _create_role(self) -> Any:
        return self.iam.create_role(
            RoleName=self.name,
            Path=ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(self.trust_policy),
            Description=self.description[:1000],
            Tags=[{"Key": k, "Value": v} for k, v in self.owner.tags().items()],
            **({"PermissionsBoundary": self.permissions_boundary} if self.permissions_boundary else {}),
        )

    @staticmethod
    def _boundary_of(role: dict[str, Any]) -> str | None:
        boundary = role.get("PermissionsBoundary") or {}
        return str(boundary["PermissionsBoundaryArn"]) if boundary.get("PermissionsBoundaryArn") else None

    def _set_boundary(self) -> None:
        if self.permissions_boundary:
            call("PutRolePermissionsBoundary", lambda: self.iam.put_role_permissions_boundary(
                RoleName=self.name, PermissionsBoundary=self.permissions_boundary))
        else:
            call_idempotent("DeleteRolePermissionsBoundary",
                            lambda: self.iam.delete_role_permissions_boundary(RoleName=self.name))

    def update(self) -> str | None:
        call(
            "UpdateAssumeRolePolicy",
            lambda: self.iam.update_assume_role_policy(
                RoleName=self.name, PolicyDocument=json.dumps(self.trust_policy)
            ),
        )
        if self._seen_boundary != self.permissions_boundary:
            self._set_boundary()
        self._put_policy()
        return None

    def _put_policy(self) -> None:
        call(
            "PutRolePolicy",
            lambda: self.iam.put_role_policy(
                RoleName=self.name, PolicyName=self.policy_name, PolicyDocument=json.dumps(self.policy)
            ),
        )

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        self.facts.forget(self._owned)
        # IAM refuses to delete a role that still has policies. Ours is the one inline policy we
        # put; only when IAM says something else is still there (added by hand) are the role's
        # policies listed: IAM's 10 requests a second are the scarcest rate of a bulk delete.
        self._delete_inline(self.policy_name)
        try:
            call_idempotent("DeleteRole", lambda: self.iam.delete_role(RoleName=self.name))
        except AwsError as e:
            if e.code != "DeleteConflict":
                raise
            self._remove_every_policy()
            call_idempotent("DeleteRole", lambda: self.iam.delete_role(RoleName=self.name))
        return None

    def _remove_every_policy(self) -> None:
        names = call_or_none("ListRolePolicies", lambda: self.iam.list_role_policies(RoleName=self.name))
        for policy_name in (names or {}).get("PolicyNames", []):
            self._delete_inline(str(policy_name))
        attached = call_or_none(
            "ListAttachedRolePolicies", lambda: self.iam.list_attached_role_policies(RoleName=self.name)
        )
        for policy in (attached or {}).get("AttachedPolicies", []):
            self._detach(str(policy["PolicyArn"]))

    def _delete_inline(self, policy_name: str) -> None:
        call_idempotent(
            "DeleteRolePolicy", lambda: self.iam.delete_role_policy(RoleName=self.name, PolicyName=policy_name)
        )

    def _detach(self, policy_arn: str) -> None:
        call_idempotent(
            "DetachRolePolicy", lambda: self.iam.detach_role_policy(RoleName=self.name, PolicyArn=policy_arn)
        )
