"""Who is in which compute pool, as this operator knows it: what a pool's size and its teardown rest on.

AWS cannot say which objects use a pool (a queue has no members, and Batch allows 50 tags per
resource, fewer than a pool's members), so the cluster says: each member's status names its pool
(`status.computePool`). The operator learns them from three sources, newest first:

- its own passes, which record an object's pool before they make anything in it;
- the watch events of every ScarBatchJob (kopf's on.event), which carry that status, the object's
  maxVcpus and whether it is being deleted;
- one listing of all ScarBatchJobs, made once per process before the first decision that needs
  every member (tearing a pool down, making it smaller): the watch alone cannot say when it has
  shown every object, and a restarted operator that decided on part of them would delete a pool
  still in use or shrink it.

A member being deleted no longer counts: its jobs end with it. The pool's teardown and a pass
that records a new member take the pool's lock, so a pool is never torn down under a member that
has just joined it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# A Compute's maxVcpus when the spec leaves it out (batchjob/spec.py's default).
DEFAULT_MAX_VCPUS = 16

# Lists every ScarBatchJob the operator serves (bodies as the API server returns them).
ListAll = Callable[[], Iterable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Member:
    pool: str
    vcpus: int
    deleting: bool = False


def _key(namespace: object, name: object) -> str:
    return f"{namespace}/{name}"


def _max_vcpus(spec: Mapping[str, Any]) -> int:
    compute = spec.get("compute") or {}
    value = compute.get("maxVcpus", DEFAULT_MAX_VCPUS) if isinstance(compute, Mapping) else DEFAULT_MAX_VCPUS
    return value if isinstance(value, int) else DEFAULT_MAX_VCPUS


class PoolMembers:
    def __init__(self, list_all: ListAll | None = None) -> None:
        self._list_all = list_all
        self._members: dict[str, Member] = {}
        self._guard = threading.Lock()
        self._pool_locks: dict[str, threading.Lock] = {}
        self._prime_lock = threading.Lock()
        self._primed = list_all is None

    def lock(self, pool: str) -> threading.Lock:
        """Held while recording a member of `pool` and while deciding on (and tearing down) `pool`."""
        with self._guard:
            return self._pool_locks.setdefault(pool, threading.Lock())

    @property
    def all_known(self) -> bool:
        """Every member is known: the listing has been made (or there is nothing to list)."""
        return self._primed

    def joined(self, namespace: str, name: str, pool: str, vcpus: int) -> None:
        """A pass of this object is about to use `pool`."""
        with self._guard:
            self._members[_key(namespace, name)] = Member(pool, vcpus)

    def left(self, namespace: str, name: str) -> None:
        """The object is gone, or no longer uses a pool (a shared queue)."""
        with self._guard:
            self._members.pop(_key(namespace, name), None)

    def seen(self, body: Mapping[str, Any], deleted: bool = False, only_if_unknown: bool = False) -> None:
        """What a watch event or the listing says of one object."""
        meta = body.get("metadata") or {}
        key = _key(meta.get("namespace"), meta.get("name"))
        if deleted:
            with self._guard:
                self._members.pop(key, None)
            return
        status = body.get("status") or {}
        spec = body.get("spec") or {}
        # A status written for an older generation may name the pool the object is leaving; the
        # pass of the new generation records the new one itself.
        current = status.get("observedGeneration") is not None and \
            status.get("observedGeneration") == meta.get("generation")
        deleting = bool(meta.get("deletionTimestamp"))
        with self._guard:
            known = self._members.get(key)
            if only_if_unknown and known is not None:
                return
            pool = status.get("computePool")
            if current and not pool:
                self._members.pop(key, None)
            elif current and isinstance(pool, str):
                self._members[key] = Member(pool, _max_vcpus(spec), deleting)
            elif known is not None and deleting != known.deleting:
                self._members[key] = Member(known.pool, known.vcpus, deleting)

    def members(self, pool: str, excluding: tuple[str, str] | None = None) -> list[Member]:
        """The members of `pool` that still count (not being deleted), but the one `excluding`."""
        skip = _key(*excluding) if excluding else None
        with self._guard:
            return [m for k, m in self._members.items() if m.pool == pool and not m.deleting and k != skip]

    def prime(self) -> bool:
        """List every object once, so that what the watch has not shown yet is known too.

        False (to be tried again by the next decision) when the listing fails."""
        if self._primed:
            return True
        with self._prime_lock:
            if self._primed:
                return True
            assert self._list_all is not None
            try:
                bodies = list(self._list_all())
            except Exception as e:  # the API server unreachable or refusing: decide nothing yet
                log.warning("could not list ScarBatchJobs to learn the compute pools' members: %s", e)
                return False
            for body in bodies:
                self.seen(body, only_if_unknown=True)
            self._primed = True
            log.info("compute pools: %d ScarBatchJob(s) listed", len(bodies))
            return True


def kubernetes_lister(chunk: int) -> ListAll:
    """Every ScarBatchJob in the cluster, `chunk` at a time (the operator's RBAC lists them all)."""
    from scar_operator import GROUP, VERSION
    from scar_operator.kube_client import custom_objects_api

    api = custom_objects_api()

    def list_all() -> Iterable[Mapping[str, Any]]:
        token: str | None = None
        while True:
            page = api.list_cluster_custom_object(GROUP, VERSION, "scarbatchjobs", limit=chunk,
                                                  **({"_continue": token} if token else {}))
            # Only what membership needs is kept: a listing of 1,000 bodies is not held whole.
            for item in page.get("items", []):
                yield {"metadata": {k: item.get("metadata", {}).get(k)
                                    for k in ("namespace", "name", "generation", "deletionTimestamp")},
                       "spec": {"compute": (item.get("spec") or {}).get("compute")},
                       "status": {k: (item.get("status") or {}).get(k) for k in ("computePool", "observedGeneration")}}
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    return list_all
