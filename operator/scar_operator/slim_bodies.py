"""What kopf keeps of each object in memory: the object without what nobody here reads.

kopf keeps the latest body of every object that has a timer (each of ours has the periodic
re-check) for as long as the object exists. On a real API server a body carries
`metadata.managedFields` (every field manager's field set: the operator's own status writes, kubectl,
Argo CD, ...) and, after `kubectl apply`, a copy of the whole object in the
`kubectl.kubernetes.io/last-applied-configuration` annotation. Neither is read by kopf (its
diff base is its own annotation) nor by the operator. Measured with 1,000 ScarFunctions on
kube-apiserver v1.32: a peak of 263 MB with them kept, about 200-230 MB without (README, "The
operator at scale").

kopf has no public hook on the objects it receives, so the watch stream is wrapped where the
queueing code reads it (`kopf._cogs.clients.watching.infinite_watch`): each event's object loses
the two fields before kopf sees it. The API server keeps them; only this process forgets them.
If a kopf release moves that function, nothing is wrapped and the operator only uses more memory
(tests/unit/test_slim_bodies.py fails first).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def slim(body: object) -> None:
    """Drop managedFields and kubectl's last-applied copy from an object, in place."""
    if not isinstance(body, MutableMapping):
        return
    metadata = body.get("metadata")
    if not isinstance(metadata, MutableMapping):
        return
    metadata.pop("managedFields", None)
    annotations = metadata.get("annotations")
    if isinstance(annotations, MutableMapping):
        annotations.pop(LAST_APPLIED, None)


def install() -> bool:
    """Wrap kopf's watch stream once; False when this kopf has no such stream to wrap."""
    try:
        from kopf._cogs.clients import watching
    except ImportError:
        log.warning("kopf's watch stream was not found: objects are kept whole in memory")
        return False
    original = getattr(watching, "infinite_watch", None)
    if original is None:
        log.warning("kopf's watch stream was not found: objects are kept whole in memory")
        return False
    if getattr(original, "slims_bodies", False):
        return True

    async def infinite_watch(**kwargs: Any) -> AsyncIterator[Any]:
        async for event in original(**kwargs):
            if isinstance(event, MutableMapping):
                slim(event.get("object"))
            yield event

    infinite_watch.slims_bodies = True  # type: ignore[attr-defined]
    watching.infinite_watch = infinite_watch
    return True
