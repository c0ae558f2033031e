"""The OpenAPI v3 discovery documents `kubectl` reads before it applies anything.

kubectl 1.27+ validates a manifest on the server (`?fieldValidation=Strict`) when the group
version's OpenAPI document says that the resource's PATCH takes that parameter; without these
documents it gives up ("failed to download openapi"). The documents carry only what kubectl
reads there: one path per resource, its PATCH operation with the group-version-kind extension
and the `fieldValidation` parameter. No component schemas: kubectl then patches custom objects
with a JSON merge patch, as it does on a real server for kinds it has no Go type for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServedResource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def group_version_path(self) -> str:
        return f"api/{self.version}" if not self.group else f"apis/{self.group}/{self.version}"


def root_document(resources: Iterable[ServedResource]) -> dict[str, Any]:
    """`GET /openapi/v3`: one entry per group version, with a hash that changes with its document."""
    by_path: dict[str, list[ServedResource]] = {}
    for resource in resources:
        by_path.setdefault(resource.group_version_path, []).append(resource)
    paths = {}
    for path, served in sorted(by_path.items()):
        digest = hashlib.sha256(json.dumps(group_version_document(served), sort_keys=True).encode()).hexdigest()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}


def group_version_document(resources: Iterable[ServedResource]) -> dict[str, Any]:
    """`GET /openapi/v3/apis/<group>/<version>`."""
    paths: dict[str, Any] = {}
    for resource in resources:
        prefix = f"/{resource.group_version_path}"
        if resource.namespaced:
            prefix += "/namespaces/{namespace}"
        paths[f"{prefix}/{resource.plural}/{{name}}"] = {"patch": {
            "operationId": f"patch{resource.kind}",
            "x-kubernetes-group-version-kind": {"group": resource.group, "version": resource.version,
                                                "kind": resource.kind},
            "parameters": [
                {"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
                for name in ("dryRun", "fieldManager", "fieldValidation", "force")
            ],
        }}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "unversioned"}, "paths": paths}
