"""When a pass that could not finish comes back: soon while AWS settles, later when AWS refused.

Both grow with kopf's retry count and both carry jitter, so that objects that failed together
(a bulk apply throttled at once) do not come back together and collide again.
"""

from __future__ import annotations

import random

_rng = random.SystemRandom()


def settle_delay(first: float, ceiling: float, attempt: int, rng: random.Random = _rng) -> float:
    """AWS finishing its own work (Pending, InProgress, UPDATING): first soon, then less often.

    AWS's own waiters poll Lambda every second; a function that is Active at once (most updates,
    every emulator) is seen after `first` seconds, not after a fixed wait.
    """
    delay = min(ceiling, first * 2.0 ** min(attempt, 20))
    return delay * rng.uniform(0.8, 1.2)


def backoff(base: float, attempt: int, ceiling: float = 300.0, rng: random.Random = _rng) -> float:
    """After throttling or a conflict: exponential, with "equal jitter" (half fixed, half random)."""
    delay = min(ceiling, base * 2.0 ** min(attempt, 20))
    return delay / 2 + rng.uniform(0, delay / 2)
