"""What an AWS read confirmed and what cannot drift cheaply, remembered for a while.

A bucket that exists in its region, or the owner tag of a log group this operator tagged, does
not change from one pass to the next unless someone removes it by hand; reading it again for
every object on every pass spends the account's shared request rates on nothing. Such a fact is
re-read once it is older than its time to live, and forgotten at once when a call says it is
no longer true (the next pass then reads, and repairs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class ConfirmedFacts:
    def __init__(self, ttl_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # fact -> when it stops being fresh
        self._confirmed: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def fresh(self, fact: Hashable) -> bool:
        with self._lock:
            until = self._confirmed.get(fact)
            return until is not None and self._clock() < until

    def confirm(self, fact: Hashable, ttl_seconds: float | None = None) -> None:
        """True now; fresh for `ttl_seconds` (the store's default when not given)."""
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        with self._lock:
            self._confirmed[fact] = self._clock() + ttl

    def forget(self, fact: Hashable) -> None:
        with self._lock:
            self._confirmed.pop(fact, None)
