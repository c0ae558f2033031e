"""kopf handlers: thin. They parse nothing themselves; they call a controller pass and turn its
result into a status patch and kopf's TemporaryError / PermanentError.

boto3 blocks, so every handler is a plain `def`: kopf runs it in its thread pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from scar_operator import (
    GROUP,
    VERSION,
    batch_controller,
    conditions,
    function_controller,
    log_levels,
    metrics,
    retry_delays,
)
from scar_operator.aws.rate_limits import RateLimiter, parse_overrides
from scar_operator.aws.session import AwsClients
from scar_operator.object_events import events_of
from scar_operator.outcome import PassResult
from scar_operator.settings import OperatorSettings

SETTINGS = OperatorSettings.from_environ()
log = logging.getLogger(__name__)
_clients: AwsClients | None = None
_clients_lock = threading.Lock()

# What an unfinished pass confirmed, by object: (generation, resource descriptions, when). kopf's
# retry of that pass, for the same generation and soon after, resumes after them instead of
# reading them all again; an older confirmation is read again (Ready must rest on fresh reads).
_confirmed: dict[str, tuple[int | None, frozenset[str], float]] = {}
_CONFIRMED_FOR_SECONDS = 120.0

# Change handlers and the periodic re-check of one object may run at once in kopf's thread pool;
# one lock per object keeps their passes (and their status writes) in sequence.
_object_locks: dict[str, threading.Lock] = {}
_object_locks_guard = threading.Lock()


def aws() -> AwsClients:
    global _clients
    with _clients_lock:
        if _clients is None:
            paced = SETTINGS.aws_rates.strip() != "off"
            limiter = RateLimiter(parse_overrides(SETTINGS.aws_rates) if paced else None,
                                  share=SETTINGS.aws_rate_share, enabled=paced)
            _clients = AwsClients(default_region=SETTINGS.default_region, limiter=limiter,
                                  slow_drift_seconds=SETTINGS.slow_drift_seconds)
        return _clients


def _object_lock(uid: str) -> threading.Lock:
    with _object_locks_guard:
        return _object_locks.setdefault(uid, threading.Lock())


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Keep kopf's bookkeeping in annotations of our own prefix: a structural schema on a real
    # API server would prune an undeclared status.kopf field and lose handler progress.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/cleanup"
    # Events are posted explicitly (object_events.py), never from log lines: kopf logs every retry
    # while AWS settles as an error, which would bury `kubectl describe` in Error events.
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    settings.execution.max_workers = SETTINGS.workers
    log_levels.install()
    if SETTINGS.metrics_port:
        metrics.serve(SETTINGS.metrics_port)


def _write_status(result: PassResult, patch: kopf.Patch, status: Mapping[str, Any],
                  generation: int | None) -> list[dict[str, Any]]:
    for key, value in result.fields.items():
        patch.status[key] = value
    updates = conditions.for_generation(result.conditions, status.get("conditions"), generation)
    merged = conditions.merge(status.get("conditions"), updates, generation)
    patch.status["conditions"] = merged
    if generation is not None:
        patch.status["observedGeneration"] = generation
    return merged


def pass_result_label(result: PassResult, deleting: bool) -> str:
    if result.permanent is not None:
        return "stalled"
    if result.retry_after is not None:
        return ("deleting" if deleting else "progressing") if result.settling else "retrying"
    return "deleted" if deleting else "ready"


def _run(
    controller: Callable[..., PassResult],
    *, body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, retry: int,
    deleting: bool = False,
) -> None:
    generation = meta.get("generation")
    uid = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
    kind = str(body.get("kind", ""))
    started = time.monotonic()
    with _object_lock(uid):
        remembered = _confirmed.pop(uid, None)
        recent = remembered is not None and time.monotonic() - remembered[2] < _CONFIRMED_FOR_SECONDS
        resume = remembered[1] if remembered and recent and retry > 0 and remembered[0] == generation else None
        extra: dict[str, Any] = {"confirmed": resume} if resume else {}
        try:
            result = controller(meta=meta, spec=spec, status=status, clients=aws(), settings=SETTINGS, **extra)
        except Exception as e:
            # A bug or an answer nobody foresaw: the object says so (not Ready, retrying) rather than
            # keeping a status from before, and the log keeps the traceback for whoever fixes it.
            log.exception("pass of %s/%s failed unexpectedly", meta.get("namespace"), meta.get("name"))
            result = PassResult(conditions.retrying("ReconcileError", f"{type(e).__name__}: {e}"),
                                retry_after=SETTINGS.retry_seconds)
        if result.retry_after is not None and result.permanent is None and result.confirmed and not deleting:
            _confirmed[uid] = (generation, frozenset(result.confirmed), time.monotonic())
    metrics.PASS_SECONDS.labels(kind).observe(time.monotonic() - started)
    outcome = pass_result_label(result, deleting)
    metrics.PASSES.labels(kind, outcome).inc()
    for event in events_of(result, status.get("conditions")):
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)
    written = _write_status(result, patch, status, generation)
    if outcome == "deleted":
        metrics.object_gone(uid)
    else:
        metrics.object_state(uid, kind, written)
    if result.permanent is not None:
        if deleting:
            # Never let go of the finalizer on a terminal error: that would leak what AWS still holds.
            raise kopf.TemporaryError(result.permanent, delay=retry_delays.backoff(SETTINGS.retry_seconds, retry + 2))
        raise kopf.PermanentError(result.permanent)
    if result.retry_after is not None:
        # AWS settling is polled from a short first delay; throttling and conflicts back off further.
        if result.settling:
            delay = retry_delays.settle_delay(SETTINGS.settle_first_seconds, result.retry_after, retry)
            raise kopf.TemporaryError(log_levels.SETTLING + (result.message or "waiting"), delay=delay)
        raise kopf.TemporaryError(log_levels.RETRYING + (result.message or "retrying"),
                                  delay=retry_delays.backoff(result.retry_after, retry))


def _register(plural: str, handler_prefix: str, reconcile: Callable[..., PassResult],
              teardown: Callable[..., PassResult]) -> None:
    """The same three handlers for each kind: changes, the periodic drift check, and deletion."""

    def changed(
        body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, retry: int,
        **_: Any,
    ) -> None:
        _run(reconcile, body=body, meta=meta, spec=spec, status=status, patch=patch, retry=retry)

    def resync(body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
               **kwargs: Any) -> None:
        if meta.get("deletionTimestamp"):
            return
        _run(reconcile, body=body, meta=meta, spec=spec, status=status, patch=patch,
             retry=int(kwargs.get("retry", 0)))

    def deleted(
        body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, retry: int,
        **_: Any,
    ) -> None:
        _run(teardown, body=body, meta=meta, spec=spec, status=status, patch=patch, retry=retry, deleting=True)

    # Explicit ids: kopf records handler progress under them, so they must not change between releases.
    for register in (kopf.on.resume, kopf.on.create, kopf.on.update):
        register(GROUP, VERSION, plural, id=f"{handler_prefix}_changed")(changed)
    kopf.timer(GROUP, VERSION, plural, id=f"{handler_prefix}_resync", interval=SETTINGS.resync_seconds,
               initial_delay=SETTINGS.resync_seconds)(resync)
    kopf.on.delete(GROUP, VERSION, plural, id=f"{handler_prefix}_deleted")(deleted)


_register("scarfunctions", "function", function_controller.reconcile, function_controller.teardown)
_register("scarbatchjobs", "batch_job", batch_controller.reconcile, batch_controller.teardown)
