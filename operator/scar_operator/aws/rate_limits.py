"""Client-side pacing of AWS calls: a token bucket per (region, service, API class).

AWS's request rates are per account and shared by every tool of the account; above them AWS
answers with throttling errors, and a fleet of workers that fires as fast as the endpoint
answers spends its retries bouncing off that limit. Pacing every call (every HTTP attempt,
retries included) to the published quota makes the operator run at the rate bound instead.

Defaults are AWS's published quotas where AWS publishes one, and stated assumptions where it
does not (`ASSUMED` below). `SCAR_AWS_RATES` overrides them ("lambda:GetFunction=50,iam=5"), and
`SCAR_AWS_RATE_SHARE` keeps a fraction of every rate for the account's other tools.
`SCAR_AWS_RATES=off` paces nothing (an emulator on loopback, where no account limit applies).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# (service, operation) -> (API class, requests per second). "*" is every other operation.
PUBLISHED: dict[tuple[str, str], tuple[str, float]] = {
    # Lambda: GetFunction 100/s, GetPolicy 15/s, all other control-plane calls 15/s together.
    ("lambda", "GetFunction"): ("GetFunction", 100.0),
    ("lambda", "GetPolicy"): ("GetPolicy", 15.0),
    ("lambda", "*"): ("control-plane", 15.0),
    # CloudWatch Logs: a quota per API.
    ("logs", "CreateLogGroup"): ("CreateLogGroup", 5.0),
    ("logs", "DeleteLogGroup"): ("DeleteLogGroup", 10.0),
    ("logs", "DescribeLogGroups"): ("DescribeLogGroups", 10.0),
    ("logs", "PutRetentionPolicy"): ("PutRetentionPolicy", 5.0),
    ("logs", "ListTagsForResource"): ("ListTagsForResource", 10.0),
    ("logs", "TagResource"): ("TagResource", 10.0),
    ("logs", "UntagResource"): ("UntagResource", 10.0),
    ("logs", "*"): ("other", 5.0),
    # Batch: SubmitJob 50/s.
    ("batch", "SubmitJob"): ("SubmitJob", 50.0),
}
# Where AWS publishes no figure: what this operator assumes (and the benchmark enforces).
ASSUMED: dict[tuple[str, str], tuple[str, float]] = {
    ("iam", "*"): ("all", 10.0),
    ("s3", "*"): ("bucket-configuration", 20.0),
    ("batch", "*"): ("control-plane", 10.0),
    ("sts", "*"): ("all", 20.0),
    ("ec2", "*"): ("describe", 20.0),
    # ECR: an image's manifest push counts as PutImage (10/s in most Regions), whether it comes by
    # the API or by the registry API (a push of an assembled image, paced here too).
    ("ecr", "PutImage"): ("PutImage", 10.0),
    ("ecr", "*"): ("control-plane", 10.0),
}
DEFAULT_RATES: dict[tuple[str, str], tuple[str, float]] = {**PUBLISHED, **ASSUMED}
_UNKNOWN_SERVICE = ("all", 10.0)


def api_class(service: str, operation: str,
              rates: Mapping[tuple[str, str], tuple[str, float]] = DEFAULT_RATES) -> tuple[str, float]:
    """The API class an operation counts against, and that class's rate."""
    return rates.get((service, operation)) or rates.get((service, "*")) or _UNKNOWN_SERVICE


def parse_overrides(text: str) -> dict[tuple[str, str], tuple[str, float]]:
    """`lambda:GetFunction=50,iam=5`: an operation's own class, or a whole service's default."""
    overrides: dict[tuple[str, str], tuple[str, float]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        target, _, value = item.partition("=")
        service, _, operation = target.strip().partition(":")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"SCAR_AWS_RATES: {item!r} is not service[:Operation]=requests-per-second") from None
        if rate <= 0 or not service:
            raise ValueError(f"SCAR_AWS_RATES: {item!r} needs a service and a positive rate")
        operation = operation or "*"
        existing = DEFAULT_RATES.get((service, operation))
        name = existing[0] if existing else (operation if operation != "*" else "all")
        overrides[(service, operation)] = (name, rate)
    return overrides


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; `take` waits for one and says how long."""

    def __init__(self, rate: float, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take a token now, or book the next one; the wait until it is ours."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            # A negative balance is a queue: each waiter owns one future token, in arrival order.
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_take(self) -> bool:
        """A token if one is there now, else none and no booking (how AWS itself answers: throttled)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True

    def take(self) -> float:
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass(frozen=True)
class Pace:
    """How long a call waited for its token, and which bucket it came from."""

    service: str
    api_class: str
    region: str
    waited: float


class RateLimiter:
    """The token buckets of one operator process, shared by every client and worker thread."""

    def __init__(self, overrides: Mapping[tuple[str, str], tuple[str, float]] | None = None, share: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 enabled: bool = True) -> None:
        if not 0 < share <= 1:
            raise ValueError("SCAR_AWS_RATE_SHARE must be in (0, 1]")
        self.enabled = enabled  # False: pace nothing (SCAR_AWS_RATES=off, an emulator on loopback)
        self.rates = {**DEFAULT_RATES, **(overrides or {})}
        self.share = share
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, region: str, service: str, operation: str) -> tuple[str, TokenBucket]:
        name, rate = api_class(service, operation, self.rates)
        key = (region, service, name)
        with self._lock:
            if key not in self._buckets:
                # Half of AWS's burst at most: calls paced here still reach AWS with jitter, and
                # the other half of AWS's bucket absorbs it (and the account's other tools).
                paced = rate * self.share
                self._buckets[key] = TokenBucket(paced, burst=paced / 2, clock=self._clock, sleep=self._sleep)
            return name, self._buckets[key]

    def take(self, region: str, service: str, operation: str) -> Pace:
        if not self.enabled:
            return Pace(service, "", region, 0.0)
        name, bucket = self.bucket(region, service, operation)
        return Pace(service, name, region, bucket.take())
