"""The invoke permission is read again only when it may have changed."""

from __future__ import annotations

from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.lambda_function import LambdaFunction
from scar_operator.aws.lambda_permission import S3InvokePermission


class CountingLambda:
    """GetPolicy answers with one statement that lets the bucket invoke; the calls are counted."""

    def __init__(self) -> None:
        self.get_policy_calls = 0

    def get_policy(self, **_: Any) -> dict[str, Any]:
        self.get_policy_calls += 1
        return {"Policy": '{"Statement": [{"Sid": "s3-in", "Condition": {'
                          '"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::in"}, '
                          '"StringEquals": {"AWS:SourceAccount": "123456789012"}}}]}'}


def permission(lambda_: CountingLambda, function: LambdaFunction, facts: ConfirmedFacts) -> S3InvokePermission:
    return S3InvokePermission(lambda_, "fn", "s3-in", "arn:aws:s3:::in", "123456789012", function=function,
                              facts=facts, slow_drift_seconds=600)


def test_a_confirmed_permission_is_not_read_again_while_the_function_is_the_same_revision() -> None:
    lambda_, now = CountingLambda(), [0.0]
    facts = ConfirmedFacts(clock=lambda: now[0])
    function = LambdaFunction(lambda_, None, None)  # type: ignore[arg-type]
    function.revision_seen = ("rev-1", "2026-11-27T10:00:00.000+0000")
    assert permission(lambda_, function, facts).observe().in_sync
    assert permission(lambda_, function, facts).observe().in_sync
    assert lambda_.get_policy_calls == 1

    # A new revision (recreated, or its policy changed): read again.
    function.revision_seen = ("rev-2", "2026-11-27T10:05:00.000+0000")
    assert permission(lambda_, function, facts).observe().in_sync
    assert lambda_.get_policy_calls == 2

    # The same revision after the slow-drift time: read again too.
    now[0] += 601
    assert permission(lambda_, function, facts).observe().in_sync
    assert lambda_.get_policy_calls == 3


def test_without_a_read_of_the_function_the_permission_is_always_read() -> None:
    lambda_, facts = CountingLambda(), ConfirmedFacts()
    function = LambdaFunction(lambda_, None, None)  # type: ignore[arg-type]
    permission(lambda_, function, facts).observe()
    permission(lambda_, function, facts).observe()
    assert lambda_.get_policy_calls == 2


def test_a_function_made_by_this_pass_has_no_permission_to_read() -> None:
    lambda_, facts = CountingLambda(), ConfirmedFacts()
    function = LambdaFunction(lambda_, None, None)  # type: ignore[arg-type]
    function.created_now = True
    assert permission(lambda_, function, facts).observe().exists is False
    assert lambda_.get_policy_calls == 0
