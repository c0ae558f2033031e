"""An object's teardown answers once: a deletion handler kopf runs again finds it done, at no AWS cost."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from scar_operator import conditions, handlers
from scar_operator.outcome import PassResult


class Teardown:
    """A controller's teardown that says what it is told to, and counts its runs."""

    def __init__(self, result: PassResult) -> None:
        self.result = result
        self.runs = 0

    def __call__(self, **_: Any) -> PassResult:
        self.runs += 1
        return self.result


def run_deletion(teardown: Teardown, uid: str) -> None:
    meta: Any = {"uid": uid, "name": "f", "namespace": "team", "generation": 1,
                 "deletionTimestamp": "2026-11-28T00:00:00Z"}
    body: Any = {"kind": "ScarFunction", "metadata": meta}
    handlers._run(teardown, body=body, meta=meta, spec={}, status={}, patch=kopf.Patch(), retry=0,  # type: ignore[arg-type]
                  indexes={"namespace_labels": {}, "scar_accounts": {}}, deleting=True)


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "events_of", lambda *_: [])  # no kopf event queue outside kopf
    monkeypatch.setattr(handlers, "_torn_down", {})


def test_a_second_run_of_a_completed_teardown_calls_nothing() -> None:
    teardown = Teardown(PassResult(conditions.deleting("AWS resources removed")))
    run_deletion(teardown, "uid-1")
    run_deletion(teardown, "uid-1")
    assert teardown.runs == 1
    run_deletion(teardown, "uid-2")  # another object is torn down on its own
    assert teardown.runs == 2


def test_an_unfinished_teardown_runs_again() -> None:
    teardown = Teardown(PassResult(conditions.deleting("function still deleting"), retry_after=1, settling=True))
    for _ in range(2):
        with pytest.raises(kopf.TemporaryError):
            run_deletion(teardown, "uid-3")
    assert teardown.runs == 2
