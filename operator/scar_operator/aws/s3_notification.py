"""This owner's entries in a bucket's notification configuration.

PutBucketNotificationConfiguration replaces the bucket's whole configuration, so every write
reads it first, replaces only the entries whose ids carry this owner's prefix, and keeps
everyone else's entries (topics, queues, other functions, EventBridge) as they were.

S3 offers no conditional write here, so two writers of one bucket can undo each other. Within
this operator, writes to a bucket are serialised (two objects torn down at once on the same
bucket once left an entry behind); between separate operator installations sharing a bucket the
race remains, and the periodic re-check restores the entries of live objects.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.errors import AwsError, ErrorKind, call, call_or_none
from scar_operator.desired import NotificationEntry, canonical
from scar_operator.models import key_filters_overlap, s3_events_overlap
from scar_operator.reconciler import Observation

_bucket_locks: dict[str, threading.Lock] = {}
_bucket_locks_guard = threading.Lock()


def _bucket_lock(bucket: str) -> threading.Lock:
    with _bucket_locks_guard:
        return _bucket_locks.setdefault(bucket, threading.Lock())


_SECTIONS = ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations")


@dataclass
class BucketNotifications:
    s3: Any
    bucket: str
    id_prefix: str
    entries: tuple[NotificationEntry, ...]
    # What check_fits read, for the same pass's observe: one read of the bucket per pass.
    _checked: dict[str, Any] | None = field(default=None, init=False, repr=False)

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

    def observe(self) -> Observation:
        configuration = self._checked if self._checked is not None else self._read()
        self._checked = None
        if configuration is None:
            return Observation(exists=False, in_sync=not self.entries)
        ours = self._ours(configuration)
        in_sync = sorted(map(_normal, ours)) == sorted(_normal(e.to_aws()) for e in self.entries)
        return Observation(exists=bool(ours), in_sync=in_sync)

    def check_fits(self) -> None:
        """Read-only, before any write of the pass: the entries would not overlap another owner's."""
        configuration = self._checked = self._read()
        if configuration is not None:
            ours = {id(e) for e in self._ours(configuration)}
            others = [e for section in _SECTIONS for e in configuration.get(section, []) if id(e) not in ours]
            self._refuse_overlaps(self.entries, others)

    def _refuse_overlaps(self, entries: tuple[NotificationEntry, ...], others: list[dict[str, Any]]) -> None:
        # S3 would refuse the whole write with a bare "Configurations overlap": say which entry is in the way.
        for entry in entries:
            for other in others:
                if _overlap(entry.to_aws(), other):
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
        with _bucket_lock(self.bucket):
            return self._read_modify_write(entries)

    def _read_modify_write(self, entries: tuple[NotificationEntry, ...]) -> str | None:
        configuration = self._read()
        if configuration is None:
            if not entries:
                return None  # the bucket is gone, and so are our entries on it
            raise AwsError(ErrorKind.RETRY, "NoSuchBucket", f"bucket {self.bucket} does not exist yet", "Get")
        ours = {id(e) for e in self._ours(configuration)}
        merged = {
            section: [e for e in configuration.get(section, []) if id(e) not in ours]
            for section in _SECTIONS
        }
        self._refuse_overlaps(entries, [e for section in _SECTIONS for e in merged[section]])
        merged["LambdaFunctionConfigurations"].extend(e.to_aws() for e in entries)
        document: dict[str, Any] = {k: v for k, v in merged.items() if v}
        if "EventBridgeConfiguration" in configuration:
            document["EventBridgeConfiguration"] = configuration["EventBridgeConfiguration"]
        call(
            "PutBucketNotificationConfiguration",
            lambda: self.s3.put_bucket_notification_configuration(
                Bucket=self.bucket, NotificationConfiguration=document
            ),
        )
        return None


def _key_filter(entry: dict[str, Any]) -> tuple[str, str]:
    rules = {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
    return rules.get("prefix", ""), rules.get("suffix", "")


def _overlap(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """S3's rule for two entries of one bucket: a common event, and a key both filters match."""
    if not any(s3_events_overlap(a, b) for a in first.get("Events", []) for b in second.get("Events", [])):
        return False
    return key_filters_overlap(*_key_filter(first), *_key_filter(second))


def _overlap_message(bucket: str, entry: NotificationEntry, other: dict[str, Any]) -> str:
    destination = other.get("LambdaFunctionArn") or other.get("QueueArn") or other.get("TopicArn") or "?"
    prefix, suffix = _key_filter(other)
    return (f"spec.input: the trigger on s3://{bucket}/{entry.prefix}*{entry.suffix} overlaps the bucket's "
            f"notification {other.get('Id', '(no id)')!r} (to {destination}, prefix {prefix!r}, suffix {suffix!r}); "
            f"S3 refuses two notifications for the same event that can match the same key: narrow the prefix or "
            f"suffix of one of them")


def _normal(entry: dict[str, Any]) -> str:
    return canonical([entry.get("Id"), entry.get("LambdaFunctionArn"), sorted(entry.get("Events", [])),
                      _key_filter(entry)])
