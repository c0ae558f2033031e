"""Status conditions as Kubernetes, kstatus, Argo CD and Flux read them.

`Ready` says the whole thing works; `Synced` says the last reconcile succeeded; `Stalled` says it
cannot progress without a spec (or permission) change. A condition's lastTransitionTime moves
only when its status flips, so repeated passes do not churn the object.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READY = "Ready"
SYNCED = "Synced"
STALLED = "Stalled"


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: bool
    reason: str
    message: str = ""


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(
    current: Sequence[Mapping[str, Any]] | None,
    updates: Sequence[ConditionUpdate],
    generation: int | None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """The new conditions list: `updates` applied over `current`, others kept as they were."""
    timestamp = now or now_rfc3339()
    by_type: dict[str, dict[str, Any]] = {str(c.get("type")): dict(c) for c in (current or [])}
    for update in updates:
        status = "True" if update.status else "False"
        previous = by_type.get(update.type)
        changed = previous is None or previous.get("status") != status
        condition: dict[str, Any] = {
            "type": update.type,
            "status": status,
            "reason": update.reason,
            # The API server and kubectl keep messages readable; AWS messages can be long.
            "message": update.message[:1024],
            "lastTransitionTime": (
                timestamp if changed or previous is None else previous.get("lastTransitionTime", timestamp)
            ),
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        by_type[update.type] = condition
    order = {READY: 0, SYNCED: 1, STALLED: 2}
    return sorted(by_type.values(), key=lambda c: (order.get(c["type"], 9), c["type"]))


def ready(message: str) -> list[ConditionUpdate]:
    return [
        ConditionUpdate(READY, True, "Available", message),
        ConditionUpdate(SYNCED, True, "ReconcileSuccess"),
        ConditionUpdate(STALLED, False, "ReconcileSuccess"),
    ]


def progressing(message: str, reason: str = "Progressing") -> list[ConditionUpdate]:
    return [
        ConditionUpdate(READY, False, reason, message),
        ConditionUpdate(SYNCED, True, "ReconcileSuccess", message),
        ConditionUpdate(STALLED, False, reason),
    ]


def retrying(reason: str, message: str) -> list[ConditionUpdate]:
    # Ready is left as it was: a throttled re-check of a working function does not break it.
    return [
        ConditionUpdate(SYNCED, False, reason, message),
        ConditionUpdate(STALLED, False, reason),
    ]


def stalled(reason: str, message: str) -> list[ConditionUpdate]:
    return [
        ConditionUpdate(READY, False, reason, message),
        ConditionUpdate(SYNCED, False, reason, message),
        ConditionUpdate(STALLED, True, reason, message),
    ]


def deleting(message: str) -> list[ConditionUpdate]:
    return [ConditionUpdate(READY, False, "Deleting", message)]
