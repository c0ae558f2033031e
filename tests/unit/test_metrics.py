"""The operator's metrics count what a platform team asks of it: passes, AWS calls, objects."""

from __future__ import annotations

from typing import Any

from scar_operator import metrics


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


class Answer:
    def __init__(self, status: int) -> None:
        self.status_code = status


def attempt(status: int, parsed: dict[str, Any]) -> tuple[Answer, dict[str, Any]]:
    return Answer(status), parsed


def test_each_aws_attempt_is_counted_by_its_outcome() -> None:
    before = {o: sample("scar_aws_calls_total", service="lambda", operation="GetFunction", outcome=o)
              for o in ("ok", "not_found", "throttled", "error")}
    metrics.record_attempt("lambda", "GetFunction", attempt(200, {}), None)
    metrics.record_attempt("lambda", "GetFunction", attempt(404, {"Error": {"Code": "ResourceNotFoundException"}}),
                           None)
    metrics.record_attempt("lambda", "GetFunction", attempt(429, {"Error": {"Code": "TooManyRequestsException"}}),
                           None)
    metrics.record_attempt("lambda", "GetFunction", attempt(400, {"Error": {"Code": "ThrottlingException"}}), None)
    metrics.record_attempt("lambda", "GetFunction", None, ConnectionError("reset"))
    after = {o: sample("scar_aws_calls_total", service="lambda", operation="GetFunction", outcome=o)
             for o in before}
    assert {o: after[o] - before[o] for o in before} == {"ok": 1, "not_found": 1, "throttled": 2, "error": 1}


def test_objects_are_counted_under_their_current_conditions_only() -> None:
    ready = [{"type": "Ready", "status": "True"}, {"type": "Stalled", "status": "False"}]
    stalled = [{"type": "Ready", "status": "False"}, {"type": "Stalled", "status": "True"}]
    labels_ready = {"kind": "ScarBatchJob", "ready": "True", "stalled": "False"}
    labels_stalled = {"kind": "ScarBatchJob", "ready": "False", "stalled": "True"}
    base_ready, base_stalled = sample("scar_objects", **labels_ready), sample("scar_objects", **labels_stalled)
    metrics.object_state("uid-1", "ScarBatchJob", ready)
    metrics.object_state("uid-1", "ScarBatchJob", ready)  # a resync that changed nothing
    metrics.object_state("uid-2", "ScarBatchJob", ready)
    assert sample("scar_objects", **labels_ready) - base_ready == 2
    metrics.object_state("uid-2", "ScarBatchJob", stalled)
    assert sample("scar_objects", **labels_ready) - base_ready == 1
    assert sample("scar_objects", **labels_stalled) - base_stalled == 1
    metrics.object_gone("uid-1")
    metrics.object_gone("uid-2")
    metrics.object_gone("uid-2")  # deleted twice: counted once
    assert sample("scar_objects", **labels_ready) == base_ready
    assert sample("scar_objects", **labels_stalled) == base_stalled
