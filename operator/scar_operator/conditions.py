"""Status conditions as Kubernetes, kstatus, Argo CD and Flux read them.

`Ready` says the whole thing works; `Synced` says the last reconcile succeeded; `Stalled` says it
cannot progress without a spec (or permission) change; `Reconciling` (kstatus's abnormal-true
condition) says the operator is still working towards the latest generation. A condition's
lastTransitionTime moves only when its status flips, so repeated passes do not churn the object.

Readers (kubectl, Argo CD, Flux's kstatus) trust `Ready=True` at observedGeneration N to mean
that AWS holds generation N now, so `for_generation` grants it only to a pass for N that reached
the end, and keeps it through a failed re-check of that same generation only.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

READY = "Ready"
SYNCED = "Synced"
STALLED = "Stalled"
RECONCILING = "Reconciling"
# A retried pass of a generation AWS does not hold yet: Ready=False with this reason.
RETRYING_AWS = "RetryingAWS"


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
    order = {READY: 0, SYNCED: 1, STALLED: 2, RECONCILING: 3}
    return sorted(by_type.values(), key=lambda c: (order.get(c["type"], 9), c["type"]))


def for_generation(
    updates: Sequence[ConditionUpdate], current: Sequence[Mapping[str, Any]] | None, generation: int | None,
) -> list[ConditionUpdate]:
    """`updates` completed so that Ready is never stale and Reconciling says whether work remains.

    A pass that says nothing of Ready (it was retried: AWS throttled, a conflict) keeps Ready=True
    only when that Ready was earned by a finished pass for this very generation (a periodic
    re-check that failed: AWS still holds what it held). Otherwise Ready turns False: the first
    pass of an object, or the first of a new generation, has not reached the end.
    """
    result = list(updates)
    by_type = {u.type: u for u in result}
    if READY not in by_type:
        previous = next((c for c in current or [] if c.get("type") == READY), None)
        earned = (previous is not None and previous.get("status") == "True"
                  and generation is not None and previous.get("observedGeneration") == generation)
        if not earned:
            why = next((u for u in result if u.type == SYNCED and not u.status), None)
            detail = f"{why.reason}: {why.message}" if why is not None else "the last pass did not finish"
            target = f"generation {generation}" if generation is not None else "the spec"
            ready_update = ConditionUpdate(READY, False, RETRYING_AWS,
                                           f"{target} is not applied in AWS yet; retrying after {detail}")
            result.insert(0, ready_update)
            by_type[READY] = ready_update
        elif previous is not None:
            by_type[READY] = ConditionUpdate(READY, True, str(previous.get("reason", "")),
                                             str(previous.get("message", "")))
    stalled = by_type.get(STALLED)
    finished = by_type[READY].status or (stalled is not None and stalled.status)
    reason = by_type[READY].reason
    result.append(ConditionUpdate(RECONCILING, not finished, reason if not finished else "ReconcileSuccess",
                                  by_type[READY].message if not finished else ""))
    return result


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
    # Ready is decided by for_generation: kept after a failed re-check of what AWS already holds,
    # False when the failed pass was to bring a new generation about.
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
