"""What is already under a function's inputs: `spec.processExisting` and `kubectl scar run`.

A run goes through the objects under each input (its prefix and suffix, as the trigger has them)
that were last modified before the run's boundary, and dispatches each one as the trigger would
have: an asynchronous invocation (InvocationType Event) of the function, or of a ScarBatchJob's
dispatcher, with the S3 event of that object. It is paced by the operator: one chunk of objects
per tick of a timer, a few invocations at a time, through the account's rate limiter.

How "once" is tracked: S3 lists keys in order, so the run's progress is a cursor per input, the
last key dispatched, kept in `status.existingObjects` with the counts. A restarted operator resumes
after the cursor. The chunk in flight when an operator stops before recording it is dispatched
again, but every dispatched event carries a request id fixed by the run and the object (bucket,
key, ETag), which the supervisor uses for the object's output folder: a repeated dispatch writes
the same outputs again, never a second set. Each object is processed once in effect.

The boundary: `processExisting` processes what was last modified up to the second the object first
became Ready (after that, the trigger does), once per object's life; `kubectl scar run` asks for a
run of everything there when the run starts (SCAR's `scar run`), optionally under a narrower
prefix. Both ends are whole seconds, as S3 reports LastModified: an object written in the
boundary's own second may be processed by the run and by the trigger.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lambda_supervisor.events import s3_event
from scar_operator import GROUP
from scar_operator.aws.errors import AwsError, call

# `kubectl scar run` writes its request here: {"id": ..., "prefix": ...}.
RUN_ANNOTATION = f"{GROUP}/run"
INITIAL_RUN = "process-existing"
_REQUEST_IDS = uuid.UUID("6d1c2f4e-8f0a-4b5e-9a57-1f3c9b2d7e10")  # the namespace of fixed request ids


@dataclass(frozen=True)
class Source:
    bucket: str
    prefix: str
    suffix: str


def sources_of(spec: Mapping[str, Any], narrower: str | None) -> list[Source]:
    """The inputs a run goes through; a run's prefix narrows each input it falls under (or is read
    as relative to each input's prefix)."""
    found = []
    for item in spec.get("input") or []:
        prefix = str(item.get("prefix") or "")
        if narrower:
            prefix = narrower if narrower.startswith(prefix) else prefix + narrower
        found.append(Source(str(item["bucket"]), prefix, str(item.get("suffix") or "")))
    return found


def _ready_since(status: Mapping[str, Any], generation: int | None) -> str | None:
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None or ready.get("status") != "True" or ready.get("observedGeneration") != generation:
        return None
    return str(ready.get("lastTransitionTime"))


def _requested(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    raw = (meta.get("annotations") or {}).get(RUN_ANNOTATION)
    try:
        request = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        return None
    return request if isinstance(request, dict) and isinstance(request.get("id"), str) else None


def new_run(meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any],
            now: datetime.datetime) -> dict[str, Any] | None:
    """A run to start now, or None: a `kubectl scar run` request not started yet, or the object's
    first run when spec.processExisting asks for one."""
    current = status.get("existingObjects") or {}
    request = _requested(meta)
    if request is not None and request["id"] != current.get("runId"):
        prefix = request.get("prefix")
        return _started(request["id"], prefix if isinstance(prefix, str) and prefix else None,
                        now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if spec.get("processExisting") and not current:
        since = _ready_since(status, meta.get("generation"))
        if since is not None:
            return _started(INITIAL_RUN, None, since)
    return None


def _started(run_id: str, prefix: str | None, before: str) -> dict[str, Any]:
    return {"runId": run_id, "prefix": prefix, "before": before, "phase": "Counting", "total": None,
            "dispatched": 0, "failed": 0, "input": 0, "after": "", "message": None}


def has_work(meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Cheap, no AWS call: whether the timer has anything to do for this object now."""
    if _ready_since(status, meta.get("generation")) is None:
        return False  # not Ready (being changed, refused, settling): the run waits
    current = status.get("existingObjects") or {}
    if current.get("phase") in ("Counting", "Dispatching"):
        return True
    return new_run(meta, spec, status, datetime.datetime.now(datetime.UTC)) is not None


def request_id(owner_key: str, run_id: str, bucket: str, key: str, etag: str) -> str:
    """The same id every time this run dispatches this version of this object."""
    return str(uuid.uuid5(_REQUEST_IDS, json.dumps([owner_key, run_id, bucket, key, etag])))


def _parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Pacing:
    chunk: int = 25
    workers: int = 4


class Run:
    """One tick of a run: count what there is, or dispatch the next chunk."""

    def __init__(self, s3: Any, lambda_: Any, function: str, owner_key: str, sources: Sequence[Source],
                 state: Mapping[str, Any], pacing: Pacing = Pacing()) -> None:
        self.s3, self.lambda_, self.function, self.owner_key = s3, lambda_, function, owner_key
        self.sources = list(sources)
        self.state = dict(state)
        self.pacing = pacing
        self.before = _parse_time(str(state["before"]))

    def _wanted(self, source: Source, item: Mapping[str, Any]) -> bool:
        key = str(item["Key"])
        # Whole seconds, both ends included: S3 reports LastModified to the second, and an object of
        # the boundary's own second is better processed twice (run and trigger) than not at all.
        modified = item["LastModified"].replace(microsecond=0)
        return (key.startswith(source.prefix) and key.endswith(source.suffix) and not key.endswith("/")
                and modified <= self.before)

    def _page(self, source: Source, after: str, limit: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": source.bucket, "Prefix": source.prefix, "MaxKeys": limit}
        if after:
            kwargs["StartAfter"] = after
        page: dict[str, Any] = call("ListObjectsV2", lambda: self.s3.list_objects_v2(**kwargs))
        return page

    def tick(self) -> dict[str, Any]:
        if self.state["phase"] == "Counting":
            self.state["total"] = sum(self._count(s) for s in self.sources)
            self.state["phase"] = "Dispatching" if self.sources else "Done"
            return self.state
        if self.state["phase"] == "Dispatching":
            self._dispatch_chunk()
        return self.state

    def _count(self, source: Source) -> int:
        total, after = 0, ""
        while True:
            page = self._page(source, after, 1000)
            contents = page.get("Contents", [])
            total += sum(1 for item in contents if self._wanted(source, item))
            if not page.get("IsTruncated") or not contents:
                return total
            after = str(contents[-1]["Key"])

    def _dispatch_chunk(self) -> None:
        index = int(self.state["input"])
        if index >= len(self.sources):
            self.state["phase"] = "Done"
            return
        source = self.sources[index]
        page = self._page(source, str(self.state["after"]), self.pacing.chunk)
        contents = page.get("Contents", [])
        chunk = [item for item in contents if self._wanted(source, item)]
        with ThreadPoolExecutor(max_workers=self.pacing.workers) as pool:
            outcomes = list(pool.map(lambda item: self._dispatch(source, item), chunk))
        retryable = next((o for o in outcomes if isinstance(o, AwsError) and o.retryable), None)
        if retryable is not None:
            # Throttled or busy: the cursor stays, and the whole chunk goes again at the next tick
            # (with the same request ids: what went through already is not processed twice).
            raise retryable
        failures = [f"{item['Key']}: {error}" for item, error in zip(chunk, outcomes, strict=True) if error is not None]
        self.state["dispatched"] = int(self.state["dispatched"]) + outcomes.count(None)
        self.state["failed"] = int(self.state["failed"]) + len(failures)
        if failures:
            self.state["message"] = f"not dispatched: s3://{source.bucket}/{failures[-1]}"
        if contents:
            self.state["after"] = str(contents[-1]["Key"])
        if not page.get("IsTruncated") or not contents:
            self.state["input"], self.state["after"] = index + 1, ""
            if index + 1 >= len(self.sources):
                self.state["phase"] = "Done"

    def _dispatch(self, source: Source, item: Mapping[str, Any]) -> AwsError | None:
        """None when dispatched; AWS's refusal otherwise."""
        key, etag = str(item["Key"]), str(item.get("ETag", ""))
        event = s3_event(source.bucket, key, int(item.get("Size", 0)))
        event["Records"][0]["scar"] = {"requestId": request_id(self.owner_key, self.state["runId"], source.bucket,
                                                               key, etag),
                                       "run": self.state["runId"]}
        try:
            call("Invoke", lambda: self.lambda_.invoke(FunctionName=self.function, InvocationType="Event",
                                                        Payload=json.dumps(event).encode()))
        except AwsError as e:
            return e
        return None
