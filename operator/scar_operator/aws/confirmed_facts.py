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
from typing import Any, TypeVar

T = TypeVar("T")


class ConfirmedFacts:
    def __init__(self, ttl_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # fact -> (when it stops being fresh, the version of the thing it was confirmed for, what the
        # read that confirmed it returned and the pass reports, e.g. a function URL's address)
        self._confirmed: dict[Hashable, tuple[float, Hashable, Any]] = {}
        self._lock = threading.Lock()
        self._turns: dict[Hashable, threading.Lock] = {}

    def fresh(self, fact: Hashable, version: Hashable = None) -> bool:
        """Confirmed, not too long ago, and for this `version` of what it depends on (a function's
        revision, say): a fact about an earlier version is not fresh."""
        return self._fresh_entry(fact, version) is not None

    def value(self, fact: Hashable, version: Hashable = None) -> Any:
        """What was remembered with a fresh fact; None when the fact is not fresh."""
        entry = self._fresh_entry(fact, version)
        return entry[2] if entry is not None else None

    def _fresh_entry(self, fact: Hashable, version: Hashable) -> tuple[float, Hashable, Any] | None:
        with self._lock:
            found = self._confirmed.get(fact)
        return found if found is not None and self._clock() < found[0] and found[1] == version else None

    def confirm(self, fact: Hashable, ttl_seconds: float | None = None, version: Hashable = None,
                value: Any = None) -> None:
        """True now; fresh for `ttl_seconds` (the store's default when not given)."""
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        with self._lock:
            self._confirmed[fact] = (self._clock() + ttl, version, value)

    def turn(self, fact: Hashable) -> threading.Lock:
        """Held by whoever reads or writes what `fact` is about, so that objects sharing one thing
        (a bucket) take turns: the first reads it (and makes it), and those that waited find the
        fact confirmed instead of asking AWS the same question at the same moment."""
        with self._lock:
            return self._turns.setdefault(fact, threading.Lock())

    def read_unless_fresh(self, fact: Hashable, read: Callable[[], T]) -> T | None:
        """None when `fact` is fresh, now or once this caller's turn comes (another read it
        meanwhile); else what `read` returns, read in turn."""
        if self.fresh(fact):
            return None
        with self.turn(fact):
            return None if self.fresh(fact) else read()

    def forget(self, fact: Hashable) -> None:
        """No longer true, whatever version it was confirmed for."""
        with self._lock:
            self._confirmed.pop(fact, None)
