"""Prometheus metrics of the operator: is it keeping up, and what does it cost in AWS calls?

Served on `/metrics` (SCAR_METRICS_PORT, 8080 beside kopf's /healthz by default: see
manifests/deployment.yaml). README ("Metrics") gives the queries that answer "is it keeping up".
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()

PASSES = Counter("scar_passes", "Reconcile and teardown passes, by kind and result "
                 "(ready, progressing, retrying, stalled, deleted, deleting).",
                 ["kind", "result"], registry=REGISTRY)
PASS_SECONDS = Histogram("scar_pass_duration_seconds", "Wall time of one pass, AWS calls and pacing included.",
                         ["kind"], registry=REGISTRY,
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
AWS_CALLS = Counter("scar_aws_calls", "AWS API attempts (retries included), by service, operation and outcome "
                    "(ok, not_found, throttled, error).", ["service", "operation", "outcome"], registry=REGISTRY)
LIMITER_WAIT = Counter("scar_aws_limiter_wait_seconds", "Time calls waited for the client-side rate limiter.",
                       ["service", "api_class", "region"], registry=REGISTRY)
OBJECTS = Gauge("scar_objects", "Objects by kind and the status of their Ready and Stalled conditions.",
                ["kind", "ready", "stalled"], registry=REGISTRY)

# AWS's throttling error codes across services (botocore's standard retry mode knows the same).
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
})

_states: dict[str, tuple[str, str, str]] = {}
_states_lock = threading.Lock()


def serve(port: int) -> None:
    start_http_server(port, registry=REGISTRY)


def call_outcome(status: int, error_code: str | None) -> str:
    if error_code in THROTTLING_CODES or status == 429:
        return "throttled"
    if status == 404:
        return "not_found"  # an observe that found nothing: an answer, not a failure
    return "ok" if status < 400 and not error_code else "error"


def record_attempt(service: str, operation: str, response: Any, caught: BaseException | None) -> None:
    """botocore's `needs-retry` event, once per HTTP attempt."""
    if caught is not None or response is None:
        AWS_CALLS.labels(service, operation, "error").inc()
        return
    http_response, parsed = response
    code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, Mapping) else None
    AWS_CALLS.labels(service, operation, call_outcome(int(http_response.status_code), code)).inc()


def object_state(uid: str, kind: str, conditions: Sequence[Mapping[str, Any]] | None) -> None:
    """Count the object under its current Ready / Stalled statuses (moving it from the last ones)."""
    by_type = {c.get("type"): str(c.get("status", "Unknown")) for c in conditions or []}
    state = (kind, by_type.get("Ready", "Unknown"), by_type.get("Stalled", "Unknown"))
    with _states_lock:
        previous = _states.get(uid)
        if previous == state:
            return
        if previous is not None:
            OBJECTS.labels(*previous).dec()
        OBJECTS.labels(*state).inc()
        _states[uid] = state


def object_gone(uid: str) -> None:
    with _states_lock:
        previous = _states.pop(uid, None)
        if previous is not None:
            OBJECTS.labels(*previous).dec()
