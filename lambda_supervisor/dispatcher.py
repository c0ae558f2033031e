"""The dispatcher Lambda of a ScarBatchJob (zip-packaged, Python runtime, boto3 only):
one Batch job per S3 record, the record passed in the job's environment."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from typing import Any

import boto3

from lambda_supervisor.batch import EVENT_ENV
from lambda_supervisor.config import SupervisorConfig
from lambda_supervisor.events import s3_objects

# Batch refuses container overrides over 8 KiB in all; leave room for the variable's name and JSON.
OVERRIDES_LIMIT_BYTES = 8192 - 512

@functools.cache
def _client() -> Any:
    # Created once per container, reused by every warm invocation.
    return boto3.client("batch")


def job_name(prefix: str, key: str) -> str:
    """Batch job names: letters, digits, '-' and '_', at most 128; the key's name helps in the console."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", key.rsplit("/", 1)[-1])[:80].strip("-") or "object"
    return f"{prefix}-{stem}"[:128]


def compact_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the job needs of a record when the whole record would not fit in the overrides."""
    s3 = record["s3"]
    return {
        **({"scar": record["scar"]} if "scar" in record else {}),
        "eventSource": record.get("eventSource", "aws:s3"),
        "eventName": record.get("eventName", "ObjectCreated:Put"),
        "eventTime": record.get("eventTime"),
        "s3": {"bucket": {"name": s3["bucket"]["name"]},
               "object": {k: v for k, v in s3["object"].items() if k in ("key", "size", "eTag", "versionId")}},
    }


def event_for_job(record: Mapping[str, Any]) -> str:
    text = json.dumps({"Records": [record]}, separators=(",", ":"))
    if len(text.encode()) <= OVERRIDES_LIMIT_BYTES:
        return text
    text = json.dumps({"Records": [compact_record(record)]}, separators=(",", ":"))
    if len(text.encode()) > OVERRIDES_LIMIT_BYTES:
        raise ValueError("the S3 record does not fit in Batch's 8 KiB container overrides even when compacted")
    return text


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = SupervisorConfig.from_environ(os.environ)
    if config.batch is None:
        raise RuntimeError("this function is not a dispatcher: its configuration names no Batch queue")
    batch = _client()
    jobs = []
    for obj in s3_objects(event):
        submitted = batch.submit_job(
            jobName=job_name(config.batch.job_name_prefix, obj.key),
            jobQueue=config.batch.job_queue,
            jobDefinition=config.batch.job_definition,
            containerOverrides={"environment": [{"name": EVENT_ENV, "value": event_for_job(obj.record)}]},
        )
        jobs.append({"jobId": submitted["jobId"], "jobName": submitted["jobName"],
                     "input": f"s3://{obj.bucket}/{obj.key}"})
        print(json.dumps({"phase": "submitted", "requestId": getattr(context, "aws_request_id", ""), **jobs[-1]}))
    return {"jobs": jobs}
