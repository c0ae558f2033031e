"""The Kubernetes Events a pass posts on its object, for `kubectl describe` and GitOps tools.

One Normal event per change the pass made in AWS ("Created Lambda function ..."), and a Warning
when the object turns Stalled or stops being Synced, or does so for a new reason. Waiting while
AWS settles is progress, shown in the Ready condition, not an event; and the periodic re-check of
an object that stays broken does not repeat its warning every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scar_operator import conditions
from scar_operator.outcome import PassResult

# The reason of an AWS change's event is its verb: Created, Updated, Deleted.
_VERBS = ("created", "updated", "deleted")


@dataclass(frozen=True)
class ObjectEvent:
    type: str  # Normal or Warning
    reason: str
    message: str


def events_of(result: PassResult, previous: Sequence[Mapping[str, Any]] | None) -> list[ObjectEvent]:
    """What to post for `result`, given the object's conditions before the pass."""
    events = []
    for change in result.changes:
        verb = change.split(" ", 1)[0]
        reason = verb.capitalize() if verb in _VERBS else "Changed"
        events.append(ObjectEvent("Normal", reason, change[:1].upper() + change[1:]))
    before = {str(c.get("type")): c for c in previous or []}
    for update in result.conditions:
        went_bad = (update.type == conditions.STALLED and update.status) or (
            update.type == conditions.SYNCED and not update.status)
        if not went_bad:
            continue
        old = before.get(update.type, {})
        same = (old.get("status") == ("True" if update.status else "False")
                and old.get("reason") == update.reason and old.get("message") == update.message[:1024])
        if not same:
            events.append(ObjectEvent("Warning", update.reason, update.message))
            break  # Stalled implies not Synced: one warning says it
    return events
