"""AWS's per-account request rates, enforced in front of moto: above a rate, AWS's own throttling error.

moto answers as fast as it can; AWS does not. The benchmark puts this in the proxy so that the
operator meets the limits it would meet in an account (the rates of rate_limits.DEFAULT_RATES:
AWS's published quotas, and stated assumptions where AWS publishes none).
"""

from __future__ import annotations

import threading
from collections import Counter

from scar_operator.aws.rate_limits import DEFAULT_RATES, TokenBucket, api_class

from tests.harness.aws_proxy import Call, Fault

# What each service answers when a caller is over its rate.
THROTTLE_ANSWERS: dict[str, tuple[int, str, str]] = {
    "lambda": (429, "TooManyRequestsException", "Rate exceeded"),
    "batch": (429, "TooManyRequestsException", "Too Many Requests"),
    "logs": (400, "ThrottlingException", "Rate exceeded"),
    "iam": (400, "Throttling", "Rate exceeded"),
    "sts": (400, "Throttling", "Rate exceeded"),
    "s3": (503, "SlowDown", "Please reduce your request rate."),
    "ec2": (503, "RequestLimitExceeded", "Request limit exceeded."),
}


class AwsRateEnforcer:
    def __init__(self, rates: dict[tuple[str, str], tuple[str, float]] | None = None) -> None:
        self.rates = rates or DEFAULT_RATES
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self.throttled: Counter[str] = Counter()
        self.admitted: Counter[tuple[str, str]] = Counter()

    def admit(self, call: Call) -> Fault | None:
        """None when the call is within its rate; else the throttling answer to give instead."""
        name, rate = api_class(call.service, call.operation, self.rates)
        with self._lock:
            bucket = self._buckets.setdefault((call.service, name), TokenBucket(rate))
        if bucket.try_take():
            with self._lock:
                self.admitted[(call.service, name)] += 1
            return None
        with self._lock:
            self.throttled[f"{call.service}.{call.operation}"] += 1
        status, code, message = THROTTLE_ANSWERS.get(call.service, (400, "ThrottlingException", "Rate exceeded"))
        return Fault(call.service, call.operation, status, code, message, remaining=1)

    def bound_seconds(self) -> float:
        """The least time the admitted calls need at these rates: the busiest API class sets it."""
        with self._lock:
            admitted = dict(self.admitted)
        worst = 0.0
        for (service, name), count in admitted.items():
            rate = next(r for (s, _), (n, r) in self.rates.items() if s == service and n == name)
            burst = max(1.0, rate)
            worst = max(worst, max(0.0, count - burst) / rate)
        return worst

    def reset(self) -> None:
        with self._lock:
            self.throttled.clear()
            self.admitted.clear()
