"""S3 event records: what triggered this invocation, decoded once."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class EventError(ValueError):
    """The event is not an S3 event this supervisor can act on."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # decoded: S3 URL-encodes keys in events, with '+' for spaces
    size: int | None
    record: Mapping[str, Any]  # the original record, for the script's EVENT

    def event_json(self) -> str:
        return json.dumps({"Records": [self.record]}, separators=(",", ":"))


def s3_objects(event: Mapping[str, Any]) -> list[S3Object]:
    """Every S3 record of the event (all of them, not only the first)."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise EventError("the event has no Records: this supervisor is triggered by S3 notifications")
    objects = []
    for index, record in enumerate(records):
        try:
            s3 = record["s3"]
            bucket = str(s3["bucket"]["name"])
            raw_key = str(s3["object"]["key"])
        except (KeyError, TypeError) as e:
            raise EventError(f"Records[{index}] is not an S3 record: missing {e}") from None
        size = s3["object"].get("size")
        objects.append(S3Object(
            bucket=bucket,
            key=urllib.parse.unquote_plus(raw_key),
            size=int(size) if size is not None else None,
            record=record,
        ))
    return objects


def s3_event(bucket: str, key: str, size: int | None = None, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
    """An S3 event as S3 sends it (the key URL-encoded), for `invoke` and for tests."""
    obj: dict[str, Any] = {"key": urllib.parse.quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    return {"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": event_name,
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": obj},
    }]}
