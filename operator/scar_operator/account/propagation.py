"""A changed ScarAccount, or a namespace whose labels changed, reaches its objects at once.

kopf runs an object's handlers on that object's own events only: without help, a revoked bucket or
image would reach the objects of a team at their next periodic re-check (5 minutes by default),
and until then their triggers would keep feeding functions data the team may no longer read.

So the operator keeps, per namespace, a fingerprint of who its objects act as (the account that
selects it and that account's whole spec, or why none may be used). When a fingerprint changes,
every object of that namespace gets the new fingerprint in an annotation of its own: an event of
the object, on which kopf runs its change handler at once, and that pass reads the new tenancy.
The annotation's prefix is not kopf's (`scar.dev/`), so kopf sees it as a change of the object.

The first sight of a namespace is no change: at start every object is resumed anyway.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scar_operator.account.selection import Tenancy
from scar_operator.kube_client import custom_objects_api

log = logging.getLogger(__name__)

TENANCY_ANNOTATION = "tenancy.scar.dev/fingerprint"
# Nudges run in parallel: a changed account of 1,000 objects is 1,000 small patches.
_NUDGE_WORKERS = 8


def fingerprint(tenancy: Tenancy) -> str:
    """Equal for two tenancies exactly when an object's pass would act and be checked the same way."""
    account = tenancy.account.model_dump(mode="json", by_alias=True) if tenancy.account is not None else None
    text = json.dumps([tenancy.account_name, account, tenancy.refusal], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class TenancyChanges:
    """The fingerprint last seen of each namespace; says which namespaces a new look changed."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def changed(self, fingerprints: Mapping[str, str]) -> dict[str, str]:
        """The namespaces of `fingerprints` whose fingerprint differs from the one seen before, with the new one."""
        with self._lock:
            changed = {namespace: value for namespace, value in fingerprints.items()
                       if self._seen.get(namespace, value) != value}
            self._seen.update(fingerprints)
            return changed

    def forget(self, namespace: str) -> None:
        with self._lock:
            self._seen.pop(namespace, None)


class KnownObjects:
    """The objects this process serves, by namespace, as their passes meet them.

    Every object has a pass soon after the operator starts (kopf resumes it) or after it is made,
    so this holds every object that could need telling. (A kopf index of the objects would say the
    same, but kopf holds every handler of every object until each object's index entry is made:
    with 1,000 objects arriving at once, that wait cost a core and doubled the operator's memory.)
    """

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def add(self, plural: str, namespace: str, name: str, uid: str) -> None:
        with self._lock:
            self._by_namespace.setdefault(namespace, {})[uid] = (plural, name)

    def remove(self, namespace: str, uid: str) -> None:
        with self._lock:
            known = self._by_namespace.get(namespace)
            if known is not None:
                known.pop(uid, None)
                if not known:
                    del self._by_namespace[namespace]

    def of(self, namespaces: Iterable[str]) -> list[tuple[str, str, str]]:
        """(plural, namespace, name) of every object known in these namespaces."""
        with self._lock:
            return [(plural, namespace, name) for namespace in namespaces
                    for plural, name in self._by_namespace.get(namespace, {}).values()]


# (plural, namespace, name, fingerprint): writes the annotation on one object.
Annotate = Callable[[str, str, str, str], None]


def nudge(objects: Iterable[tuple[str, str, str]], fingerprints: Mapping[str, str], annotate: Annotate) -> int:
    """Annotate every (plural, namespace, name) whose namespace changed; the number annotated."""
    work = [(plural, namespace, name, fingerprints[namespace]) for plural, namespace, name in objects
            if namespace in fingerprints]
    if not work:
        return 0

    def one(item: tuple[str, str, str, str]) -> bool:
        try:
            annotate(*item)
        except Exception as e:  # one object gone or refused must not keep the others from hearing it
            log.warning("could not tell %s %s/%s that its tenancy changed: %s", item[0], item[1], item[2], e)
            return False
        return True

    with ThreadPoolExecutor(max_workers=min(_NUDGE_WORKERS, len(work)), thread_name_prefix="tenancy") as pool:
        done = sum(pool.map(one, work))
    log.info("tenancy changed in %s: %d object(s) re-checked now", ", ".join(sorted(fingerprints)), done)
    return done


def kubernetes_annotator() -> Annotate:
    """Merge-patches the annotation with the kubernetes client (kube_client.py)."""
    from kubernetes import client

    api = custom_objects_api()

    def annotate(plural: str, namespace: str, name: str, value: str) -> None:
        from scar_operator import GROUP, VERSION

        body: dict[str, Any] = {"metadata": {"annotations": {TENANCY_ANNOTATION: value}}}
        try:
            api.patch_namespaced_custom_object(GROUP, VERSION, namespace, plural, name, body,
                                               _content_type="application/merge-patch+json")
        except client.ApiException as e:
            if e.status != 404:  # deleted meanwhile: nothing to tell
                raise

    return annotate
