"""kopf keeps each object in memory without managedFields and kubectl's last-applied copy."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

from kopf._cogs.clients import watching
from scar_operator import slim_bodies

OBJECT: dict[str, Any] = {
    "apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction",
    "metadata": {
        "name": "f", "namespace": "team", "uid": "u", "generation": 3,
        "annotations": {slim_bodies.LAST_APPLIED: '{"spec": {"image": "x"}}',
                        "scar.dev/last-handled-configuration": '{"spec": {"image": "x"}}',
                        "team.example/owner": "ana"},
        "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsV1": {"f:spec": {}}}],
        "finalizers": ["scar.dev/cleanup"],
    },
    "spec": {"image": "x"},
    "status": {"observedGeneration": 3},
}


def test_only_the_two_unread_fields_go() -> None:
    body = copy.deepcopy(OBJECT)
    slim_bodies.slim(body)
    expected = copy.deepcopy(OBJECT)
    del expected["metadata"]["managedFields"]
    del expected["metadata"]["annotations"][slim_bodies.LAST_APPLIED]
    assert body == expected  # kopf's own annotation, others' annotations, finalizers and spec stay


def test_kopfs_watch_stream_is_wrapped_and_passes_bookmarks_through() -> None:
    original = watching.infinite_watch

    async def stream(**_: Any) -> AsyncIterator[Any]:
        yield watching.Bookmark.LISTED
        yield {"type": "ADDED", "object": copy.deepcopy(OBJECT)}

    watching.infinite_watch = stream
    try:
        assert slim_bodies.install()
        assert slim_bodies.install()  # once only, however often the operator starts
        seen = asyncio.run(collect(watching.infinite_watch(settings=None)))
    finally:
        watching.infinite_watch = original
    assert seen[0] is watching.Bookmark.LISTED
    assert "managedFields" not in seen[1]["object"]["metadata"]
    assert seen[1]["object"]["spec"] == {"image": "x"}


async def collect(events: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in events]
