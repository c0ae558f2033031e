"""What one reconcile or teardown pass reports back: status to write and how to go on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scar_operator import conditions
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.models import SpecError
from scar_operator.reconciler import Outcome
from scar_operator.settings import OperatorSettings

QUOTA_EXCEEDED = "QuotaExceeded"


@dataclass
class PassResult:
    conditions: list[conditions.ConditionUpdate]
    fields: dict[str, Any] = field(default_factory=dict)
    # Come back after this many seconds (AWS settling, throttled, conflicting).
    retry_after: float | None = None
    # A terminal problem: do not retry until the spec changes (or the next periodic re-check).
    permanent: str | None = None
    # The pause is AWS finishing its own work (poll steadily), not an error (back off).
    settling: bool = False
    # The pause is long (jobs to end): `retry_after` is the delay from the first retry on.
    long_wait: bool = False
    # What the pass changed in AWS ("created Lambda function ..."), each posted as an event.
    changes: list[str] = field(default_factory=list)
    # What it found in sync or brought in line (resource descriptions): a retry may skip them.
    confirmed: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return next((c.message for c in self.conditions if c.message), "")


def from_outcome(outcome: Outcome, ready_message: str, settings: OperatorSettings) -> PassResult:
    if outcome.done:
        return PassResult(conditions.ready(ready_message), changes=outcome.changed)
    return PassResult(
        conditions.progressing(outcome.waiting_on or ""),
        retry_after=settings.long_wait_seconds if outcome.long_wait else settings.settle_seconds, settling=True,
        changes=outcome.changed, confirmed=outcome.confirmed, long_wait=outcome.long_wait,
    )


def from_teardown_outcome(outcome: Outcome, settings: OperatorSettings) -> PassResult:
    if outcome.done:
        return PassResult(conditions.deleting("AWS resources removed"), changes=outcome.changed)
    return PassResult(
        conditions.deleting(outcome.waiting_on or ""), retry_after=settings.settle_seconds, settling=True,
        changes=outcome.changed,
    )


def from_spec_error(error: SpecError) -> PassResult:
    return PassResult(conditions.stalled("InvalidSpec", str(error)), permanent=str(error))


def from_aws_error(error: AwsError, settings: OperatorSettings) -> PassResult:
    if error.kind is ErrorKind.QUOTA:
        # Stalled, since no spec change helps and a person should look; yet retried (slowly), since
        # room made anywhere in the account (another tool's roles deleted, a queue freed) is enough.
        message = (f"the account's {error.quota} quota is full: {error}; retrying every few minutes until "
                   f"there is room")
        return PassResult(conditions.stalled(QUOTA_EXCEEDED, message), retry_after=settings.quota_retry_seconds)
    if error.retryable:
        return PassResult(conditions.retrying(error.code, str(error)), retry_after=settings.retry_seconds)
    return PassResult(conditions.stalled(error.code, str(error)), permanent=str(error))
