"""S3's overlap rule, answered by prefix: the index finds exactly what comparing with every entry finds."""

from __future__ import annotations

import itertools
import random
from typing import Any

from scar_operator.aws.notification_overlaps import OverlapIndex, overlap


def entry(id: str, prefix: str = "", suffix: str = "", events: tuple[str, ...] = ("s3:ObjectCreated:*",)
          ) -> dict[str, Any]:
    rules = ([{"Name": "Prefix", "Value": prefix}] if prefix else []) + (
        [{"Name": "Suffix", "Value": suffix}] if suffix else [])
    found: dict[str, Any] = {"Id": id, "LambdaFunctionArn": f"arn:aws:lambda:us-east-1:1:function:{id}",
                             "Events": list(events)}
    if rules:
        found["Filter"] = {"Key": {"FilterRules": rules}}
    return found


def test_prefixes_that_begin_one_another_overlap_and_siblings_do_not() -> None:
    index = OverlapIndex([entry("a", "videos/"), entry("b", "videos/2024/"), entry("c", "videos-old/")])
    assert index.overlapping(entry("new", "videos/2024/june/"))["Id"] in ("a", "b")  # type: ignore[index]
    assert index.overlapping(entry("new", "vid"))["Id"] in ("a", "b", "c")  # type: ignore[index]
    assert index.overlapping(entry("new", "images/")) is None
    assert index.overlapping(entry("new", "videos-new/")) is None


def test_an_entry_without_a_prefix_meets_every_entry_whose_suffix_and_events_meet() -> None:
    index = OverlapIndex([entry("a", "in/", ".avi"), entry("b", "in/", ".jpg", ("s3:ObjectRemoved:*",))])
    assert index.overlapping(entry("new", suffix=".avi"))["Id"] == "a"  # type: ignore[index]
    assert index.overlapping(entry("new", suffix=".mp4")) is None
    assert index.overlapping(entry("new", suffix=".jpg")) is None  # no common event


def test_entries_named_in_ignore_are_not_reported() -> None:
    mine = entry("mine", "in/")
    index = OverlapIndex([mine])
    assert index.overlapping(entry("again", "in/")) is mine
    assert index.overlapping(entry("again", "in/"), ignore=frozenset({id(mine)})) is None


def test_entries_added_later_are_found_too() -> None:
    index = OverlapIndex()
    index.add(entry("a", "x/y/"))
    index.add(entry("b", "x/"))
    assert index.overlapping(entry("new", "x/y/z"))["Id"] in ("a", "b")  # type: ignore[index]
    assert index.overlapping(entry("new", "x/z"))["Id"] == "b"  # type: ignore[index]


def test_the_index_agrees_with_comparing_every_pair() -> None:
    rng = random.Random(12)
    pieces = ["", "a", "b", "a/", "ab", "a/b", "b/a/"]
    events = [("s3:ObjectCreated:*",), ("s3:ObjectCreated:Put",), ("s3:ObjectRemoved:*",)]
    for _ in range(200):
        existing = [entry(f"e{n}", rng.choice(pieces), rng.choice(["", ".jpg", "g", ".png"]), rng.choice(events))
                    for n in range(rng.randint(0, 12))]
        index = OverlapIndex(existing)
        for prefix, suffix, wanted_events in itertools.product(pieces, ["", ".jpg", "x.jpg"], events):
            new = entry("new", prefix, suffix, wanted_events)
            expected = [e for e in existing if overlap(new, e)]
            found = index.overlapping(new)
            assert (found is None) == (not expected)
            assert found is None or found in expected
