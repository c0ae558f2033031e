"""The Batch job entry point: `python -m lambda_supervisor batch`.

The dispatcher passes the S3 event in the job's environment (SCAR_EVENT); the request id is the
Batch job id, so outputs land under prefix/<job-id>/ (or the record's own, for an object the
operator dispatched from what was already in the bucket).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping

import boto3

from lambda_supervisor import logs
from lambda_supervisor.config import ConfigError, SupervisorConfig
from lambda_supervisor.events import EventError, s3_objects
from lambda_supervisor.supervisor import (
    ScriptFailedError,
    failure_message,
    process_object,
    record_request_id,
    stop_margin,
)

EVENT_ENV = "SCAR_EVENT"
# Seconds the job may run (its attempt timeout); the script is stopped before it, like in Lambda.
TIMEOUT_ENV = "SCAR_JOB_TIMEOUT"


def run_batch_job(environ: Mapping[str, str]) -> int:
    config = SupervisorConfig.from_environ(environ)
    logs.configure(config.log_level)
    if EVENT_ENV not in environ:
        raise EventError(f"{EVENT_ENV} is not set: this job was not submitted by a scar-operator dispatcher")
    try:
        event = json.loads(environ[EVENT_ENV])
    except json.JSONDecodeError as e:
        raise EventError(f"{EVENT_ENV} is not valid JSON: {e}") from None
    request_id = environ.get("AWS_BATCH_JOB_ID") or environ.get("REQUEST_ID") or "local"
    started = time.monotonic()
    timeout = float(environ[TIMEOUT_ENV]) if environ.get(TIMEOUT_ENV) else None

    def deadline() -> float | None:
        return None if timeout is None else started + timeout - stop_margin(timeout, config.timeout_threshold_seconds)

    s3 = boto3.client("s3")
    objects = s3_objects(event)
    results = [process_object(s3, obj, config, record_request_id(obj, request_id, i), deadline)
               for i, obj in enumerate(objects)]
    problem = failure_message(results)
    if problem is not None:
        logs.phase("failed", request_id, records=[r.summary() for r in results])
        raise ScriptFailedError(problem)
    logs.phase("done", request_id, outputs=sum(len(r.outputs) for r in results))
    return 0


def main() -> int:
    try:
        return run_batch_job(os.environ)
    except (ScriptFailedError, ConfigError, EventError) as e:
        # The job fails (Batch retries it per its retry strategy); the reason is the log's last line.
        print(f"scar: {e}", file=sys.stderr)
        return 1
