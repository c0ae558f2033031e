"""AWS error codes translated in one place into what the reconciler does about them."""

from __future__ import annotations

import enum
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

T = TypeVar("T")


class ErrorKind(enum.Enum):
    NOT_FOUND = "NotFound"
    ALREADY_EXISTS = "AlreadyExists"
    RETRY = "Conflict"  # in progress, conflicting update, role not assumable yet: retry soon
    THROTTLED = "Throttled"  # retry with backoff
    TERMINAL = "Terminal"  # invalid or access denied: needs a spec or permission change
    # An account-wide quota is full (IAM roles, Batch compute environments or queues, ...): no spec
    # change helps, room made elsewhere in the account does. Retried slowly, said plainly.
    QUOTA = "QuotaExceeded"


class AwsError(Exception):
    def __init__(self, kind: ErrorKind, code: str, message: str, operation: str) -> None:
        super().__init__(f"{operation}: {code}: {message}")
        self.kind = kind
        self.code = code
        self.message = message
        self.operation = operation

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.RETRY, ErrorKind.THROTTLED)

    @property
    def quota(self) -> str:
        """The quota a QUOTA error ran into, as a person would look it up in Service Quotas."""
        return quota_named(self.code, self.message) or ""


_NOT_FOUND = {
    "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NoSuchKey", "NotFound", "404",
    "NoSuchBucketPolicy", "ResourceNotFound", "RepositoryNotFoundException", "ImageNotFoundException",
    "LifecyclePolicyNotFoundException",
}
_ALREADY_EXISTS = {
    "ResourceConflictException:exists", "EntityAlreadyExists", "ResourceAlreadyExistsException",
    "BucketAlreadyOwnedByYou", "RepositoryAlreadyExistsException",
}
_RETRY = {
    "ResourceConflictException", "ResourceInUseException", "OperationAbortedException",
    "ConcurrentModificationException", "ConflictException", "PreconditionFailed",
    "CodeVerificationFailedException", "EC2ThrottledException",
}
_THROTTLED = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
    "SlowDown", "ServiceUnavailable", "ServiceUnavailableException", "ServiceException",
    "InternalError", "InternalFailure", "InternalServerError", "RequestTimeout", "RequestTimeoutException",
    "PriorRequestNotComplete", "ProvisionedThroughputExceededException",
}
# Lambda's answer while a just-created IAM role has not reached every region's endpoints yet.
_ROLE_PROPAGATION_HINTS = ("cannot be assumed", "role defined for the function cannot be assumed")
# S3's answer to a notification whose Lambda permission was added a moment ago and has not
# propagated yet (the permission is always added earlier in the same pass, so it is on its way).
_DESTINATION_PROPAGATION_HINT = "Unable to validate the following destination configurations"


# Codes that only ever mean "the account holds as many as its quota allows", with the quota's name.
_QUOTA_CODES = {
    "CodeStorageExceededException": "Lambda code storage",
    "TooManyBuckets": "S3 buckets per account",
    "LimitExceededException": "CloudWatch Logs resources per account",
    "ServiceQuotaExceededException": "service quota",
    "QuotaExceededException": "service quota",
}
# IAM's LimitExceeded covers both a full account ("Cannot exceed quota for RolesPerAccount: 1000") and an
# over-long document ("Maximum policy size of 10240 bytes exceeded"); only the first waits for room.
_IAM_QUOTA = re.compile(r"Cannot exceed quota for (\w+)")
# AWS Batch says "Maximum number of compute environments (50) reached" with its generic code.
_BATCH_QUOTA = re.compile(r"[Mm]aximum number of ([a-z ]+?)\s*(\(\d+\))?\s*(reached|exceeded)")


def quota_named(code: str, message: str) -> str | None:
    """The account quota an AWS refusal names, or None when the refusal is no quota."""
    iam = _IAM_QUOTA.search(message)
    if code == "LimitExceeded" and iam:
        return f"IAM {iam.group(1)}"
    batch = _BATCH_QUOTA.search(message)
    if code == "ClientException" and batch:
        return f"AWS Batch {batch.group(1)} per Region" + (f" {batch.group(2)}" if batch.group(2) else "")
    return _QUOTA_CODES.get(code)


def _still_propagating(code: str, message: str) -> bool:
    """A refusal that only says AWS has not yet seen a role or permission made a moment ago."""
    if code == "InvalidParameterValueException":
        return any(hint in message for hint in _ROLE_PROPAGATION_HINTS)
    return code == "InvalidArgument" and _DESTINATION_PROPAGATION_HINT in message


def classify(error: ClientError, operation: str) -> AwsError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", "Unknown"))
    message = str(details.get("Message", "")) or str(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _NOT_FOUND or (status == 404 and code not in _THROTTLED):
        kind = ErrorKind.NOT_FOUND
    elif code in _ALREADY_EXISTS or (code == "ResourceConflictException" and "exist" in message.lower()):
        kind = ErrorKind.ALREADY_EXISTS
    elif code == "ClientException" and "already exists" in message.lower():
        # AWS Batch names a taken compute environment or queue name with its generic code; a pool's
        # members may race to make the pool.
        kind = ErrorKind.ALREADY_EXISTS
    elif code in _RETRY:
        kind = ErrorKind.RETRY
    elif code in _THROTTLED or status >= 500:
        kind = ErrorKind.THROTTLED
    elif quota_named(code, message):
        kind = ErrorKind.QUOTA
    elif _still_propagating(code, message):
        kind = ErrorKind.RETRY
    elif code == "ClientException" and ("in progress" in message.lower() or "being" in message.lower()):
        # AWS Batch says "... is being updated/deleted" with a generic code.
        kind = ErrorKind.RETRY
    else:
        kind = ErrorKind.TERMINAL
    return AwsError(kind, code, message, operation)


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Run one AWS call; any failure leaves as an AwsError."""
    try:
        yield
    except ClientError as e:
        raise classify(e, operation) from e
    except EndpointConnectionError as e:
        raise AwsError(ErrorKind.THROTTLED, "EndpointConnectionError", str(e), operation) from e
    except BotoCoreError as e:
        raise AwsError(ErrorKind.THROTTLED, type(e).__name__, str(e), operation) from e


# A transient answer (throttled, 5xx, a dropped connection) is retried within the call: quickly,
# with full jitter, doubling. botocore's own retries are off (session.py): its "standard" mode
# starts at up to 1 s and, once a few dozen retries failed, its retry quota stops retrying at all,
# so at a bad hour of a Region every refusal became a requeue of the whole pass seconds or
# minutes later (40 objects took 75 s to Ready and 33 s to delete at 50% refusals, against 3.3 s
# and 0.9 s). What bounds the load of these retries is the rate limiter, which every attempt
# passes through (rate_limits.py), not a quota of retries.
RETRY_ATTEMPTS = 16
_FIRST_RETRY_SECONDS = 0.025
_LONGEST_RETRY_SECONDS = 0.25
_random = random.SystemRandom()


def retry_delay(attempt: int, rng: random.Random = _random) -> float:
    """Full jitter: anywhere from 0 up to 25 ms x 2^attempt, at most 250 ms.

    The 15 waits between 16 failed attempts add up to about 1.6 s on average."""
    return rng.uniform(0, min(_LONGEST_RETRY_SECONDS, _FIRST_RETRY_SECONDS * 2.0 ** attempt))


def call(operation: str, fn: Callable[[], T], attempts: int = RETRY_ATTEMPTS) -> T:
    """One AWS call, its transient failures retried here; anything else leaves as an AwsError."""
    for attempt in range(attempts):
        try:
            with translated(operation):
                return fn()
        except AwsError as e:
            if e.kind is not ErrorKind.THROTTLED or attempt == attempts - 1:
                raise
            time.sleep(retry_delay(attempt))
    raise AssertionError("unreachable")  # the last attempt returned or raised


def call_or_none(operation: str, fn: Callable[[], T]) -> T | None:
    """A read that treats "not found" as an answer, not an error."""
    try:
        return call(operation, fn)
    except AwsError as e:
        if e.kind is ErrorKind.NOT_FOUND:
            return None
        raise


def call_create(operation: str, fn: Callable[[], object]) -> bool:
    """A create AWS refuses, changing nothing, when the thing exists: True when this call made it,
    False when it was there already (which the caller then looks at; nothing is assumed of it)."""
    try:
        call(operation, fn)
    except AwsError as e:
        if e.kind is not ErrorKind.ALREADY_EXISTS:
            raise
        return False
    return True


def call_idempotent(operation: str, fn: Callable[[], object]) -> bool:
    """A write whose goal state may already hold: create of an existing thing, delete of a gone one.

    True when this call did it, False when it was already so."""
    try:
        call(operation, fn)
    except AwsError as e:
        if e.kind not in (ErrorKind.NOT_FOUND, ErrorKind.ALREADY_EXISTS):
            raise
        return False
    return True
