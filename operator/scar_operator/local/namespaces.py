"""Namespaces for the API emulator, served beside kmock (whose URL parser reads `namespaces/` as
the marker of a namespaced path, so it cannot serve the Namespace resource itself).

kopf lists and watches them; `kubectl apply` reads, creates and patches them; and, as on the
API server, a namespaced object can only be created in a namespace that exists.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import aiohttp.web

from scar_operator.conditions import now_rfc3339

APPLY_PATCH = "application/apply-patch+yaml"


class NamespaceStore:
    def __init__(self, versions: Iterator[int] | None = None) -> None:
        self._namespaces: dict[str, dict[str, Any]] = {}
        self._versions = versions or itertools.count(1)
        self._changed: asyncio.Condition | None = None
        self.add("default")

    def __contains__(self, name: object) -> bool:
        return name in self._namespaces

    def add(self, name: str, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        meta = meta or {}
        return self._namespaces.setdefault(name, {
            "apiVersion": "v1",
            "kind": "Namespace",
            # The API server labels every namespace with its own name (selectors match on it).
            "metadata": {"name": name, "uid": str(uuid.uuid4()),
                         "labels": {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": name},
                         "annotations": dict(meta.get("annotations") or {}),
                         "resourceVersion": str(next(self._versions)), "creationTimestamp": now_rfc3339()},
            "status": {"phase": "Active"},
        })

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:  # made in the serving loop, not where the store is built
            self._changed = asyncio.Condition()
        return self._changed

    async def serve_collection(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """`/api/v1/namespaces`: create, list, watch."""
        changed = self._condition()
        if raw_request.method == "POST":
            meta = await _posted_metadata(raw_request)
            async with changed:
                created = self.add(meta["name"], meta)
                changed.notify_all()
            return aiohttp.web.json_response(created, status=201)
        if raw_request.query.get("watch") != "true":
            return aiohttp.web.json_response({
                "apiVersion": "v1", "kind": "NamespaceList",
                "metadata": {"resourceVersion": str(next(self._versions))},
                "items": list(self._namespaces.values()),
            })
        response = aiohttp.web.StreamResponse()
        await response.prepare(raw_request)
        sent: dict[str, str] = {}
        while True:
            for name, namespace in list(self._namespaces.items()):
                version = namespace["metadata"]["resourceVersion"]
                if sent.get(name) != version:
                    event = {"type": "MODIFIED" if name in sent else "ADDED", "object": namespace}
                    sent[name] = version
                    await response.write(json.dumps(event).encode() + b"\n")
            async with changed:
                await changed.wait()

    async def serve_one(self, raw_request: aiohttp.web.BaseRequest, name: str) -> aiohttp.web.StreamResponse:
        """`/api/v1/namespaces/<name>`: GET, and PATCH as `kubectl apply` sends it (server-side too)."""
        if raw_request.method == "PATCH":
            meta = (await raw_request.json()).get("metadata") or {}
            changed = self._condition()
            async with changed:
                if name not in self._namespaces and raw_request.content_type == APPLY_PATCH:
                    created = self.add(name, meta)
                    changed.notify_all()
                    return aiohttp.web.json_response(created, status=201)
                if name in self._namespaces:
                    stored = self._namespaces[name]["metadata"]
                    for field in ("labels", "annotations"):
                        merged = {**(stored.get(field) or {}), **(meta.get(field) or {})}
                        stored[field] = {k: v for k, v in merged.items() if v is not None}
                    stored["resourceVersion"] = str(next(self._versions))
                    changed.notify_all()
                    return aiohttp.web.json_response(self._namespaces[name])
        elif raw_request.method == "GET" and name in self._namespaces:
            return aiohttp.web.json_response(self._namespaces[name])
        return aiohttp.web.json_response({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
            "message": f'namespaces "{name}" not found', "details": {"name": name, "kind": "namespaces"},
        }, status=404)


async def _posted_metadata(raw_request: aiohttp.web.BaseRequest) -> dict[str, Any]:
    """The new namespace's metadata, from JSON or from the protobuf `kubectl create namespace` sends."""
    if raw_request.content_type == "application/vnd.kubernetes.protobuf":
        return namespace_metadata_from_protobuf(await raw_request.read())
    metadata: dict[str, Any] = (await raw_request.json()).get("metadata", {})
    return metadata


# Kubernetes' protobuf envelope and the field numbers of the messages read here (generated.proto).
_PROTOBUF_MAGIC = b"k8s\x00"
_UNKNOWN_RAW = 2  # runtime.Unknown.raw: the encoded object
_NAMESPACE_METADATA = 1  # v1.Namespace.metadata
_META_FIELDS = {1: "name", 2: "generateName"}
_META_MAPS = {11: "labels", 12: "annotations"}


def namespace_metadata_from_protobuf(body: bytes) -> dict[str, Any]:
    if not body.startswith(_PROTOBUF_MAGIC):
        raise ValueError("not a Kubernetes protobuf body")
    raw = _fields(body[len(_PROTOBUF_MAGIC):]).get(_UNKNOWN_RAW, [b""])[0]
    encoded_meta = _fields(raw).get(_NAMESPACE_METADATA, [b""])[0]
    fields = _fields(encoded_meta)
    metadata: dict[str, Any] = {name: fields[number][0].decode() for number, name in _META_FIELDS.items()
                                if number in fields}
    for number, name in _META_MAPS.items():
        entries = [_fields(entry) for entry in fields.get(number, [])]
        metadata[name] = {e[1][0].decode(): e.get(2, [b""])[0].decode() for e in entries if 1 in e}
    return metadata


def _fields(message: bytes) -> dict[int, list[bytes]]:
    """The length-delimited fields of a protobuf message by number (other wire types skipped)."""
    found: dict[int, list[bytes]] = {}
    position = 0
    while position < len(message):
        tag, position = _varint(message, position)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            _, position = _varint(message, position)
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        elif wire_type == 2:
            length, position = _varint(message, position)
            found.setdefault(number, []).append(message[position:position + length])
            position += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return found


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7

