"""Which Kubernetes Events a pass posts on its object."""

from __future__ import annotations

from typing import Any

from scar_operator import conditions
from scar_operator.object_events import ObjectEvent, events_of
from scar_operator.outcome import PassResult


def stored(updates: list[conditions.ConditionUpdate]) -> list[dict[str, Any]]:
    """The conditions as a previous pass left them on the object."""
    return conditions.merge(None, updates, generation=1)


def test_each_change_in_aws_is_a_normal_event_named_by_its_verb() -> None:
    result = PassResult(conditions.ready("ok"), changes=[
        "created Lambda function f", "updated IAM role r", "deleted S3 notifications of this object on bucket b"])
    assert events_of(result, None) == [
        ObjectEvent("Normal", "Created", "Created Lambda function f"),
        ObjectEvent("Normal", "Updated", "Updated IAM role r"),
        ObjectEvent("Normal", "Deleted", "Deleted S3 notifications of this object on bucket b"),
    ]


def test_a_pass_that_changed_nothing_posts_nothing() -> None:
    assert events_of(PassResult(conditions.ready("ok")), stored(conditions.ready("ok"))) == []


def test_waiting_for_aws_is_no_event() -> None:
    waiting = PassResult(conditions.progressing("Lambda function f: function is Pending"), settling=True)
    assert events_of(waiting, stored(conditions.progressing("creating"))) == []


def test_turning_stalled_is_one_warning_with_the_reason_and_message() -> None:
    stalled = PassResult(conditions.stalled("InvalidSpec", "spec.memory: too much"))
    assert events_of(stalled, stored(conditions.ready("ok"))) == [
        ObjectEvent("Warning", "InvalidSpec", "spec.memory: too much")]


def test_staying_stalled_for_the_same_reason_is_not_repeated_by_the_periodic_recheck() -> None:
    stalled = conditions.stalled("InvalidSpec", "spec.memory: too much")
    assert events_of(PassResult(stalled), stored(stalled)) == []


def test_stalled_for_a_new_reason_warns_again() -> None:
    before = stored(conditions.stalled("InvalidSpec", "spec.memory: too much"))
    after = PassResult(conditions.stalled("AccessDenied", "iam:CreateRole denied"))
    assert events_of(after, before) == [ObjectEvent("Warning", "AccessDenied", "iam:CreateRole denied")]


def test_throttling_warns_once_when_it_begins() -> None:
    throttled = conditions.retrying("ThrottlingException", "Rate exceeded")
    assert events_of(PassResult(throttled), stored(conditions.ready("ok"))) == [
        ObjectEvent("Warning", "ThrottlingException", "Rate exceeded")]
    assert events_of(PassResult(throttled), stored(throttled)) == []
