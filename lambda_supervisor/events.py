"""What triggered this invocation, decoded once: S3 event records, or an HTTP request."""

from __future__ import annotations

import base64
import binascii
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A request id that may name an output folder: what Lambda's look like (and nothing that escapes it).
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")


class EventError(ValueError):
    """The event is not one this supervisor can act on."""


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str  # decoded: S3 URL-encodes keys in events, with '+' for spaces
    size: int | None
    record: Mapping[str, Any]  # the original record, for the script's EVENT

    def event_json(self) -> str:
        return json.dumps({"Records": [self.record]}, separators=(",", ":"))

    @property
    def fixed_request_id(self) -> str | None:
        """The request id a record of an operator-dispatched run carries (the same one every time that
        object is dispatched in that run, so a repeated dispatch writes the same outputs, not new ones)."""
        fixed = (self.record.get("scar") or {}).get("requestId") if isinstance(self.record, Mapping) else None
        return fixed if isinstance(fixed, str) and REQUEST_ID.match(fixed) else None


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


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request that reached the function: through its function URL (payload 2.0) or, for
    SCAR's API Gateway endpoints, through a REST API's proxy integration (payload 1.0)."""

    method: str
    path: str
    query: str  # as sent, URL-encoded
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    event: Mapping[str, Any]  # without its body: the script's EVENT (an environment variable must stay small)

    def event_json(self) -> str:
        return json.dumps(self.event, separators=(",", ":"))

    def query_values(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True))


def http_request(event: Mapping[str, Any]) -> HttpRequest | None:
    """The request an HTTP event carries; None when the event is not one (an S3 event)."""
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        return None
    if isinstance(context.get("http"), Mapping):  # a function URL (or an HTTP API)
        method = str(context["http"].get("method", "GET"))
        path = str(event.get("rawPath") or context["http"].get("path") or "/")
        query = str(event.get("rawQueryString") or "")
    elif "httpMethod" in event:  # a REST API's proxy integration, as SCAR's api_gateway made
        method, path = str(event["httpMethod"]), str(event.get("path") or "/")
        query = urllib.parse.urlencode(event.get("queryStringParameters") or {})
    else:
        return None
    raw = event.get("body") or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else str(raw).encode()
    except binascii.Error:
        raise EventError("the HTTP event says its body is base64 but it is not") from None
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return HttpRequest(method.upper(), path, query, headers, body,
                       {k: v for k, v in event.items() if k not in ("body", "isBase64Encoded")})
