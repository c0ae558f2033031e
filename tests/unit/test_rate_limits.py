"""The client-side limiter paces AWS calls to AWS's quotas, per region, service and API class."""

from __future__ import annotations

import random

import pytest
from scar_operator import retry_delays
from scar_operator.aws.rate_limits import DEFAULT_RATES, RateLimiter, TokenBucket, api_class, parse_overrides


class FakeClock:
    """Time that moves only when a caller sleeps: the limiter's waits, measured exactly."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_bucket_lets_its_burst_through_then_paces_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    waits = [bucket.take() for _ in range(30)]
    assert waits[:10] == [0.0] * 10  # a second's worth saved up
    assert clock.now == pytest.approx(2.0)  # the next 20 at 10 a second
    assert all(w == pytest.approx(0.1) for w in waits[10:])


def test_tokens_saved_up_never_exceed_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=5, clock=clock, sleep=clock.sleep)
    clock.now = 3600.0  # an hour idle
    assert [bucket.take() for _ in range(5)] == [0.0] * 5
    assert bucket.take() == pytest.approx(0.2)


@pytest.mark.parametrize(("service", "operation", "expected"), [
    ("lambda", "GetFunction", ("GetFunction", 100.0)),
    ("lambda", "GetPolicy", ("GetPolicy", 15.0)),
    ("lambda", "CreateFunction", ("control-plane", 15.0)),
    ("lambda", "AddPermission", ("control-plane", 15.0)),
    ("logs", "CreateLogGroup", ("CreateLogGroup", 5.0)),
    ("logs", "DescribeLogGroups", ("DescribeLogGroups", 10.0)),
    ("iam", "GetRole", ("all", 10.0)),
    ("s3", "GetBucketNotificationConfiguration", ("bucket-configuration", 20.0)),
    ("batch", "SubmitJob", ("SubmitJob", 50.0)),
])
def test_operations_count_against_awss_published_or_stated_quotas(service: str, operation: str,
                                                                  expected: tuple[str, float]) -> None:
    assert api_class(service, operation) == expected


def test_lambda_calls_other_than_get_function_and_get_policy_share_one_bucket() -> None:
    limiter = RateLimiter()
    _, create = limiter.bucket("us-east-1", "lambda", "CreateFunction")
    _, update = limiter.bucket("us-east-1", "lambda", "UpdateFunctionConfiguration")
    _, get = limiter.bucket("us-east-1", "lambda", "GetFunction")
    _, elsewhere = limiter.bucket("eu-west-1", "lambda", "CreateFunction")
    assert create is update and create is not get and create is not elsewhere


def test_overrides_and_a_share_for_the_accounts_other_tools() -> None:
    overrides = parse_overrides("lambda:GetFunction=50, iam=4")
    assert overrides == {("lambda", "GetFunction"): ("GetFunction", 50.0), ("iam", "*"): ("all", 4.0)}
    limiter = RateLimiter(overrides, share=0.5)
    assert limiter.bucket("us-east-1", "lambda", "GetFunction")[1].rate == 25.0
    assert limiter.bucket("us-east-1", "iam", "GetRole")[1].rate == 2.0
    assert limiter.bucket("us-east-1", "lambda", "GetPolicy")[1].rate == DEFAULT_RATES[("lambda", "GetPolicy")][1] / 2


@pytest.mark.parametrize("text", ["lambda=fast", "=5", "iam=0"])
def test_a_bad_override_names_itself(text: str) -> None:
    with pytest.raises(ValueError, match="SCAR_AWS_RATES"):
        parse_overrides(text)


def test_the_limiter_paces_calls_to_the_rate_keeping_half_of_awss_burst_in_reserve() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    waits = [limiter.take("us-east-1", "iam", "GetRole").waited for _ in range(40)]
    assert waits[:5] == [0.0] * 5  # half of IAM's 10 at once
    assert clock.now == pytest.approx(3.5)  # then 35 at 10 a second


def test_settle_polls_start_soon_and_back_off_to_the_ceiling() -> None:
    rng = random.Random(7)
    delays = [retry_delays.settle_delay(0.1, 2.0, attempt, rng) for attempt in range(8)]
    assert 0.08 <= delays[0] <= 0.12
    assert all(0.8 * min(2.0, 0.1 * 2**a) <= d <= 1.2 * min(2.0, 0.1 * 2**a) for a, d in enumerate(delays))
    assert max(delays) <= 2.4


def test_retries_back_off_with_jitter_so_objects_that_failed_together_spread_out() -> None:
    rng = random.Random(11)
    delays = [retry_delays.backoff(10.0, 3, rng=rng) for _ in range(200)]
    assert all(40.0 <= d <= 80.0 for d in delays)
    assert len({round(d, 3) for d in delays}) > 150  # not one moment for everyone
    assert retry_delays.backoff(10.0, 30, rng=rng) <= 300.0
