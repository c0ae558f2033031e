"""An in-process Kubernetes API server for tests and the demo, built on kmock's emulator.

kmock stores objects and serves list/watch/get/create/patch/delete. This adds what a real API
server does and code must not be allowed to forget: CustomResourceDefinitions that register
their resources for discovery; the status subresource (a patch to the object ignores status, a
patch to /status changes only status); metadata.generation that moves on spec changes only;
and structural schemas (defaults, pruning of unknown fields, validation and CEL rules, with 422
Invalid).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import copy
import itertools
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import aiohttp.web
import attrs
import jsonpatch
import jsonpointer
import kmock
import yaml
from kmock._internal import dicts, enums, rendering

from scar_operator.conditions import now_rfc3339
from scar_operator.local import (
    crd_admission,
    field_errors,
    namespaces,
    openapi_discovery,
    printer_columns,
    server_process,
    structural,
)

_ALL_VERBS = {"list", "watch", "get", "create", "patch", "update", "delete"}
_BUILTIN_RESOURCES: dict[str, kmock.ResourceInfo] = {
    "v1/namespaces": kmock.ResourceInfo(kind="Namespace", singular="namespace", namespaced=False,
                                        shortnames={"ns"}, verbs={"list", "watch", "get", "create", "patch"}),
    "v1/events": kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list", "get"}),
    "events.k8s.io/v1/events": kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list", "get"}),
    "apiextensions.k8s.io/v1/customresourcedefinitions": kmock.ResourceInfo(
        kind="CustomResourceDefinition", singular="customresourcedefinition", namespaced=False,
        shortnames={"crd", "crds"}, verbs=_ALL_VERBS,
    ),
    # Registry credentials objects name (spec.imagePullSecrets): read by the operator.
    "v1/secrets": kmock.ResourceInfo(kind="Secret", singular="secret", namespaced=True, verbs=_ALL_VERBS),
    # What `kubectl apply -k manifests/` installs besides the CRDs: stored, never run.
    "v1/serviceaccounts": kmock.ResourceInfo(kind="ServiceAccount", singular="serviceaccount", namespaced=True,
                                             shortnames={"sa"}, verbs=_ALL_VERBS),
    "rbac.authorization.k8s.io/v1/clusterroles": kmock.ResourceInfo(
        kind="ClusterRole", singular="clusterrole", namespaced=False, verbs=_ALL_VERBS),
    "rbac.authorization.k8s.io/v1/clusterrolebindings": kmock.ResourceInfo(
        kind="ClusterRoleBinding", singular="clusterrolebinding", namespaced=False, verbs=_ALL_VERBS),
    "apps/v1/deployments": kmock.ResourceInfo(kind="Deployment", singular="deployment", namespaced=True,
                                              shortnames={"deploy"}, verbs=_ALL_VERBS),
}
_APPLY_PATCH = namespaces.APPLY_PATCH


@attrs.frozen
class _Invalid(kmock.KubernetesError):
    status: int = 422
    reason: str = "Invalid"


@attrs.frozen
class _NotFound(kmock.KubernetesError):
    status: int = 404
    reason: str = "NotFound"


@attrs.frozen
class _BadRequest(kmock.KubernetesError):
    status: int = 400
    reason: str = "BadRequest"


@attrs.define(kw_only=True)
class StrictKubernetesEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with CRDs, the status subresource, generations and structural schemas."""

    _schemas: dict[Any, dict[str, Any]] = attrs.field(factory=dict, init=False)
    _kinds: dict[Any, str] = attrs.field(factory=dict, init=False)
    _columns: dict[Any, list[dict[str, Any]]] = attrs.field(factory=dict, init=False)
    _versions: Any = attrs.field(factory=lambda: itertools.count(1000), init=False)
    _namespaces: namespaces.NamespaceStore = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for key, info in _BUILTIN_RESOURCES.items():
            self.resources[key] = info
        self._namespaces = namespaces.NamespaceStore(self._versions)

    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        # kmock's URL parser cannot read /api/v1/namespaces (it takes "namespaces" for the
        # namespace marker), yet kopf lists and watches namespaces; serve that resource here.
        path = raw_request.path.rstrip("/")
        if path == "/api/v1/namespaces":
            return await self._namespaces.serve_collection(raw_request)
        if path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
            return await self._namespaces.serve_one(raw_request, path.rsplit("/", 1)[-1])
        if path.startswith("/openapi/v3"):
            return self._serve_openapi(path.removeprefix("/openapi/v3").lstrip("/"))
        return await super().__call__(raw_request)

    def _served(self) -> list[openapi_discovery.ServedResource]:
        return [
            openapi_discovery.ServedResource(str(key.group), str(key.version), str(key.plural), str(info.kind),
                                             bool(info.namespaced))
            for key, info in self.resources.items()
            if isinstance(key, kmock.resource) and isinstance(info, kmock.ResourceInfo)
            and info.kind and "patch" in info.verbs
        ]

    def _serve_openapi(self, group_version: str) -> aiohttp.web.StreamResponse:
        served = self._served()
        if not group_version:
            return aiohttp.web.json_response(openapi_discovery.root_document(served))
        matching = [r for r in served if r.group_version_path == group_version]
        if not matching:
            return aiohttp.web.json_response({"kind": "Status", "status": "Failure", "code": 404,
                                              "reason": "NotFound"}, status=404)
        return aiohttp.web.json_response(openapi_discovery.group_version_document(matching))

    def _KubernetesEmulator__get_objs(self, request: rendering.Request, strict: bool) -> list[Any]:  # noqa: N802
        """The objects a request is about. kmock finds them by comparing every stored object with
        the request, for each request: a bulk apply of N objects then costs N² comparisons and the
        emulator, not the operator, becomes what a benchmark measures. A request that names one
        object is a dictionary look-up, by the key kmock stores it under."""
        if strict and request.name is not None and request.resource is not None:
            key: Any = (request.resource, request.namespace, request.name)
            return [self.objects[key]] if key in self.objects else []
        found: list[Any] = super()._KubernetesEmulator__get_objs(request, strict)  # type: ignore[misc]
        return found

    async def _handle(self, request: rendering.Request) -> Any:
        try:
            if request.action == enums.action.CREATE and isinstance(request.data, Mapping):
                request = self._with_data(request, _with_generated_name(request.data))
            if request.action == enums.action.UPDATE and _content_type(request) == _APPLY_PATCH:
                request = self._as_apply(request)
            resource = request.resource
            if resource is not None and resource.group == "apiextensions.k8s.io":
                if request.action == enums.action.CREATE:
                    request = self._with_data(request, self._established(self._admit_crd(request.data)))
                    self._register(request.data)
                elif request.action == enums.action.UPDATE and request.name is not None:
                    self._register(self._admit_crd(self._patched(request)))
            elif resource is not None and resource in self._schemas:
                if request.action == enums.action.CREATE:
                    request = self._with_data(request, self._admit_create(request))
                    if request.params.get("dryRun") == "All":
                        # Server-side dry run: admitted (defaulted, pruned, validated) and answered, never stored.
                        return aiohttp.web.json_response(request.data, status=201)
                elif request.action == enums.action.UPDATE and request.name is not None:
                    request = self._with_data(request, self._admit_patch(request))
            return await super()._handle(request)
        finally:
            self._forget(request)

    def _as_apply(self, request: rendering.Request) -> rendering.Request:
        """Server-side apply: a create when the object is missing, else the applied fields merged in.

        Field ownership (managedFields, conflicts between managers) is not emulated: a field that
        an apply stops naming is kept, where the API server removes it when no manager owns it.
        """
        key: Any = (request.resource, request.namespace, request.name)
        if key in self.objects and not self.objects[key].deleted:
            return request
        return self._swap_logged(request, attrs.evolve(request, action=enums.action.CREATE))

    async def _serve_version(self, request: rendering.Request) -> Any:
        # As the API server words discovery: the core group version is "v1" (not "/v1"), and a
        # subresource carries no short names (kubectl would warn that "sf" is ambiguous).
        document = cast(dict[str, Any], await super()._serve_version(request))
        if request.resource is not None and not request.resource.group:
            document["groupVersion"] = str(request.resource.version)
        document["resources"] = [
            {**r, "shortNames": [], "categories": []} if "/" in r["name"] else r for r in document["resources"]
        ]
        return document

    async def _serve_list(self, request: rendering.Request) -> Any:
        # kmock's lists carry no kind; kubectl refuses them ("Object 'Kind' is missing").
        listed = cast(dict[str, Any], await super()._serve_list(request))
        resource = request.resource
        info = self.resources.get(resource) if resource is not None else None
        kind = info.kind if isinstance(info, kmock.ResourceInfo) and info.kind else "List"
        group_version = str(resource.version) if resource is not None else "v1"
        if resource is not None and resource.group:
            group_version = f"{resource.group}/{group_version}"
        if printer_columns.wants_table(request.headers.get("Accept", "")):
            return printer_columns.table(listed["items"], self._columns.get(request.resource))
        return {"apiVersion": group_version, "kind": f"{kind}List",
                **listed, "metadata": {"resourceVersion": str(next(self._versions))}}

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[Any]:
        # A watch from a list's resourceVersion starts after that version, as on the API server;
        # kmock replays every object as ADDED, so a client that lists then watches (kopf) sees each
        # object twice and races itself on its first patch.
        since = request.params.get("resourceVersion")
        # The watch is matched to this reaction already; an open stream left in flight would be
        # walked by the matching of every request that comes in while it lasts (_forget).
        self._forget(request)
        async for event in super()._serve_watch(request):
            if since and isinstance(event, Mapping) and event.get("type") == "ADDED":
                version = (event.get("object") or {}).get("metadata", {}).get("resourceVersion")
                if version is not None and str(version).isdigit() and int(version) <= int(since):
                    continue
            yield event

    async def _serve_fetch(self, request: rendering.Request) -> Any:
        found = cast(dict[str, Any], await super()._serve_fetch(request))
        if printer_columns.wants_table(request.headers.get("Accept", "")):
            return printer_columns.table([found], self._columns.get(request.resource))
        return found

    def _forget(self, request: rendering.Request) -> None:
        # kmock logs every request for assertions, and matching a new one walks the whole log
        # (`request in view`), so a long session slows down quadratically: a full test run spent
        # most of its CPU there. Nothing asserts on this emulator's log; keep the requests in
        # flight (open watch streams) only.
        self._requests[:] = [r for r in self._requests if r is not request]
        for payload in self._payloads:
            payload._requests[:] = [r for r in payload._requests if r is not request]

    def _with_data(self, request: rendering.Request, data: Any) -> rendering.Request:
        return self._swap_logged(request, attrs.evolve(request, data=data))

    def _swap_logged(self, request: rendering.Request, replacement: rendering.Request) -> rendering.Request:
        # kmock matches its reactions to the request it logged, by identity: swap the logged one too.
        for index, logged in enumerate(self._requests):
            if logged is request:
                self._requests[index] = replacement
        return replacement

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
            self._columns[key] = list(version.get("additionalPrinterColumns") or [])
            self._kinds[key] = f"{names['kind']}.{spec['group']}"

    def _admit_crd(self, crd: Any) -> Mapping[str, Any]:
        """Refuse a CRD the API server would refuse, in its words (422 Invalid)."""
        errors = crd_admission.crd_errors(crd if isinstance(crd, Mapping) else {})
        if errors:
            name = (crd.get("metadata") or {}).get("name", "") if isinstance(crd, Mapping) else ""
            raise _invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, [str(e) for e in errors])
        return crd  # type: ignore[no-any-return]

    def _established(self, crd: Mapping[str, Any]) -> dict[str, Any]:
        """What the API server adds to an admitted CRD: identity, and the conditions `kubectl wait` reads."""
        stored = copy.deepcopy(dict(crd))
        stored["metadata"] = {**stored.get("metadata", {}), "uid": str(uuid.uuid4()), "generation": 1,
                              "resourceVersion": str(next(self._versions)), "creationTimestamp": now_rfc3339()}
        now = now_rfc3339()
        spec = stored["spec"]
        stored["status"] = {
            "acceptedNames": spec["names"],
            "storedVersions": [v["name"] for v in spec["versions"] if v.get("storage")],
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": now,
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": now,
                 "message": "the initial names have been accepted"},
            ],
        }
        return stored

    def _patched(self, request: rendering.Request) -> Any:
        """What an object becomes with this patch, without storing it (kmock stores it afterwards)."""
        key: Any = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return request.data
        return dicts.patch_dict(copy.deepcopy(dict(self.objects[key].raw)), request.data)

    def _admit_create(self, request: rendering.Request) -> dict[str, Any]:
        namespace = request.namespace or (request.data.get("metadata") or {}).get("namespace")
        if namespace and namespace not in self._namespaces:
            raise _NotFound(message=f'namespaces "{namespace}" not found')
        body = copy.deepcopy(dict(request.data))
        body.pop("status", None)  # with the status subresource, create ignores status
        meta = body.setdefault("metadata", {})
        meta.setdefault("namespace", request.namespace)
        meta.update({
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "resourceVersion": str(next(self._versions)),
            "creationTimestamp": now_rfc3339(),
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
        if request.params.get("fieldValidation") == "Strict":
            # kubectl's default since 1.27: a field the schema does not declare is an error, not pruned.
            unknown = structural.unknown_fields(request.data, schema)
            if unknown:
                kind = self._kinds[request.resource].split(".", 1)[0]
                version = request.resource.version if request.resource is not None else ""
                details = ", ".join(f'unknown field "{f}"' for f in unknown)
                raise _BadRequest(message=f'{kind} in version "{version}" cannot be handled as a {kind}: '
                                          f"strict decoding error: {details}")
        body = structural.apply_defaults(body, schema)
        body = structural.prune(body, schema)
        problems = structural.problems(body, schema, root="")
        # CEL rules run once the schema's own checks pass, so that they never see a value of the wrong type.
        problems = problems or structural.rule_violations(body, old, schema, path="")
        if problems:
            name = body.get("metadata", {}).get("name", request.name)
            kind, group = self._kinds[request.resource].split(".", 1)
            raise _invalid(kind, group, str(name), [p.lstrip(".") for p in problems])
        return body


def _invalid(kind: str, group: str, name: str, problems: list[str]) -> _Invalid:
    """422 Invalid as the API server answers it: a message, and details kubectl prints from
    ("The ScarFunction "x" is invalid: spec.memory: Invalid value: ...")."""
    causes = []
    for problem in problems:
        field, _, message = problem.partition(": ")
        reason = field_errors.cause_reason(message)
        causes.append({"reason": reason, "message": message, "field": field})
    return _Invalid(
        message=f'{kind}.{group} "{name}" is invalid: {field_errors.aggregate(problems)}',
        details={"name": name, "group": group, "kind": kind, "causes": causes},
    )


# The API server's alphabet for generated names: no vowels, no look-alike digits.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def _with_generated_name(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """`metadata.generateName` becomes a name, as the API server does (kopf posts events that way)."""
    meta = body.get("metadata") or {}
    if meta.get("name") or not meta.get("generateName"):
        return body
    suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
    return {**body, "metadata": {**meta, "name": f"{meta['generateName']}{suffix}"}}


def _content_type(request: rendering.Request) -> str:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return headers.get("content-type", "").split(";", 1)[0].strip()




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


@contextlib.contextmanager
def cluster_in_own_process(kubeconfig_path: Path) -> Iterator[int]:
    """The emulator in a process of its own, as a cluster's API server is (benchmarks). Yields the
    process id once `kubeconfig_path` points at it."""
    with server_process.serving("scar_operator.local.kube_emulator", str(kubeconfig_path)) as (_, pid):
        yield pid


def main() -> None:
    """Serve the API emulator until stopped, writing a kubeconfig for it; the first line printed is its URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("kubeconfig", type=Path, help="where to write the kubeconfig")
    args = parser.parse_args()
    with EmulatedCluster(args.kubeconfig) as cluster:
        print(cluster.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
