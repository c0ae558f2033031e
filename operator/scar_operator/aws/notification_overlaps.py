"""S3's overlap rule for the entries of one bucket's notification configuration, and an index of a
configuration's entries by key prefix that answers it without comparing with every entry.

A team's functions mostly share their input bucket, each under its own prefix: the bucket's
configuration then holds one entry per function, and every pass of every function asks whether
its entries would overlap another one. Compared one by one, a bulk apply of N functions is N²
comparisons; by prefix, each question looks only at the entries whose prefix begins its own or
begins with it (the only ones whose keys can meet).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

from scar_operator.models import key_filters_overlap, s3_events_overlap


def key_filter(entry: dict[str, Any]) -> tuple[str, str]:
    """An entry's (prefix, suffix); S3 takes the rule names in either case."""
    rules = {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
    return rules.get("prefix", ""), rules.get("suffix", "")


def overlap(first: dict[str, Any], second: dict[str, Any]) -> bool:
    """S3's rule for two entries of one bucket: a common event, and a key both filters match."""
    # The keys first: entries of a shared bucket mostly differ there, and that test is the cheaper.
    if not key_filters_overlap(*key_filter(first), *key_filter(second)):
        return False
    return any(s3_events_overlap(a, b) for a in first.get("Events", []) for b in second.get("Events", []))


class OverlapIndex:
    """The entries of a configuration (of every section), ordered by key prefix."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()) -> None:
        by_prefix = sorted(((key_filter(e)[0], e) for e in entries), key=lambda pair: pair[0])
        self._prefixes: list[str] = [prefix for prefix, _ in by_prefix]
        self._entries: list[dict[str, Any]] = [entry for _, entry in by_prefix]
        self._by_prefix: dict[str, list[dict[str, Any]]] = {}
        for prefix, entry in by_prefix:
            self._by_prefix.setdefault(prefix, []).append(entry)

    def add(self, entry: dict[str, Any]) -> None:
        prefix = key_filter(entry)[0]
        at = bisect.bisect_right(self._prefixes, prefix)
        self._prefixes.insert(at, prefix)
        self._entries.insert(at, entry)
        self._by_prefix.setdefault(prefix, []).append(entry)

    def _same_keys_possible(self, prefix: str) -> Iterator[dict[str, Any]]:
        # Entries whose prefix starts with this one: a run in prefix order...
        at = bisect.bisect_left(self._prefixes, prefix)
        while at < len(self._prefixes) and self._prefixes[at].startswith(prefix):
            yield self._entries[at]
            at += 1
        # ...and those whose prefix is a shorter beginning of this one.
        for length in range(len(prefix)):
            yield from self._by_prefix.get(prefix[:length], ())

    def overlapping(self, entry: dict[str, Any], ignore: frozenset[int] = frozenset()) -> dict[str, Any] | None:
        """The first entry (other than those whose id() is in `ignore`) that `entry` overlaps."""
        for other in self._same_keys_possible(key_filter(entry)[0]):
            if id(other) not in ignore and overlap(entry, other):
                return other
        return None
