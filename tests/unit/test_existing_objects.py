"""A run over what is already under the inputs: when it starts, what it takes, how it moves on."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from scar_operator.aws import errors
from scar_operator.aws.errors import AwsError
from scar_operator.existing_objects import (
    INITIAL_RUN,
    RUN_ANNOTATION,
    Pacing,
    Run,
    Source,
    new_run,
    request_id,
    sources_of,
)

NOW = datetime.datetime(2026, 11, 27, 12, 0, 30, tzinfo=datetime.UTC)
READY = {"type": "Ready", "status": "True", "observedGeneration": 1, "lastTransitionTime": "2026-11-27T12:00:00Z"}


class Bucket:
    """ListObjectsV2 in key order with StartAfter and MaxKeys; Invoke recorded, or refused as told."""

    def __init__(self, keys: dict[str, datetime.datetime], throttle_invokes: int = 0) -> None:
        self.keys = dict(sorted(keys.items()))
        self.invoked: list[str] = []
        self.throttle_invokes = throttle_invokes

    def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int, StartAfter: str = "") -> dict[str, Any]:  # noqa: N803
        keys = [k for k in self.keys if k.startswith(Prefix) and k > StartAfter]
        page = keys[:MaxKeys]
        return {"Contents": [{"Key": k, "LastModified": self.keys[k], "ETag": f'"{k}"', "Size": 1} for k in page],
                "IsTruncated": len(keys) > MaxKeys}

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        assert InvocationType == "Event"
        if self.throttle_invokes:
            self.throttle_invokes -= 1
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
        self.invoked.append(json.loads(Payload)["Records"][0]["s3"]["object"]["key"])
        return {"StatusCode": 202}


def at(second: int, micro: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, 27, 12, 0, second, micro, tzinfo=datetime.UTC)


def test_process_existing_starts_once_ready_with_the_ready_second_as_its_boundary() -> None:
    meta = {"generation": 1}
    assert new_run(meta, {"processExisting": True}, {"conditions": []}, NOW) is None
    run = new_run(meta, {"processExisting": True}, {"conditions": [READY]}, NOW)
    assert run is not None and (run["runId"], run["before"], run["phase"]) == (INITIAL_RUN, READY["lastTransitionTime"],
                                                                               "Counting")
    # Once per object's life: a finished run is not started again.
    assert new_run(meta, {"processExisting": True}, {"conditions": [READY], "existingObjects": run}, NOW) is None
    assert new_run(meta, {}, {"conditions": [READY]}, NOW) is None


def test_a_run_asked_for_by_annotation_starts_once_per_id() -> None:
    meta = {"generation": 1, "annotations": {RUN_ANNOTATION: json.dumps({"id": "r-1", "prefix": "a/"})}}
    run = new_run(meta, {}, {"conditions": [READY]}, NOW)
    assert run is not None and (run["runId"], run["prefix"], run["before"]) == ("r-1", "a/", "2026-11-27T12:00:30Z")
    assert new_run(meta, {}, {"existingObjects": run}, NOW) is None


def test_a_run_prefix_narrows_each_input() -> None:
    spec = {"input": [{"bucket": "b", "prefix": "frames/", "suffix": ".jpg"}, {"bucket": "c"}]}
    assert sources_of(spec, None) == [Source("b", "frames/", ".jpg"), Source("c", "", "")]
    assert sources_of(spec, "a/") == [Source("b", "frames/a/", ".jpg"), Source("c", "a/", "")]
    assert sources_of(spec, "frames/x/") == [Source("b", "frames/x/", ".jpg"), Source("c", "frames/x/", "")]


def test_the_fixed_request_id_depends_on_the_run_and_the_object_version_only() -> None:
    first = request_id("ScarFunction/ns/f", "run", "b", "k", '"e1"')
    assert first == request_id("ScarFunction/ns/f", "run", "b", "k", '"e1"')
    assert first != request_id("ScarFunction/ns/f", "run", "b", "k", '"e2"')
    assert first != request_id("ScarFunction/ns/f", "other-run", "b", "k", '"e1"')


def state(before: str = "2026-11-27T12:00:10Z") -> dict[str, Any]:
    return {"runId": "r", "prefix": None, "before": before, "phase": "Counting", "total": None, "dispatched": 0,
            "failed": 0, "input": 0, "after": "", "message": None}


def test_a_run_counts_then_dispatches_in_chunks_in_key_order_within_its_boundary() -> None:
    keys = {f"in/{i}.jpg": at(i) for i in range(8)}
    keys.update({"in/notes.txt": at(1), "in/9.jpg": at(10, 500_000), "in/late.jpg": at(11)})
    bucket = Bucket(keys)
    sources = [Source("b", "in/", ".jpg")]
    current = state()
    ticks = 0
    while current["phase"] != "Done":
        current = Run(bucket, bucket, "fn", "owner", sources, current, Pacing(chunk=3, workers=2)).tick()
        ticks += 1
    # The boundary's own second is in (9.jpg at 12:00:10.5); later ones and other suffixes are not.
    assert sorted(bucket.invoked) == sorted([f"in/{i}.jpg" for i in range(8)] + ["in/9.jpg"])
    assert (current["total"], current["dispatched"], current["failed"]) == (9, 9, 0)
    assert ticks == 1 + 4  # one count, then chunks of 3 keys listed (11 keys)


def test_a_throttled_chunk_keeps_the_cursor_and_goes_again_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # Throttled on every attempt of one call: beyond what the call's own retries absorb.
    monkeypatch.setattr(errors, "retry_delay", lambda attempt: 0.0)
    bucket = Bucket({f"in/{i}.jpg": at(i) for i in range(4)}, throttle_invokes=errors.RETRY_ATTEMPTS)
    sources = [Source("b", "in/", "")]
    counted = Run(bucket, bucket, "fn", "owner", sources, state()).tick()
    with pytest.raises(AwsError):
        Run(bucket, bucket, "fn", "owner", sources, counted, Pacing(chunk=2, workers=1)).tick()
    assert counted["after"] == "" and counted["dispatched"] == 0
    moved = Run(bucket, bucket, "fn", "owner", sources, counted, Pacing(chunk=2, workers=1)).tick()
    assert (moved["after"], moved["dispatched"]) == ("in/1.jpg", 2)
