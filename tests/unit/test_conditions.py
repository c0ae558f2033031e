"""Status conditions: transition times move only when a status flips."""

from __future__ import annotations

from typing import Any

from scar_operator import conditions


def test_a_new_condition_gets_the_current_time_and_generation() -> None:
    merged = conditions.merge([], conditions.ready("ok"), generation=3, now="2026-01-01T00:00:00Z")
    assert [c["type"] for c in merged] == ["Ready", "Synced", "Stalled"]
    ready = merged[0]
    assert ready == {"type": "Ready", "status": "True", "reason": "Available", "message": "ok",
                     "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 3}


def test_the_transition_time_stays_while_the_status_stays() -> None:
    first = conditions.merge([], conditions.ready("ok"), 1, now="2026-01-01T00:00:00Z")
    again = conditions.merge(first, conditions.ready("still ok"), 2, now="2026-01-02T00:00:00Z")
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert again[0]["message"] == "still ok" and again[0]["observedGeneration"] == 2
    flipped = conditions.merge(again, conditions.stalled("InvalidSpec", "bad"), 3, now="2026-01-03T00:00:00Z")
    assert flipped[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"
    assert flipped[2]["status"] == "True" and flipped[2]["reason"] == "InvalidSpec"


def passed(current: list[dict[str, Any]], updates: list[conditions.ConditionUpdate],
           generation: int) -> dict[str, dict[str, Any]]:
    """The conditions after a pass, by type, as the handlers write them."""
    merged = conditions.merge(current, conditions.for_generation(updates, current, generation), generation)
    return {c["type"]: c for c in merged}


def test_a_failed_re_check_of_the_generation_aws_holds_keeps_ready() -> None:
    ready = list(passed([], conditions.ready("ok"), 1).values())
    retried = passed(ready, conditions.retrying("ThrottlingException", "slow down"), 1)
    assert retried["Ready"]["status"] == "True" and retried["Ready"]["observedGeneration"] == 1
    assert retried["Synced"]["status"] == "False" and retried["Synced"]["reason"] == "ThrottlingException"
    assert retried["Reconciling"]["status"] == "False"


def test_a_failed_pass_for_a_new_generation_is_not_ready() -> None:
    ready = list(passed([], conditions.ready("ok"), 1).values())
    retried = passed(ready, conditions.retrying("ThrottlingException", "Rate exceeded"), 2)
    assert retried["Ready"]["status"] == "False" and retried["Ready"]["reason"] == "RetryingAWS"
    assert retried["Ready"]["observedGeneration"] == 2
    assert "generation 2" in retried["Ready"]["message"] and "Rate exceeded" in retried["Ready"]["message"]
    assert retried["Reconciling"]["status"] == "True"
    # ...and it stays so through the next failed pass, until a pass for 2 reaches the end.
    again = passed(list(retried.values()), conditions.retrying("ThrottlingException", "Rate exceeded"), 2)
    assert again["Ready"]["status"] == "False"
    done = passed(list(again.values()), conditions.ready("ok"), 2)
    assert done["Ready"]["status"] == "True" and done["Reconciling"]["status"] == "False"


def test_a_first_pass_that_fails_still_writes_ready_false() -> None:
    first = passed([], conditions.retrying("ThrottlingException", "Rate exceeded"), 1)
    assert first["Ready"]["status"] == "False" and first["Ready"]["reason"] == "RetryingAWS"
    assert first["Reconciling"]["status"] == "True"


def test_stalled_is_finished_work_not_reconciling() -> None:
    stalled = passed([], conditions.stalled("InvalidSpec", "spec.memory: too big"), 1)
    assert stalled["Stalled"]["status"] == "True" and stalled["Reconciling"]["status"] == "False"


def test_waiting_for_aws_to_settle_is_reconciling() -> None:
    waiting = passed([], conditions.progressing("Lambda function x is Pending"), 1)
    assert waiting["Ready"]["status"] == "False" and waiting["Reconciling"]["status"] == "True"


def test_long_messages_are_cut() -> None:
    merged = conditions.merge([], conditions.stalled("X", "m" * 5000), 1)
    assert len(merged[0]["message"]) == 1024
