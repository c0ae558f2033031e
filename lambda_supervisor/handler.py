"""The Lambda handler of container-image functions: `lambda_supervisor.handler.lambda_handler`.

An S3 event runs the script on each record; an HTTP request (the function URL) runs it on the
request's body and answers with its output (see http_answer.py).
"""

from __future__ import annotations

import functools
import os
import time
from typing import Any

import boto3

from lambda_supervisor import logs
from lambda_supervisor.config import SupervisorConfig
from lambda_supervisor.events import http_request, s3_objects
from lambda_supervisor.http_answer import answer
from lambda_supervisor.supervisor import (
    ScriptFailedError,
    failure_message,
    process_object,
    record_request_id,
    stop_margin,
)


@functools.cache
def _client() -> Any:
    # Created once per container, reused by every warm invocation.
    return boto3.client("s3")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = SupervisorConfig.from_environ(os.environ)
    logs.configure(config.log_level)
    request_id = str(context.aws_request_id)

    def deadline() -> float:
        remaining = float(context.get_remaining_time_in_millis()) / 1000.0
        return time.monotonic() + remaining - stop_margin(remaining, config.timeout_threshold_seconds)

    request = http_request(event)
    if request is not None:
        logs.phase("start", request_id, http=request.method)
        response = answer(_client(), request, config, request_id, deadline)
        logs.phase("done", request_id, status=response["statusCode"])
        return response

    objects = s3_objects(event)
    logs.phase("start", request_id, records=len(objects))
    results = [
        # Each record of a multi-record event gets its own output folder.
        process_object(_client(), obj, config, record_request_id(obj, request_id, i), deadline)
        for i, obj in enumerate(objects)
    ]
    summary = {"requestId": request_id, "records": [r.summary() for r in results]}
    problem = failure_message(results)
    if problem is not None:
        logs.phase("failed", request_id, records=summary["records"])
        raise ScriptFailedError(problem)
    logs.phase("done", request_id, outputs=sum(len(r.outputs) for r in results))
    return summary
