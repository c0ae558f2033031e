"""The generic reconciler: observe, diff against desired, act, and report.

It knows nothing about Lambda or S3. Each managed resource is an object with the same four verbs;
the reconciler walks them in dependency order to apply, and in reverse to tear down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from scar_operator.aws.errors import AwsError, ErrorKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Observation:
    exists: bool
    # Matches the desired state (meaningless when it does not exist).
    in_sync: bool = True
    # AWS is still working on it (Pending, InProgress, UPDATING): no write may happen now.
    settling: str | None = None
    # It exists but another owner's tags are on it: never adopt, change or delete it.
    foreign_owner: str | None = None


class Resource(Protocol):
    @property
    def describe(self) -> str:
        """e.g. 'Lambda function ns-fn-1a2b3c4d', for status messages and logs."""
        ...

    def observe(self) -> Observation:
        """Read-only: never changes anything."""
        ...

    def create(self) -> str | None:
        """Make it. Returns why the pass must pause here (AWS still settling), or None to go on."""
        ...

    def update(self) -> str | None:
        """Bring it in line; returns why the pass must pause, or None."""
        ...

    def delete(self) -> str | None:
        """Remove it (idempotent). Returns why teardown must pause, or None."""
        ...


@runtime_checkable
class CheckedBeforeWrites(Protocol):
    """A resource AWS may refuse for a reason only AWS's current state shows (another owner's
    overlapping trigger): it checks, reading only, before the pass writes anything, so the refusal
    costs no half-made set of resources."""

    def check_fits(self) -> None:
        """Raise AwsError (terminal) when AWS would refuse this resource's write."""
        ...


@runtime_checkable
class OwnerObservable(Protocol):
    """A resource that can tell whether it is there and whose more cheaply than by a full observe
    (which also reads what it holds): all a teardown needs to know."""

    def observe_owner(self) -> Observation:
        """Read-only: exists and foreign_owner; in_sync is not looked at."""
        ...


@dataclass(frozen=True)
class Made:
    """What create_if_absent made: why the pass must pause after it (as create returns), or None."""

    pause: str | None = None


@runtime_checkable
class MadeWithoutLooking(Protocol):
    """A resource whose create is refused, changing nothing, when it exists already (CreateFunction,
    CreateRole, CreateLogGroup). For an object no pass has reconciled yet, nothing of it is
    expected to exist: trying to make it finds that out without the read before (a bulk apply
    spends a third fewer calls), and what does exist is then observed as usual."""

    def create_if_absent(self) -> Made | None:
        """Made, or None when it was there already and nothing changed."""
        ...


class Settling(str):
    """A pause for AWS to finish a resource's own work that what depends on it need not wait for.

    A new Lambda function is Pending for a while, yet AWS accepts its invoke permission and the
    bucket notification meanwhile: the pass goes on and only its end (Ready) waits for Active.
    """


class LongWait(str):
    """A pause for what takes minutes or hours rather than AWS's seconds (jobs still running in a
    queue that is to go): not polled within the pass, and looked at again slowly."""


@dataclass
class Outcome:
    """What a pass did, and whether it reached the end."""

    changed: list[str] = field(default_factory=list)
    waiting_on: str | None = None
    # What it waits on is a LongWait: come back in minutes, not seconds.
    long_wait: bool = False
    # Resources this pass found in sync or brought in line: a retry of the same generation
    # need not read them again.
    confirmed: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.waiting_on is None


@dataclass
class InlineWait:
    """How long one pass may wait, polling, for AWS to settle what it just wrote.

    Most of AWS's settling is short (a Lambda update, a new job definition's revision): waiting for
    it in the pass, as AWS's own waiters do, finishes the object now instead of handing it back to
    kopf for another whole pass. What takes longer than `budget` (a compute environment on real
    AWS) still ends the pass and comes back later. The delay starts at `first` for each write and
    doubles; the budget is the pass's, shared by all its resources.
    """

    budget: float = 0.0
    first: float = 0.1
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _deadline: float | None = field(default=None, init=False, repr=False)
    _delay: float = field(default=0.0, init=False, repr=False)

    def restart(self) -> None:
        """A new write: poll it from the first delay again."""
        self._delay = self.first

    def wait(self, growing: bool = True) -> bool:
        """Sleep before the next look; False (without sleeping) once the pass's budget is spent.

        `growing=False` keeps the first delay: for what has been settling while the pass did
        other work, and is likely about to be done."""
        now = self.clock()
        if self._deadline is None:
            self._deadline = now + self.budget
        delay = self._delay or self.first
        if now + delay > self._deadline:
            return False
        self.sleep(delay)
        self._delay = delay * 2 if growing else delay
        return True


class ForeignResourceError(AwsError):
    def __init__(self, resource: str, owner: str) -> None:
        super().__init__(
            ErrorKind.TERMINAL,
            "AlreadyOwned",
            f"{resource} already exists and belongs to {owner}; it will not be adopted or changed",
            "Observe",
        )


def apply(wanted: Sequence[Resource], unwanted: Sequence[Resource] = (),
          confirmed: Collection[str] = (), outcome: Outcome | None = None,
          inline: InlineWait | None = None, first_pass: bool = False) -> Outcome:
    """Create or update `wanted` in order, then delete `unwanted` in reverse order.

    Before any write, every resource that can be refused for what AWS holds checks that it fits.
    A resource that AWS is still settling is waited for within the `inline` budget; past it the
    pass stops there (unless that is a `Settling` its dependents need not wait for, which is
    waited for at the end) and the caller requeues. A pass that finds everything in sync makes
    read calls only. `confirmed` names what an earlier, unfinished pass for the same spec already
    confirmed: a retry resumes after it instead of reading it all again. The caller may pass the
    `outcome` to fill, to keep what was confirmed when an AWS error ends the pass. On an
    object's `first_pass`, what can be made without looking (MadeWithoutLooking) is.
    """
    inline = inline if inline is not None else InlineWait()
    remaining = [r for r in wanted if r.describe not in confirmed]
    for resource in remaining:
        if isinstance(resource, CheckedBeforeWrites):
            resource.check_fits()
    outcome = outcome if outcome is not None else Outcome()
    outcome.confirmed.extend(r.describe for r in wanted if r.describe in confirmed)
    settling: list[tuple[Resource, str]] = []
    for resource in remaining:
        pending = _bring_in_line(resource, outcome, inline, look_first=not first_pass)
        if isinstance(pending, Settling):
            settling.append((resource, pending))
        elif pending is not None:
            outcome.waiting_on = f"{resource.describe}: {pending}"
            return outcome
    for resource, why in settling:
        if not _settled_in_line(resource, inline):
            outcome.waiting_on = outcome.waiting_on or f"{resource.describe}: {why}"
            continue
        outcome.confirmed.append(resource.describe)
    teardown_outcome = teardown(unwanted, inline)
    outcome.changed.extend(teardown_outcome.changed)
    if outcome.waiting_on is None and teardown_outcome.waiting_on is not None:
        outcome.waiting_on, outcome.long_wait = teardown_outcome.waiting_on, teardown_outcome.long_wait
    return outcome


def _bring_in_line(resource: Resource, outcome: Outcome, inline: InlineWait, look_first: bool = True) -> str | None:
    """Observe and write until the resource is in line (None), or say what it still waits on."""
    inline.restart()
    made = None
    if not look_first and isinstance(resource, MadeWithoutLooking):
        made = resource.create_if_absent()
    while True:
        if made is not None:
            log.info("Created %s", resource.describe)
            pause = made.pause
            outcome.changed.append(f"created {resource.describe}")
            made = None
        elif (seen := resource.observe()).foreign_owner is not None:
            raise ForeignResourceError(resource.describe, seen.foreign_owner)
        elif seen.settling is not None:
            if inline.wait():
                continue
            return seen.settling
        elif not seen.exists:
            log.info("Creating %s", resource.describe)
            pause = resource.create()
            outcome.changed.append(f"created {resource.describe}")
        elif not seen.in_sync:
            log.info("Updating %s", resource.describe)
            pause = resource.update()
            outcome.changed.append(f"updated {resource.describe}")
        else:
            outcome.confirmed.append(resource.describe)
            return None
        if pause is None:
            outcome.confirmed.append(resource.describe)
            return None
        # A Settling pause lets the dependents go on first; the others are polled here and the
        # resource looked at again (a Lambda configuration update may be followed by a code update).
        if isinstance(pause, Settling):
            return pause
        inline.restart()
        if not inline.wait():
            return pause


def _settled_in_line(resource: Resource, inline: InlineWait) -> bool:
    """A `Settling` resource, polled within what is left of the budget: settled and in line.

    Looked at again at once: it has been settling while the pass made its dependents."""
    if inline.budget <= 0:
        return False
    inline.restart()
    while True:
        seen = resource.observe()
        if seen.settling is None:
            return seen.exists and seen.in_sync
        if not inline.wait(growing=False):
            return False


def teardown(resources: Sequence[Resource], inline: InlineWait | None = None) -> Outcome:
    """Delete in reverse dependency order; what is already gone or is not ours is skipped.

    A deletion AWS takes in steps (disable, then delete) is polled within the `inline` budget."""
    inline = inline if inline is not None else InlineWait()
    outcome = Outcome()
    for resource in reversed(resources):
        inline.restart()
        while True:
            seen = resource.observe_owner() if isinstance(resource, OwnerObservable) else resource.observe()
            if not seen.exists:
                break
            if seen.foreign_owner is not None:
                log.warning("Leaving %s in place: it belongs to %s", resource.describe, seen.foreign_owner)
                break
            if seen.settling is not None:
                if inline.wait():
                    continue
                outcome.waiting_on = f"{resource.describe}: {seen.settling}"
                return outcome
            log.info("Deleting %s", resource.describe)
            pause = resource.delete()
            outcome.changed.append(f"deleted {resource.describe}")
            if pause is None:
                break
            inline.restart()
            if isinstance(pause, LongWait) or not inline.wait():
                outcome.waiting_on = f"{resource.describe}: {pause}"
                outcome.long_wait = isinstance(pause, LongWait)
                return outcome
    return outcome
