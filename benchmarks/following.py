"""The objects of one namespace as a watch shows them, kept current by a thread of its own.

This is how `kubectl wait` and kstatus follow objects: one event per change. The benchmark used
to list every object once a second instead; at 1,000 objects each list cost the API emulator
and this process tens of milliseconds of the two cores the operator is measured on, and the
answer was up to a second late.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from kubernetes import watch
from scar_operator import GROUP, VERSION

from tests.harness.cluster import Cluster
from tests.harness.scar import condition_of


def is_ready(obj: dict[str, Any]) -> bool:
    return condition_of(obj, "Ready", "True") is not None


class Following:
    """The objects of one kind in one namespace, as the latest list and the watch after it show them."""

    def __init__(self, cluster: Cluster, namespace: str, plural: str) -> None:
        self._cluster = cluster
        self._namespace = namespace
        self._plural = plural
        self._changed = threading.Condition()
        self._objects: dict[str, dict[str, Any]] = {}
        self._ready: set[str] = set()
        self._listed = False
        self._stopped = threading.Event()
        self._watch = watch.Watch()  # type: ignore[no-untyped-call]
        self._thread = threading.Thread(target=self._follow, name=f"following-{plural}", daemon=True)

    def __enter__(self) -> Following:
        self._thread.start()
        self.wait_for(lambda: self._listed, timeout=30)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stopped.set()
        # The stream ends at its next event or its server-side timeout; nothing waits for that.
        self._watch.stop()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=1)

    def _list(self) -> str:
        listing = self._cluster.custom.list_namespaced_custom_object(GROUP, VERSION, self._namespace, self._plural)
        with self._changed:
            self._objects = {item["metadata"]["name"]: item for item in listing.get("items", [])}
            self._ready = {name for name, obj in self._objects.items() if is_ready(obj)}
            self._listed = True
            self._changed.notify_all()
        return str(listing["metadata"]["resourceVersion"])

    def _follow(self) -> None:
        version = self._list()
        while not self._stopped.is_set():
            try:
                version = self._watch_from(version)
            except Exception:
                if self._stopped.is_set():
                    return  # the API server went away with the benchmark
                version = self._list()  # a watch that broke: start again from a fresh list

    def _watch_from(self, version: str) -> str:
        stream = self._watch.stream(  # type: ignore[no-untyped-call]
            self._cluster.custom.list_namespaced_custom_object, GROUP, VERSION, self._namespace,
            self._plural, resource_version=version, timeout_seconds=30)
        for event in stream:
            obj = event["object"]
            name = obj["metadata"]["name"]
            version = obj["metadata"].get("resourceVersion") or version
            with self._changed:
                if event["type"] == "DELETED":
                    self._objects.pop(name, None)
                    self._ready.discard(name)
                else:
                    self._objects[name] = obj
                    (self._ready.add if is_ready(obj) else self._ready.discard)(name)
                self._changed.notify_all()
            if self._stopped.is_set():
                break
        return version

    def wait_for(self, done: Callable[[], bool], timeout: float) -> float:
        """Seconds until `done()` held; it is asked again on every change the watch shows."""
        started = time.monotonic()
        with self._changed:
            if not self._changed.wait_for(done, timeout=timeout):
                raise TimeoutError(f"not done after {timeout:.0f} s")
        return time.monotonic() - started

    def ready_count(self) -> int:
        return len(self._ready)

    def count_where(self, holds: Callable[[dict[str, Any]], bool]) -> int:
        with self._changed:
            return sum(1 for obj in self._objects.values() if holds(obj))

    def count(self) -> int:
        return len(self._objects)

    def is_ready(self, name: str) -> bool:
        return name in self._ready
