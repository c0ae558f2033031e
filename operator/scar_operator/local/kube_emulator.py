"""An in-process Kubernetes API server for tests and the demo, built on kmock's emulator.

kmock stores objects and serves list/watch/get/create/patch/delete. This adds what a real API
server does and code must not be allowed to forget: CustomResourceDefinitions that register
their resources for discovery; the status subresource (a patch to the object ignores status, a
patch to /status changes only status); metadata.generation that moves on spec changes only;
and structural schemas (defaults, pruning of unknown fields, validation and CEL rules, with 422
Invalid).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import datetime
import itertools
import json
import secrets
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import jsonpointer
import kmock
import yaml
from kmock._internal import dicts, enums, rendering

from scar_operator.local import structural

_BUILTIN_RESOURCES: dict[str, kmock.ResourceInfo] = {
    "v1/namespaces": kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs={"list", "watch", "get",
                                                                                   "create"}),
    "v1/events": kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list", "get"}),
    "events.k8s.io/v1/events": kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list", "get"}),
    "apiextensions.k8s.io/v1/customresourcedefinitions": kmock.ResourceInfo(
        kind="CustomResourceDefinition", namespaced=False, verbs={"list", "watch", "get", "create", "patch",
                                                                  "delete"},
    ),
}


@attrs.frozen
class _Invalid(kmock.KubernetesError):
    status: int = 422
    reason: str = "Invalid"


@attrs.define(kw_only=True)
class StrictKubernetesEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with CRDs, the status subresource, generations and structural schemas."""

    _schemas: dict[Any, dict[str, Any]] = attrs.field(factory=dict, init=False)
    _kinds: dict[Any, str] = attrs.field(factory=dict, init=False)
    _versions: Any = attrs.field(factory=lambda: itertools.count(1000), init=False)
    _namespaces: dict[str, dict[str, Any]] = attrs.field(factory=dict, init=False)
    _namespace_events: asyncio.Condition | None = attrs.field(default=None, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for key, info in _BUILTIN_RESOURCES.items():
            self.resources[key] = info
        self._add_namespace("default")

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock's URL parser cannot read /api/v1/namespaces (it takes "namespaces" for the
        # namespace marker), yet kopf lists and watches namespaces; serve that resource here.
        if raw_request.path.rstrip("/") == "/api/v1/namespaces":
            return await self._serve_namespaces(raw_request)
        return await super().__call__(raw_request)

    def _add_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
        namespace = self._namespaces.setdefault(name, {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "uid": str(uuid.uuid4()), "labels": dict(labels or {}),
                         "resourceVersion": str(next(self._versions)), "creationTimestamp": _now()},
            "status": {"phase": "Active"},
        })
        return namespace

    async def _serve_namespaces(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if self._namespace_events is None:
            self._namespace_events = asyncio.Condition()
        if raw_request.method == "POST":
            body = await raw_request.json()
            meta = body.get("metadata", {})
            async with self._namespace_events:
                created = self._add_namespace(meta["name"], meta.get("labels"))
                self._namespace_events.notify_all()
            return aiohttp.web.json_response(created, status=201)
        if raw_request.query.get("watch") != "true":
            return aiohttp.web.json_response({
                "apiVersion": "v1", "kind": "NamespaceList",
                "metadata": {"resourceVersion": str(next(self._versions))},
                "items": list(self._namespaces.values()),
            })
        response = aiohttp.web.StreamResponse()
        await response.prepare(raw_request)
        sent: set[str] = set()
        while True:
            for name, namespace in list(self._namespaces.items()):
                if name not in sent:
                    sent.add(name)
                    event = {"type": "ADDED", "object": namespace}
                    await response.write(json.dumps(event).encode() + b"\n")
            async with self._namespace_events:
                await self._namespace_events.wait()

    async def _handle(self, request: rendering.Request) -> Any:
        try:
            if request.action == enums.action.CREATE and isinstance(request.data, Mapping):
                request = self._with_data(request, _with_generated_name(request.data))
            resource = request.resource
            if resource is not None and resource.group == "apiextensions.k8s.io":
                if request.action == enums.action.CREATE:
                    self._register(request.data)
            elif resource is not None and resource in self._schemas:
                if request.action == enums.action.CREATE:
                    request = self._with_data(request, self._admit_create(request))
                elif request.action == enums.action.UPDATE and request.name is not None:
                    request = self._with_data(request, self._admit_patch(request))
            return await super()._handle(request)
        finally:
            self._forget(request)

    def _forget(self, request: rendering.Request) -> None:
        # kmock logs every request for assertions, and matching a new one walks the whole log
        # (`request in view`), so a long session slows down quadratically: a full test run spent
        # most of its CPU there. Nothing asserts on this emulator's log; keep the requests in
        # flight (open watch streams) only.
        self._requests[:] = [r for r in self._requests if r is not request]
        for payload in self._payloads:
            payload._requests[:] = [r for r in payload._requests if r is not request]

    def _with_data(self, request: rendering.Request, data: Any) -> rendering.Request:
        # kmock matches its reactions to the request it logged, by identity: swap the logged one too.
        admitted = attrs.evolve(request, data=data)
        for index, logged in enumerate(self._requests):
            if logged is request:
                self._requests[index] = admitted
        return admitted

    def _register(self, crd: Mapping[str, Any]) -> None:
        spec = crd["spec"]
        names = spec["names"]
        for version in spec["versions"]:
            key = kmock.resource(spec["group"], version["name"], names["plural"])
            self.resources[key] = kmock.ResourceInfo(
                kind=names["kind"],
                singular=names.get("singular"),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                shortnames=set(names.get("shortNames", [])),
                categories=set(names.get("categories", [])),
                subresources=set(version.get("subresources", {})),
                verbs={"list", "watch", "get", "create", "patch", "update", "delete"},
            )
            self._schemas[key] = version["schema"]["openAPIV3Schema"]
            self._kinds[key] = f"{names['kind']}.{spec['group']}"

    def _admit_create(self, request: rendering.Request) -> dict[str, Any]:
        body = copy.deepcopy(dict(request.data))
        body.pop("status", None)  # with the status subresource, create ignores status
        meta = body.setdefault("metadata", {})
        meta.setdefault("namespace", request.namespace)
        meta.update({
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "resourceVersion": str(next(self._versions)),
            "creationTimestamp": _now(),
        })
        return self._conform(request, body)

    def _admit_patch(self, request: rendering.Request) -> Any:
        key: Any = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return request.data  # kmock answers 404 itself
        current = copy.deepcopy(dict(self.objects[key].raw))
        changes = request.data
        if isinstance(changes, Mapping):
            changes = dict(changes)
            if request.subresource == "status":
                changes = {"status": changes.get("status")} if "status" in changes else {}
            else:
                changes.pop("status", None)
                if isinstance(changes.get("metadata"), Mapping):
                    changes["metadata"] = {
                        k: v for k, v in changes["metadata"].items()
                        if k not in ("generation", "uid", "creationTimestamp", "resourceVersion")
                    }
        try:
            updated = copy.deepcopy(dict(dicts.patch_dict(current, changes)))
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:
            # What a real API server answers when kopf's optimistic "test" on resourceVersion fails.
            raise _Invalid(message=f"the server rejected our request due to an error in our request: {e}") from e
        updated = self._conform(request, updated, old=current)
        if updated.get("spec") != current.get("spec"):
            updated["metadata"]["generation"] = int(current["metadata"].get("generation", 1)) + 1
        updated["metadata"]["resourceVersion"] = str(next(self._versions))
        return structural.merge_patch_between(current, updated)

    def _conform(self, request: rendering.Request, body: dict[str, Any],
                 old: dict[str, Any] | None = None) -> dict[str, Any]:
        schema = self._schemas[request.resource]
        body = structural.apply_defaults(body, schema)
        body = structural.prune(body, schema)
        problems = structural.problems(body, schema, root="")
        # CEL rules run once the schema's own checks pass, so that they never see a value of the wrong type.
        problems = problems or structural.rule_violations(body, old, schema, path="")
        if problems:
            name = body.get("metadata", {}).get("name", request.name)
            details = "; ".join(p.lstrip(".") for p in problems)
            raise _Invalid(message=f'{self._kinds[request.resource]} "{name}" is invalid: {details}')
        return body


# The API server's alphabet for generated names: no vowels, no look-alike digits.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _with_generated_name(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """`metadata.generateName` becomes a name, as the API server does (kopf posts events that way)."""
    meta = body.get("metadata") or {}
    if meta.get("name") or not meta.get("generateName"):
        return body
    suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
    return {**body, "metadata": {**meta, "name": f"{meta['generateName']}{suffix}"}}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EmulatedCluster:
    """The emulator on a loopback port, in a thread of its own, with a kubeconfig that points at it."""

    def __init__(self, kubeconfig_path: Path) -> None:
        self.kubeconfig_path = kubeconfig_path
        self.url = ""
        self.emulator: StrictKubernetesEmulator | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-emulator", daemon=True)
        self._stop: asyncio.Event | None = None
        self._serving: concurrent.futures.Future[None] | None = None

    def __enter__(self) -> EmulatedCluster:
        self._thread.start()
        self._serving = asyncio.run_coroutine_threadsafe(self._serve_until_stopped(), self._loop)
        self.url = asyncio.run_coroutine_threadsafe(self._wait_started(), self._loop).result(timeout=30)
        self.kubeconfig_path.write_text(yaml.safe_dump(kubeconfig(self.url)))
        return self

    async def _wait_started(self) -> str:
        while not self.url:
            await asyncio.sleep(0.01)
        return self.url

    async def _serve_until_stopped(self) -> None:
        self._stop = asyncio.Event()
        async with StrictKubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            self.emulator = emulator
            self.url = str(server.url).rstrip("/")
            await self._stop.wait()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._serving is not None:
            try:
                self._serving.result(timeout=5)
            except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                # Open watch streams keep the server busy forever: cut them.
                self._serving.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def kubeconfig(url: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "emulator", "user": {"token": "emulator"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator",
                                                       "namespace": namespace}}],
        "current-context": "emulator",
    }
