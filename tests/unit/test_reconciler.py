"""The generic reconciler: order, pauses, ownership, teardown."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from scar_operator import reconciler
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.reconciler import ForeignResourceError, Observation


@dataclass
class FakeResource:
    name: str
    log: list[str]
    seen: Observation = field(default_factory=lambda: Observation(exists=False))
    pause_on_write: str | None = None

    @property
    def describe(self) -> str:
        return self.name

    def observe(self) -> Observation:
        self.log.append(f"observe {self.name}")
        return self.seen

    def create(self) -> str | None:
        self.log.append(f"create {self.name}")
        return self.pause_on_write

    def update(self) -> str | None:
        self.log.append(f"update {self.name}")
        return self.pause_on_write

    def delete(self) -> str | None:
        self.log.append(f"delete {self.name}")
        return self.pause_on_write


def test_apply_creates_missing_updates_drifted_and_leaves_the_rest() -> None:
    log: list[str] = []
    resources = [
        FakeResource("a", log),
        FakeResource("b", log, Observation(exists=True, in_sync=False)),
        FakeResource("c", log, Observation(exists=True)),
    ]
    outcome = reconciler.apply(resources)
    assert outcome.done
    assert log == ["observe a", "create a", "observe b", "update b", "observe c"]
    assert outcome.changed == ["created a", "updated b"]


def test_apply_stops_at_a_settling_resource_and_says_why() -> None:
    log: list[str] = []
    resources = [FakeResource("a", log, Observation(exists=True, settling="Pending")), FakeResource("b", log)]
    outcome = reconciler.apply(resources)
    assert outcome.waiting_on == "a: Pending"
    assert log == ["observe a"]


def test_apply_stops_after_a_write_that_needs_aws_to_settle() -> None:
    log: list[str] = []
    outcome = reconciler.apply([FakeResource("fn", log, pause_on_write="becoming Active"), FakeResource("b", log)])
    assert outcome.waiting_on == "fn: becoming Active"
    assert log == ["observe fn", "create fn"]


def test_apply_never_touches_what_another_owner_tagged() -> None:
    log: list[str] = []
    with pytest.raises(ForeignResourceError, match="belongs to ScarFunction/other/x"):
        reconciler.apply([FakeResource("role", log, Observation(exists=True, foreign_owner="ScarFunction/other/x"))])
    assert log == ["observe role"]


def test_unwanted_resources_go_after_the_wanted_ones_are_in_place_in_reverse_order() -> None:
    log: list[str] = []
    exists = Observation(exists=True)
    outcome = reconciler.apply([FakeResource("keep", log, exists)],
                               [FakeResource("old-permission", log, exists), FakeResource("old-entry", log, exists)])
    assert outcome.done
    assert log == ["observe keep", "observe old-entry", "delete old-entry", "observe old-permission",
                   "delete old-permission"]


def test_teardown_reverses_skips_the_missing_and_leaves_foreign_resources() -> None:
    log: list[str] = []
    resources = [
        FakeResource("bucket-policy", log, Observation(exists=True, foreign_owner="someone")),
        FakeResource("role", log, Observation(exists=True)),
        FakeResource("function", log, Observation(exists=False)),
        FakeResource("trigger", log, Observation(exists=True)),
    ]
    outcome = reconciler.teardown(resources)
    assert outcome.done
    assert log == ["observe trigger", "delete trigger", "observe function", "observe role", "delete role",
                   "observe bucket-policy"]


@dataclass
class FakeTrigger(FakeResource):
    """A resource AWS may refuse for what it already holds: it checks before the pass writes."""

    refused: bool = False

    def check_fits(self) -> None:
        self.log.append(f"check {self.name}")
        if self.refused:
            raise AwsError(ErrorKind.TERMINAL, "OverlappingTrigger", f"{self.name} overlaps", "Put")


def test_resources_that_aws_may_refuse_are_checked_before_any_write() -> None:
    log: list[str] = []
    resources = [FakeResource("function", log), FakeTrigger("trigger", log)]
    reconciler.apply(resources)
    assert log == ["check trigger", "observe function", "create function", "observe trigger", "create trigger"]


def test_a_refused_check_stops_the_pass_before_anything_is_written() -> None:
    log: list[str] = []
    resources = [FakeResource("function", log), FakeTrigger("trigger", log, refused=True)]
    with pytest.raises(AwsError, match="trigger overlaps"):
        reconciler.apply(resources)
    assert log == ["check trigger"]


@dataclass
class SettlingResource(FakeResource):
    """AWS settles it for `looks` observations after each write; in line after `writes_to_sync` writes."""

    looks: int = 2
    writes_to_sync: int = 2
    settling_word: str = "InProgress"
    _left: int = 0
    writes: int = 0

    def observe(self) -> Observation:
        self.log.append(f"observe {self.name}")
        if self._left:
            self._left -= 1
            return Observation(exists=True, settling=self.settling_word)
        return Observation(exists=self.writes > 0, in_sync=self.writes >= self.writes_to_sync)

    def _write(self, verb: str) -> str | None:
        self.log.append(f"{verb} {self.name}")
        self.writes += 1
        self._left = self.looks
        return self.pause_on_write

    def create(self) -> str | None:
        return self._write("create")

    def update(self) -> str | None:
        return self._write("update")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def inline(budget: float, clock: FakeClock) -> reconciler.InlineWait:
    return reconciler.InlineWait(budget=budget, first=0.1, sleep=clock.sleep, clock=lambda: clock.now)


def test_a_write_aws_settles_quickly_is_waited_for_in_the_pass_and_the_pass_goes_on() -> None:
    log: list[str] = []
    clock = FakeClock()
    # Created, settles, found drifted, updated, settles, in line: all in one pass.
    resource = SettlingResource("fn", log, pause_on_write="update in progress", looks=1)
    outcome = reconciler.apply([resource, FakeResource("next", log)], inline=inline(2.0, clock))
    assert outcome.done
    assert log == ["observe fn", "create fn", "observe fn", "observe fn", "update fn", "observe fn", "observe fn",
                   "observe next", "create next"]
    assert outcome.confirmed == ["fn", "next"]
    assert clock.slept == [0.1, 0.2, 0.1, 0.2]


def test_settling_longer_than_the_budget_ends_the_pass_and_says_why() -> None:
    log: list[str] = []
    clock = FakeClock()
    resource = SettlingResource("ce", log, pause_on_write="becoming VALID", looks=100)
    outcome = reconciler.apply([resource, FakeResource("queue", log)], inline=inline(1.0, clock))
    assert outcome.waiting_on == "ce: InProgress"
    assert "observe queue" not in log
    # 0.1 + 0.2 + 0.4 = 0.7 s; the next 0.8 s would pass the 1 s budget, so it is not slept.
    assert clock.slept == [0.1, 0.2, 0.4]


def test_a_new_function_is_waited_for_after_its_dependents_are_made() -> None:
    log: list[str] = []
    clock = FakeClock()
    function = SettlingResource("fn", log, pause_on_write=reconciler.Settling("becoming Active"), looks=1,
                                writes_to_sync=1)
    outcome = reconciler.apply([function, FakeResource("permission", log)], inline=inline(2.0, clock))
    assert log == ["observe fn", "create fn", "observe permission", "create permission", "observe fn", "observe fn"]
    assert outcome.done
    assert outcome.confirmed == ["permission", "fn"]


def test_without_a_budget_a_new_function_still_pending_leaves_the_pass_waiting_on_it() -> None:
    log: list[str] = []
    function = FakeResource("fn", log, pause_on_write=reconciler.Settling("becoming Active"))
    outcome = reconciler.apply([function, FakeResource("permission", log)])
    assert outcome.waiting_on == "fn: becoming Active"
    assert log == ["observe fn", "create fn", "observe permission", "create permission"]
    assert outcome.confirmed == ["permission"]


def test_a_two_step_delete_is_followed_through_within_the_budget() -> None:
    log: list[str] = []
    clock = FakeClock()
    steps = iter([Observation(exists=True), Observation(exists=True, settling="UPDATING"),
                  Observation(exists=True), Observation(exists=False)])

    @dataclass
    class Queue(FakeResource):
        def observe(self) -> Observation:
            self.log.append(f"observe {self.name}")
            return next(steps)

    outcome = reconciler.teardown([Queue("queue", log, pause_on_write="disabling")], inline(2.0, clock))
    assert outcome.done
    assert log == ["observe queue", "delete queue", "observe queue", "observe queue", "delete queue", "observe queue"]


@dataclass
class MadeWithoutLookingResource(FakeResource):
    """Its create is refused, changing nothing, when it exists (CreateFunction, CreateRole)."""

    def create_if_absent(self) -> reconciler.Made | None:
        self.log.append(f"create-if-absent {self.name}")
        return None if self.seen.exists else reconciler.Made(self.pause_on_write)


def test_the_first_pass_of_an_object_makes_without_looking_what_aws_refuses_to_make_twice() -> None:
    log: list[str] = []
    outcome = reconciler.apply([MadeWithoutLookingResource("role", log), FakeResource("permission", log)],
                               first_pass=True)
    assert outcome.done and outcome.changed == ["created role", "created permission"]
    # No read of what a new object cannot have yet; what has no refusing create is looked at.
    assert log == ["create-if-absent role", "observe permission", "create permission"]


def test_on_the_first_pass_what_exists_already_is_observed_as_on_any_other() -> None:
    log: list[str] = []
    there = MadeWithoutLookingResource("role", log, Observation(exists=True, in_sync=False))
    foreign = MadeWithoutLookingResource("fn", log, Observation(exists=True, foreign_owner="ScarFunction/b/x"))
    with pytest.raises(ForeignResourceError):
        reconciler.apply([there, foreign], first_pass=True)
    assert log == ["create-if-absent role", "observe role", "update role", "create-if-absent fn", "observe fn"]


def test_later_passes_look_before_they_make() -> None:
    log: list[str] = []
    reconciler.apply([MadeWithoutLookingResource("role", log)])
    assert log == ["observe role", "create role"]
