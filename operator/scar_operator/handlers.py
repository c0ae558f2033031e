"""kopf handlers: thin. They parse nothing themselves; they call a controller pass and turn its
result into a status patch and kopf's TemporaryError / PermanentError.

boto3 blocks, so every handler is a plain `def`: kopf runs it in its thread pool.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import boto3
import kopf

from scar_operator import (
    GROUP,
    VERSION,
    conditions,
    existing_objects,
    kube_connections,
    log_levels,
    metrics,
    retry_delays,
    slim_bodies,
)
from scar_operator.account import controller as account_controller
from scar_operator.account import enforcement, propagation
from scar_operator.account.selection import AccountEntry, Tenancy, account_entry, tenancy_of
from scar_operator.account.sessions import AccountSessions
from scar_operator.aws.errors import AwsError
from scar_operator.aws.rate_limits import RateLimiter, parse_overrides
from scar_operator.aws.session import AwsClients
from scar_operator.batchjob import controller as batch_controller
from scar_operator.batchjob.pool_members import PoolMembers, kubernetes_lister
from scar_operator.function import controller as function_controller
from scar_operator.object_events import events_of
from scar_operator.outcome import PassResult
from scar_operator.settings import OperatorSettings

SETTINGS = OperatorSettings.from_environ()
log = logging.getLogger(__name__)
kube_connections.install(SETTINGS.kube_requests)
_sessions: AccountSessions | None = None
_sessions_lock = threading.Lock()

# What an unfinished pass confirmed, by object: (generation, resource descriptions, when). kopf's
# retry of that pass, for the same generation and soon after, resumes after them instead of
# reading them all again; an older confirmation is read again (Ready must rest on fresh reads).
_confirmed: dict[str, tuple[int | None, frozenset[str], float]] = {}
_CONFIRMED_FOR_SECONDS = 120.0

# Objects whose teardown completed (uid -> when, oldest first). kopf now and then runs an object's
# deletion handler once more, from an event it had queued before its own finalizer removal was
# seen (357 of 1,000 objects in a bulk delete); that run would find nothing, at the price of three
# reads answering 404. A uid is never reused and nothing makes AWS resources for an object being
# deleted, so the first teardown's answer stands.
_torn_down: dict[str, float] = {}
_TORN_DOWN_FOR_SECONDS = 600.0

# Objects that have had a pass in this process. kopf hands a timer the body it last saw, which may
# predate the status the object's first pass just wrote: without this, that re-check would take
# the object for a new one and try to make what exists (a refused CreateFunction, say).
_passed: set[str] = set()

# Change handlers and the periodic re-check of one object may run at once in kopf's thread pool;
# one lock per object keeps their passes (and their status writes) in sequence.
_object_locks: dict[str, threading.Lock] = {}
_object_locks_guard = threading.Lock()


def _clients(session: boto3.Session | None = None, permissions_boundary_arn: str | None = None) -> AwsClients:
    """Clients of one AWS identity (the operator's, or an account's assumed role), with a rate
    limiter of their own: AWS's quotas are per account."""
    paced = SETTINGS.aws_rates.strip() != "off"
    limiter = RateLimiter(parse_overrides(SETTINGS.aws_rates) if paced else None,
                          share=SETTINGS.aws_rate_share, enabled=paced)
    return AwsClients(default_region=SETTINGS.default_region, session=session, limiter=limiter,
                      slow_drift_seconds=SETTINGS.slow_drift_seconds,
                      permissions_boundary_arn=permissions_boundary_arn,
                      # kopf's workers and the existing-objects workers may all call one service at once.
                      connections=SETTINGS.workers + SETTINGS.existing_workers)


def sessions() -> AccountSessions:
    global _sessions
    with _sessions_lock:
        if _sessions is None:
            _sessions = AccountSessions(_clients(), _clients)
        return _sessions


@kopf.index("", "v1", "namespaces", id="namespace_labels")
def namespace_labels(name: str, labels: kopf.Labels, **_: Any) -> dict[str, dict[str, str]]:
    # kopf runs no other handler until every index is filled: no object acts before the
    # accounts that may govern it are known.
    return {name: dict(labels)}


@kopf.index(GROUP, VERSION, "scaraccounts", id="scar_accounts")
def scar_accounts(name: str, spec: kopf.Spec, **_: Any) -> dict[str, AccountEntry]:
    return {name: account_entry(dict(spec))}


# The objects of each namespace, so that a change of who a namespace acts as reaches them at once.
_known_objects = propagation.KnownObjects()
_PLURALS = {"ScarFunction": "scarfunctions", "ScarBatchJob": "scarbatchjobs"}
_tenancy_changes = propagation.TenancyChanges()
_annotate: propagation.Annotate | None = None


async def _retell_changed_tenancies(namespaces: Iterable[str], indexes: Mapping[str, Any]) -> None:
    """Objects of namespaces whose tenancy changed since last seen hear of it now (propagation.py).

    Async, unlike the object handlers: a change must not queue behind the passes that fill kopf's
    thread pool (with 1,000 passes queued, a namespace's new labels waited 40 s for a worker). The
    annotation writes block, so they run in a thread of their own.
    """
    global _annotate
    fingerprints = {namespace: propagation.fingerprint(tenancy(namespace, indexes)) for namespace in namespaces}
    changed = _tenancy_changes.changed(fingerprints)
    if not changed:
        return
    objects = _known_objects.of(changed)
    if _annotate is None:
        _annotate = propagation.kubernetes_annotator()
    await asyncio.to_thread(propagation.nudge, objects, changed, _annotate)


@kopf.on.event("", "v1", "namespaces", id="namespace_tenancy")
async def namespace_tenancy(name: str, type: str | None, **kwargs: Any) -> None:
    if type == "DELETED":
        _tenancy_changes.forget(name)
        return
    await _retell_changed_tenancies([name], kwargs)


@kopf.on.event(GROUP, VERSION, "scaraccounts", id="account_tenancy")
async def account_tenancy(**kwargs: Any) -> None:
    labels_index: kopf.Index[str, dict[str, str]] = kwargs["namespace_labels"]
    await _retell_changed_tenancies(list(labels_index), kwargs)


def _list_batch_jobs() -> Iterable[Mapping[str, Any]]:
    return kubernetes_lister(SETTINGS.list_chunk)()


# Who is in which compute pool (batchjob/pool_members.py): from the passes, the watch, one listing.
_pool_members = PoolMembers(_list_batch_jobs)


@kopf.on.event(GROUP, VERSION, "scarbatchjobs", id="batch_job_pools")
async def batch_job_pools(body: kopf.Body, type: str | None, **_: Any) -> None:
    # Async and quick: it must not wait behind the passes queued for kopf's thread pool.
    _pool_members.seen(body, deleted=type == "DELETED")


def _first(index: kopf.Index[str, Any], key: str) -> Any:
    return next(iter(index.get(key, [])), None)


def tenancy(namespace: str, indexes: Mapping[str, Any]) -> Tenancy:
    labels_index: kopf.Index[str, dict[str, str]] = indexes["namespace_labels"]
    accounts_index: kopf.Index[str, AccountEntry] = indexes["scar_accounts"]
    accounts = {name: _first(accounts_index, name) for name in accounts_index}
    return tenancy_of(namespace, _first(labels_index, namespace), accounts, SETTINGS.require_account)


def _remember_torn_down(uid: str | None) -> None:
    if not uid:
        return  # by the API server's uid only: a name comes back with a new object
    now = time.monotonic()
    _torn_down.pop(uid, None)
    _torn_down[uid] = now
    for old in [u for u, at in itertools.islice(_torn_down.items(), 64) if now - at > _TORN_DOWN_FOR_SECONDS]:
        del _torn_down[old]


def _recently_torn_down(uid: str | None) -> bool:
    at = _torn_down.get(uid) if uid else None
    return at is not None and time.monotonic() - at < _TORN_DOWN_FOR_SECONDS


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
    # Events are posted by as many workers as requests may be in flight (kube_connections.py): more
    # would only wait for a turn, each holding a queue and a task of its own.
    settings.posting.worker_limit = SETTINGS.kube_requests
    # An object's worker waits this long for its next watch event before it ends; one that is
    # done soon keeps no queue and task for each of a thousand objects that went quiet.
    settings.batching.idle_timeout = 1.0
    # A restart lists every object: in chunks, the list is never in memory whole (1,000 objects with
    # their managedFields, parsed at once, took a restarted operator to 266 MB on kube-apiserver).
    settings.watching.chunk_size = SETTINGS.list_chunk
    slim_bodies.install()
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
    indexes: Mapping[str, Any], deleting: bool = False,
) -> None:
    generation = meta.get("generation")
    uid = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
    kind = str(body.get("kind", ""))
    namespace = str(meta.get("namespace"))
    if kind in _PLURALS:
        _known_objects.add(_PLURALS[kind], namespace, str(meta.get("name")), uid)
    started = time.monotonic()
    with _object_lock(uid):
        remembered = _confirmed.pop(uid, None)
        recent = remembered is not None and time.monotonic() - remembered[2] < _CONFIRMED_FOR_SECONDS
        resume = remembered[1] if remembered and recent and retry > 0 and remembered[0] == generation else None
        extra: dict[str, Any] = {"confirmed": resume} if resume else {}
        acting_as = tenancy(namespace, indexes)
        if not deleting:
            extra["tenancy"] = acting_as
            if uid in _passed:
                extra["first_pass"] = False
        try:
            if deleting and _recently_torn_down(meta.get("uid")):
                result = PassResult(conditions.deleting("AWS resources removed"))
            else:
                clients = sessions().clients_for(acting_as.account_name, acting_as.account)
                refused = enforcement.teardown_refused(acting_as, status) if deleting else None
                result = refused or controller(meta=meta, spec=spec, status=status, clients=clients,
                                               settings=SETTINGS, **extra)
        except Exception as e:
            # A bug or an answer nobody foresaw: the object says so (not Ready, retrying) rather than
            # keeping a status from before, and the log keeps the traceback for whoever fixes it.
            log.exception("pass of %s/%s failed unexpectedly", meta.get("namespace"), meta.get("name"))
            result = PassResult(conditions.retrying("ReconcileError", f"{type(e).__name__}: {e}"),
                                retry_after=SETTINGS.retry_seconds)
        if not deleting:
            _passed.add(uid)
        if result.retry_after is not None and result.permanent is None and result.confirmed and not deleting:
            _confirmed[uid] = (generation, frozenset(result.confirmed), time.monotonic())
        if deleting and result.retry_after is None and result.permanent is None:
            _remember_torn_down(meta.get("uid"))
            _known_objects.remove(namespace, uid)
            _passed.discard(uid)
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
            first = result.retry_after if result.long_wait else SETTINGS.settle_first_seconds
            delay = retry_delays.settle_delay(first, result.retry_after, retry)
            raise kopf.TemporaryError(log_levels.SETTLING + (result.message or "waiting"), delay=delay)
        raise kopf.TemporaryError(log_levels.RETRYING + (result.message or "retrying"),
                                  delay=retry_delays.backoff(result.retry_after, retry))


def _register(plural: str, handler_prefix: str, reconcile: Callable[..., PassResult],
              teardown: Callable[..., PassResult]) -> None:
    """The same three handlers for each kind: changes, the periodic drift check, and deletion."""

    def changed(
        body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, retry: int,
        **kwargs: Any,
    ) -> None:
        _run(reconcile, body=body, meta=meta, spec=spec, status=status, patch=patch, retry=retry, indexes=kwargs)

    def resync(body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
               **kwargs: Any) -> None:
        if meta.get("deletionTimestamp"):
            return
        _run(reconcile, body=body, meta=meta, spec=spec, status=status, patch=patch,
             retry=int(kwargs.get("retry", 0)), indexes=kwargs)

    def deleted(
        body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch, retry: int,
        **kwargs: Any,
    ) -> None:
        _run(teardown, body=body, meta=meta, spec=spec, status=status, patch=patch, retry=retry, indexes=kwargs,
             deleting=True)

    # Explicit ids: kopf records handler progress under them, so they must not change between releases.
    for register in (kopf.on.resume, kopf.on.create, kopf.on.update):
        register(GROUP, VERSION, plural, id=f"{handler_prefix}_changed")(changed)
    kopf.timer(GROUP, VERSION, plural, id=f"{handler_prefix}_resync", interval=SETTINGS.resync_seconds,
               initial_delay=SETTINGS.resync_seconds)(resync)
    kopf.on.delete(GROUP, VERSION, plural, id=f"{handler_prefix}_deleted")(deleted)


_register("scarfunctions", "function", function_controller.reconcile, function_controller.teardown)
_register("scarbatchjobs", "batch_job", functools.partial(batch_controller.reconcile, pools=_pool_members),
          functools.partial(batch_controller.teardown, pools=_pool_members))


def _has_existing_work(meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, **_: Any) -> bool:
    return not meta.get("deletionTimestamp") and existing_objects.has_work(meta, spec, status)


def _existing_tick(body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
                   **kwargs: Any) -> None:
    """One tick of a run over what is already under the inputs (existing_objects.py)."""
    uid = str(meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}")
    with _object_lock(uid):
        acting_as = tenancy(str(meta.get("namespace")), kwargs)
        if acting_as.refusal is not None:
            return
        state = existing_objects.new_run(meta, spec, status, datetime.datetime.now(datetime.UTC)) \
            or dict(status.get("existingObjects") or {})
        if state.get("phase") not in ("Counting", "Dispatching"):
            return
        function = status.get("functionName") or status.get("dispatcherFunctionName")
        region = status.get("region")
        if not function or not region:
            return
        clients = sessions().clients_for(acting_as.account_name, acting_as.account)
        owner = f"{body.get('kind')}/{meta.get('namespace')}/{meta.get('name')}"
        run = existing_objects.Run(
            clients.client("s3", region), clients.client("lambda", region), str(function), owner,
            existing_objects.sources_of(spec, state.get("prefix")), state,
            existing_objects.Pacing(SETTINGS.existing_chunk, SETTINGS.existing_workers))
        try:
            patch.status["existingObjects"] = run.tick()
        except AwsError as e:
            # Throttled or refused while listing or dispatching: the run stays where it was recorded.
            patch.status["existingObjects"] = {**state, "message": str(e)}


for _plural, _prefix in (("scarfunctions", "function"), ("scarbatchjobs", "batch_job")):
    kopf.timer(GROUP, VERSION, _plural, id=f"{_prefix}_existing", interval=SETTINGS.existing_tick_seconds,
               when=_has_existing_work)(_existing_tick)


def _account_pass(name: str, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
                  indexes: Mapping[str, Any]) -> None:
    labels_index: kopf.Index[str, dict[str, str]] = indexes["namespace_labels"]
    namespaces = {namespace: _first(labels_index, namespace) or {} for namespace in labels_index}
    result = account_controller.check(name, dict(spec), namespaces, sessions())
    generation = meta.get("generation")
    _write_status(result, patch, status, generation)
    if result.permanent is not None:
        raise kopf.PermanentError(result.permanent)


@kopf.on.resume(GROUP, VERSION, "scaraccounts", id="account_changed")
@kopf.on.create(GROUP, VERSION, "scaraccounts", id="account_changed")
@kopf.on.update(GROUP, VERSION, "scaraccounts", id="account_changed")
def account_changed(name: str, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
                    **kwargs: Any) -> None:
    _account_pass(name, meta, spec, status, patch, kwargs)


@kopf.timer(GROUP, VERSION, "scaraccounts", id="account_resync", interval=SETTINGS.resync_seconds,
            initial_delay=SETTINGS.resync_seconds)
def account_resync(name: str, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status, patch: kopf.Patch,
                   **kwargs: Any) -> None:
    _account_pass(name, meta, spec, status, patch, kwargs)


@kopf.on.delete(GROUP, VERSION, "scaraccounts", id="account_deleted", optional=True)
def account_deleted(name: str, **_: Any) -> None:
    sessions().forget(name)
