"""AWS error codes are translated in one place into what the reconciler does about them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from scar_operator.aws.errors import (
    AwsError,
    ErrorKind,
    call,
    call_idempotent,
    call_or_none,
    classify,
    retry_delay,
)


def client_error(code: str, message: str = "", status: int = 400) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "Op")


@pytest.mark.parametrize(("code", "message", "status", "kind"), [
    ("ResourceNotFoundException", "Function not found", 404, ErrorKind.NOT_FOUND),
    ("NoSuchEntity", "role", 404, ErrorKind.NOT_FOUND),
    ("NoSuchBucket", "", 404, ErrorKind.NOT_FOUND),
    ("EntityAlreadyExists", "", 409, ErrorKind.ALREADY_EXISTS),
    ("ResourceConflictException", "Function already exist: f", 409, ErrorKind.ALREADY_EXISTS),
    # Batch, when two members of a compute pool make it at once.
    ("ClientException", "Object already exists", 400, ErrorKind.ALREADY_EXISTS),
    ("ResourceConflictException", "An update is in progress for resource", 409, ErrorKind.RETRY),
    ("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.", 400,
     ErrorKind.RETRY),
    ("ClientException", "Cannot delete, found existing JobQueue relationship; queue is being updated", 400,
     ErrorKind.RETRY),
    ("InvalidArgument", "Unable to validate the following destination configurations", 400, ErrorKind.RETRY),
    ("InvalidArgument", "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
     400, ErrorKind.TERMINAL),
    ("ThrottlingException", "Rate exceeded", 400, ErrorKind.THROTTLED),
    ("TooManyRequestsException", "Rate exceeded", 429, ErrorKind.THROTTLED),
    ("SlowDown", "", 503, ErrorKind.THROTTLED),
    ("InternalFailure", "", 500, ErrorKind.THROTTLED),
    ("AccessDenied", "not authorized", 403, ErrorKind.TERMINAL),
    ("AccessDeniedException", "not authorized", 403, ErrorKind.TERMINAL),
    ("InvalidParameterValueException", "Source image does not exist", 400, ErrorKind.TERMINAL),
    ("ValidationException", "1 validation error", 400, ErrorKind.TERMINAL),
    # Account quotas: no spec change helps, room made in the account does.
    ("LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000", 409, ErrorKind.QUOTA),
    ("LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r", 409, ErrorKind.TERMINAL),
    ("ClientException", "Maximum number of compute environments (50) reached.", 400, ErrorKind.QUOTA),
    ("ClientException", "Maximum number of job queues (50) reached.", 400, ErrorKind.QUOTA),
    ("CodeStorageExceededException", "Code storage limit exceeded.", 400, ErrorKind.QUOTA),
])
def test_each_code_has_one_meaning(code: str, message: str, status: int, kind: ErrorKind) -> None:
    error = classify(client_error(code, message, status), "Op")
    assert error.kind is kind
    assert error.retryable == (kind in (ErrorKind.RETRY, ErrorKind.THROTTLED))
    assert message in str(error) and code in str(error)


@pytest.mark.parametrize(("code", "message", "quota"), [
    ("LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000", "IAM RolesPerAccount"),
    ("ClientException", "Maximum number of compute environments (50) reached.",
     "AWS Batch compute environments per Region (50)"),
    ("ClientException", "Maximum number of job queues reached", "AWS Batch job queues per Region"),
])
def test_a_quota_refusal_names_the_quota(code: str, message: str, quota: str) -> None:
    assert classify(client_error(code, message), "Create").quota == quota


class Answers:
    """A call that fails with these errors, in turn, then answers."""

    def __init__(self, *errors: ClientError) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "answer"


def test_a_transient_failure_is_retried_within_the_call() -> None:
    flaky = Answers(client_error("SlowDown", status=503), client_error("InternalError", status=500),
                    client_error("ThrottlingException", "Rate exceeded"))
    assert call("GetBucketNotificationConfiguration", flaky) == "answer"
    assert flaky.calls == 4


def test_what_a_retry_cannot_mend_is_not_retried() -> None:
    for error in (client_error("AccessDenied", "no", 403), client_error("ResourceConflictException",
                                                                        "An update is in progress", 409)):
        refused = Answers(error)
        with pytest.raises(AwsError):
            call("UpdateFunctionConfiguration", refused)
        assert refused.calls == 1  # a conflict waits for AWS to settle: the pass requeues, not this call


def test_a_call_gives_up_after_its_attempts() -> None:
    down = Answers(*[client_error("ServiceUnavailable", status=503)] * 5)
    with pytest.raises(AwsError) as caught:
        call("GetFunction", down, attempts=3)
    assert caught.value.kind is ErrorKind.THROTTLED and down.calls == 3


def test_retry_delays_double_with_full_jitter_up_to_a_quarter_second() -> None:
    import random

    rng = random.Random(7)
    first = [retry_delay(0, rng) for _ in range(1000)]
    assert all(0 <= d <= 0.025 for d in first) and min(first) < 0.005 < 0.02 < max(first)  # jittered
    assert max(retry_delay(3, rng) for _ in range(1000)) <= 0.2
    assert 0.2 < max(retry_delay(11, rng) for _ in range(1000)) <= 0.25


def test_reads_treat_not_found_as_an_answer() -> None:
    def missing() -> None:
        raise client_error("ResourceNotFoundException", status=404)
    assert call_or_none("GetFunction", missing) is None


def test_idempotent_writes_accept_the_goal_already_reached() -> None:
    def exists() -> None:
        raise client_error("EntityAlreadyExists", status=409)
    call_idempotent("CreateRole", exists)

    def denied() -> None:
        raise client_error("AccessDenied", "no", 403)
    with pytest.raises(AwsError) as caught:
        call_idempotent("CreateRole", denied)
    assert caught.value.kind is ErrorKind.TERMINAL
