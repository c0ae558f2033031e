"""Status conditions: transition times move only when a status flips."""

from __future__ import annotations

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


def test_a_retry_leaves_ready_as_it_was() -> None:
    ready = conditions.merge([], conditions.ready("ok"), 1)
    retried = conditions.merge(ready, conditions.retrying("ThrottlingException", "slow down"), 1)
    assert retried[0]["status"] == "True"
    assert retried[1]["status"] == "False" and retried[1]["reason"] == "ThrottlingException"


def test_long_messages_are_cut() -> None:
    merged = conditions.merge([], conditions.stalled("X", "m" * 5000), 1)
    assert len(merged[0]["message"]) == 1024
