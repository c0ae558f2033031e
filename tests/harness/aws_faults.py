"""A share of every AWS call refused at random, as AWS answers when it is having a bad day.

Each refusal is what the service says when it sheds load: its throttling answer (S3's SlowDown,
Lambda's TooManyRequestsException, ...) or an internal error (500). Nothing is changed in moto
by a refused call, so a refused write did not happen, as with AWS.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

from tests.harness.aws_proxy import Call, Fault
from tests.harness.aws_rates import THROTTLE_ANSWERS

_INTERNAL: dict[str, tuple[int, str, str]] = {
    "s3": (500, "InternalError", "We encountered an internal error. Please try again."),
    "iam": (500, "ServiceFailure", "Service failure"),
    "lambda": (500, "ServiceException", "The AWS Lambda service encountered an internal error."),
}


class RandomFaults:
    def __init__(self, rate: float, seed: int | None = None) -> None:
        self.rate = rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.refused: Counter[str] = Counter()

    def admit(self, call: Call) -> Fault | None:
        """None for a call that goes through; else the answer it gets instead."""
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            internal = self._random.random() < 0.5
            self.refused[f"{call.service}.{call.operation}"] += 1
        throttled = THROTTLE_ANSWERS.get(call.service, (400, "ThrottlingException", "Rate exceeded"))
        status, code, message = _INTERNAL.get(call.service, throttled) if internal else throttled
        return Fault(call.service, call.operation, status, code, message, remaining=1)
