"""Deterministic AWS names and owner tags.

Every name is a pure function of the owning object's identity, so a restart, a lost status or a
retried create finds the resource it made before instead of making a second one; and every
resource carries owner tags, so teardown and adoption never touch what another object owns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

OWNER_TAG = "scar.dev/owner"
MANAGED_BY_TAG = "scar.dev/managed-by"
MANAGED_BY = "scar-operator"


def short_hash(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def _clean(text: str, allowed: str = r"[^A-Za-z0-9-]") -> str:
    return re.sub(allowed, "-", text).strip("-")


@dataclass(frozen=True)
class Owner:
    """The identity of the Kubernetes object that owns a set of AWS resources."""

    kind: str
    namespace: str
    name: str
    # Set per operator installation (SCAR_CLUSTER_ID) so two clusters sharing an account never
    # derive the same names for their objects of the same namespace and name.
    cluster: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    @property
    def hash(self) -> str:
        return short_hash(self.cluster, self.kind, self.namespace, self.name)

    def tags(self) -> dict[str, str]:
        tags = {OWNER_TAG: self.key, MANAGED_BY_TAG: MANAGED_BY}
        if self.cluster:
            tags["scar.dev/cluster"] = self.cluster
        return tags

    def owns(self, tags: dict[str, str] | None) -> bool:
        return bool(tags) and tags is not None and tags.get(OWNER_TAG) == self.key

    def readable(self, budget: int) -> str:
        """`namespace-name`, cut to fit `budget` characters, followed by the owner's hash."""
        stem = _clean(f"{self.namespace}-{self.name}")[: max(budget - len(self.hash) - 1, 1)].strip("-")
        return f"{stem}-{self.hash}"


def function_name(owner: Owner) -> str:
    return owner.readable(64)


def role_name(owner: Owner) -> str:
    return "scar-" + owner.readable(64 - len("scar-"))


def log_group_name(function: str) -> str:
    # Lambda writes to exactly this group; creating it ourselves is what lets us set retention.
    return f"/aws/lambda/{function}"


def notification_id_prefix(owner: Owner) -> str:
    """Every notification entry this owner writes starts so; nothing else on the bucket does."""
    return f"scar-{owner.hash}-"


def notification_id(owner: Owner, bucket: str, prefix: str, suffix: str) -> str:
    return notification_id_prefix(owner) + short_hash(bucket, prefix, suffix)


def permission_statement_id(bucket: str) -> str:
    """One invoke permission per source bucket: `s3-<bucket>-<hash>` (ids allow no dots)."""
    return f"s3-{_clean(bucket)[:80]}-{short_hash(bucket, length=6)}"


# ScarBatchJob: one name per resource it owns, all from the owner's identity.


def batch_name(owner: Owner, budget: int = 128) -> str:
    """Compute environment, job queue and job definition names (letters, digits, '-', '_')."""
    return "scar-" + owner.readable(budget - len("scar-"))


def dispatcher_name(owner: Owner) -> str:
    return owner.readable(64 - len("-dispatch")) + "-dispatch"


def batch_role_name(owner: Owner, purpose: str) -> str:
    """`purpose` is a short word: job, exec, dispatch, instance."""
    return "scar-" + owner.readable(64 - len("scar-") - len(purpose) - 1) + "-" + purpose


def batch_log_group_name(owner: Owner) -> str:
    return f"/aws/batch/scar/{owner.readable(200)}"
