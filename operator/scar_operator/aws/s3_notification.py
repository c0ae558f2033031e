"""This owner's entries in a bucket's notification configuration.

PutBucketNotificationConfiguration replaces the bucket's whole configuration, so every write
reads it first, replaces only the entries whose ids carry this owner's prefix, and keeps
everyone else's entries (topics, queues, other functions, EventBridge) as they were.

S3 offers no conditional write here, so two writers of one bucket can undo each other. Within
this operator, writes to a bucket are serialised (two objects torn down at once on the same
bucket once left an entry behind); between separate operator installations sharing a bucket the
race remains, and the periodic re-check restores the entries of live objects.

Serialised writes of one shared bucket would make a bulk apply quadratic (each object reading
and rewriting a configuration that grows with every object) and spend the bucket-configuration
rate on one call pair per object. So the writer holding a bucket's turn carries every change
queued for that bucket meanwhile in its one read and one write (group commit).
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.errors import AwsError, ErrorKind, call, call_or_none
from scar_operator.aws.notification_overlaps import OverlapIndex, key_filter
from scar_operator.function.desired import NotificationEntry, canonical
from scar_operator.reconciler import Observation


@dataclass
class _Change:
    """One owner's wanted entries on a bucket, waiting for the bucket's next write."""

    s3: Any
    id_prefix: str
    entries: tuple[NotificationEntry, ...]
    written: bool = False
    error: BaseException | None = None


@dataclass
class _WriteTurn:
    """One writer at a time per bucket; the changes queued meanwhile go with the next write."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    queued: list[_Change] = field(default_factory=list)
    queue_guard: threading.Lock = field(default_factory=threading.Lock)

    def join(self, change: _Change) -> None:
        with self.queue_guard:
            self.queued.append(change)

    def take(self, s3: Any) -> list[_Change]:
        # Only changes made with the same client (account and region) share a write.
        with self.queue_guard:
            mine = [c for c in self.queued if c.s3 is s3]
            self.queued = [c for c in self.queued if c.s3 is not s3]
        return mine


@dataclass(frozen=True)
class _Answer:
    """A bucket's configuration as read or written at `at` (monotonic), with its entries indexed."""

    at: float
    configuration: dict[str, Any] | None
    index: OverlapIndex


def _answer(configuration: dict[str, Any] | None, index: OverlapIndex | None = None) -> _Answer:
    if index is None:
        index = OverlapIndex(e for section in _SECTIONS for e in (configuration or {}).get(section, []))
    return _Answer(_clock(), configuration, index)


@dataclass
class _SharedRead:
    """One reader at a time per bucket; the last answer per client serves the readers after it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    recent: weakref.WeakKeyDictionary[Any, _Answer] = field(default_factory=weakref.WeakKeyDictionary)


# How long one read of a bucket's configuration answers every object of this operator that reads
# it. A pass is that old anyway by the time it writes; a write of this operator replaces the answer
# with what it wrote.
SHARED_READ_SECONDS = 1.0
_clock = time.monotonic

# Per bucket: reads do not wait behind a write, nor writes behind reads.
_write_turns: dict[str, _WriteTurn] = {}
_shared_reads: dict[str, _SharedRead] = {}
_turns_guard = threading.Lock()


def _write_turn(bucket: str) -> _WriteTurn:
    with _turns_guard:
        return _write_turns.setdefault(bucket, _WriteTurn())


def _shared_read(bucket: str) -> _SharedRead:
    with _turns_guard:
        return _shared_reads.setdefault(bucket, _SharedRead())


_SECTIONS = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")


@dataclass
class BucketNotifications:
    s3: Any
    bucket: str
    id_prefix: str
    entries: tuple[NotificationEntry, ...]
    # This owner's entries as check_fits read them, for the same pass's observe: one read of the
    # bucket per pass. Only those are kept: a pass that waits long (for the rate limiter) while
    # holding a whole configuration of a bucket that a thousand objects share would keep
    # megabytes alive, and each waiting pass a different one.
    _checked: list[dict[str, Any]] | None = field(default=None, init=False, repr=False)

    @property
    def describe(self) -> str:
        return f"S3 notifications of this object on bucket {self.bucket}"

    def _read(self) -> dict[str, Any] | None:
        found: dict[str, Any] | None = call_or_none(
            "GetBucketNotificationConfiguration",
            lambda: self.s3.get_bucket_notification_configuration(Bucket=self.bucket),
        )
        if found is None:
            return None
        return {k: v for k, v in found.items() if k in (*_SECTIONS, "EventBridgeConfiguration")}

    def _ours(self, configuration: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            e for e in configuration.get("LambdaFunctionConfigurations", [])
            if str(e.get("Id", "")).startswith(self.id_prefix)
        ]

    def _read_shared(self) -> _Answer:
        """The bucket's configuration, read at most once a second for every object reading it.

        A bulk apply or delete of objects sharing a bucket, and every resync of them, would
        otherwise read (and parse) a configuration that grows with every object once per object:
        quadratic in the objects, and the bucket-configuration rate spent on the same answer.
        The answer is shared: nobody may change it.
        """
        turn = _shared_read(self.bucket)
        with turn.lock:
            recent = turn.recent.get(self.s3)
            if recent is not None and _clock() - recent.at < SHARED_READ_SECONDS:
                return recent
            answer = turn.recent[self.s3] = _answer(self._read())
            return answer

    def _share_written(self, document: dict[str, Any], index: OverlapIndex) -> None:
        """What this operator just wrote is what the bucket holds now: the next readers are told
        that instead of reading it back (or being told what it held before the write)."""
        turn = _shared_read(self.bucket)
        with turn.lock:
            turn.recent[self.s3] = _answer(document, index)

    def observe(self) -> Observation:
        ours, self._checked = self._checked, None
        if ours is None:
            configuration = self._read_shared().configuration
            if configuration is None:
                return Observation(exists=False, in_sync=not self.entries)
            ours = self._ours(configuration)
        in_sync = sorted(map(_normal, ours)) == sorted(_normal(e.to_aws()) for e in self.entries)
        return Observation(exists=bool(ours), in_sync=in_sync)

    def check_fits(self) -> None:
        """Read-only, before any write of the pass: the entries would not overlap another owner's."""
        answer = self._read_shared()
        if answer.configuration is not None:
            self._checked = self._ours(answer.configuration)
            self._refuse_overlaps(self.entries, answer.index, frozenset(id(e) for e in self._checked))

    def _refuse_overlaps(self, entries: tuple[NotificationEntry, ...], others: OverlapIndex,
                         ignore: frozenset[int] = frozenset()) -> None:
        # S3 would refuse the whole write with a bare "Configurations overlap": say which entry is in the way.
        for entry in entries:
            other = others.overlapping(entry.to_aws(), ignore)
            if other is not None:
                message = _overlap_message(self.bucket, entry, other)
                raise AwsError(ErrorKind.TERMINAL, "OverlappingTrigger", message,
                               "PutBucketNotificationConfiguration")

    def create(self) -> str | None:
        return self._write(self.entries)

    def update(self) -> str | None:
        return self._write(self.entries)

    def delete(self) -> str | None:
        return self._write(())

    def _write(self, entries: tuple[NotificationEntry, ...]) -> str | None:
        change = _Change(self.s3, self.id_prefix, entries)
        turn = _write_turn(self.bucket)
        turn.join(change)
        with turn.lock:
            if not change.written:
                self._write_together(turn.take(self.s3))
        if change.error is not None:
            raise change.error
        return None

    def _write_together(self, changes: list[_Change]) -> None:
        try:
            self._read_modify_write(changes)
        except AwsError as e:
            if len(changes) == 1 or e.kind in (ErrorKind.THROTTLED, ErrorKind.RETRY):
                for change in changes:
                    change.error = change.error or e
            else:
                # S3 refused the whole document (say, one function it could not validate): each
                # change on its own, so that one object's refusal is not every object's.
                for change in changes:
                    change.error = None
                    self._write_together([change])
        except Exception as e:
            for change in changes:
                change.error = change.error or e
        finally:
            for change in changes:
                change.written = True

    def _read_modify_write(self, changes: list[_Change]) -> None:
        configuration = self._read()
        if configuration is None:
            gone = AwsError(ErrorKind.RETRY, "NoSuchBucket", f"bucket {self.bucket} does not exist yet", "Get")
            for change in changes:
                # Deleting entries from a bucket that is gone is done: so are they.
                change.error = gone if change.entries else None
            return
        prefixes = tuple(c.id_prefix for c in changes)
        replaced = {id(e) for e in configuration.get("LambdaFunctionConfigurations", [])
                    if str(e.get("Id", "")).startswith(prefixes)}
        merged = {
            section: [e for e in configuration.get(section, []) if id(e) not in replaced]
            for section in _SECTIONS
        }
        index = OverlapIndex(e for section in _SECTIONS for e in merged[section])
        for change in changes:
            try:
                self._refuse_overlaps(change.entries, index)
                kept = [e.to_aws() for e in change.entries]
            except AwsError as refused:
                change.error = refused
                # What it had stays as it was: a refused change removes nothing either.
                kept = [e for e in configuration.get("LambdaFunctionConfigurations", [])
                        if str(e.get("Id", "")).startswith(change.id_prefix)]
            merged["LambdaFunctionConfigurations"].extend(kept)
            for entry in kept:
                index.add(entry)
        if all(c.error is not None for c in changes):
            return
        document: dict[str, Any] = {k: v for k, v in merged.items() if v}
        if "EventBridgeConfiguration" in configuration:
            document["EventBridgeConfiguration"] = configuration["EventBridgeConfiguration"]
        call(
            "PutBucketNotificationConfiguration",
            lambda: self.s3.put_bucket_notification_configuration(
                Bucket=self.bucket, NotificationConfiguration=document
            ),
        )
        self._share_written(document, index)


def _overlap_message(bucket: str, entry: NotificationEntry, other: dict[str, Any]) -> str:
    destination = other.get("LambdaFunctionArn") or other.get("QueueArn") or other.get("TopicArn") or "?"
    prefix, suffix = key_filter(other)
    return (f"spec.input: the trigger on s3://{bucket}/{entry.prefix}*{entry.suffix} overlaps the bucket's "
            f"notification {other.get('Id', '(no id)')!r} (to {destination}, prefix {prefix!r}, suffix {suffix!r}); "
            f"S3 refuses two notifications for the same event that can match the same key: narrow the prefix or "
            f"suffix of one of them")


def _normal(entry: dict[str, Any]) -> str:
    return canonical([entry.get("Id"), entry.get("LambdaFunctionArn"), sorted(entry.get("Events", [])),
                      key_filter(entry)])
