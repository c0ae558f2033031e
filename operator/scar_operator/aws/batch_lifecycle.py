"""What AWS Batch compute environments and job queues have in common: both settle for a while
after every write, and both are deleted in two steps (disable, then delete) that AWS enforces."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Observation

SETTLING = {"CREATING", "UPDATING", "DELETING"}


def not_ours_or_settling(found: Mapping[str, Any], owner: Owner, noun: str) -> Observation | None:
    """The observation that ends the look early: another owner's resource, or one that is still settling."""
    tagged = (found.get("tags") or {}).get(OWNER_TAG)
    if tagged != owner.key:
        return Observation(exists=True, foreign_owner=tagged or "no scar-operator owner tag")
    if found.get("status") in SETTLING:
        return Observation(exists=True, settling=f"{noun} is {found['status']}")
    return None


def disable_then_delete(found: Mapping[str, Any] | None, noun: str, *, disable: Callable[[], object],
                        delete: Callable[[], object]) -> str | None:
    """One step of the two-step delete; None once it is gone, else what it is waiting on.

    `disable` and `delete` make their AWS call through aws/errors.py's helpers themselves, with the
    operation named where the call is (the IAM policy test reads the names from there)."""
    if found is None:
        return None
    if found.get("state") != "DISABLED":
        disable()
        return f"disabling the {noun} before deleting it"
    delete()
    return f"{noun} is being deleted"
