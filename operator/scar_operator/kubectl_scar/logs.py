"""logs: the function's CloudWatch logs, or the Batch jobs' for a ScarBatchJob."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from scar_operator.kubectl_scar.errors import UserError, describe_aws_error
from scar_operator.kubectl_scar.targets import Target


def log_group(target: Target) -> str:
    group = target.status.get("logGroup")
    if not group:
        raise UserError(f"{target.kind} {target.namespace}/{target.name} has no log group yet (is it Ready?)")
    return str(group)


def print_logs(logs: Any, target: Target, request_id: str | None, follow: bool, out: TextIO | None = None,
               keep_going: Callable[[], bool] = lambda: True, poll_seconds: float = 2.0) -> int:
    out = out or sys.stdout
    group = log_group(target)
    arguments: dict[str, Any] = {"logGroupName": group}
    if request_id:
        arguments["filterPattern"] = f'"{request_id}"'
    seen: set[str] = set()
    start = 0
    printed = 0
    while True:
        try:
            pages = logs.get_paginator("filter_log_events").paginate(startTime=start, **arguments)
            events = [e for page in pages for e in page.get("events", [])]
        except Exception as e:
            raise describe_aws_error(e, f"reading log group {group}") from None
        for event in sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", ""))):
            if event.get("eventId") in seen:
                continue
            seen.add(event.get("eventId", ""))
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(event["timestamp"] / 1000))
            out.write(f"{stamp}  {event.get('logStreamName', '')}  {event['message'].rstrip()}\n")
            printed += 1
            start = max(start, int(event["timestamp"]))
        out.flush()
        if not follow or not keep_going():
            return printed
        time.sleep(poll_seconds)
