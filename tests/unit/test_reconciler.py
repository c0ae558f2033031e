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
