"""CustomResourceDefinitions generated from the typed models.

pydantic emits JSON Schema (with $ref, anyOf-null for optionals and titles); the API server
wants a structural OpenAPI v3 schema: every node typed, no $ref, no anyOf with differing types.
This module does that translation and nothing else; `scar-operator crds` writes crds/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from scar_operator import GROUP, VERSION
from scar_operator.account.spec import ScarAccountSpec, ScarAccountStatus
from scar_operator.batchjob.spec import ScarBatchJobSpec
from scar_operator.models import ScarFunctionSpec
from scar_operator.status_model import ScarBatchJobStatus, ScarFunctionStatus

# Keywords a structural schema may carry; pydantic's others (title, ...) are dropped.
_KEPT_KEYWORDS = {
    "type", "description", "default", "enum", "format", "pattern", "minimum", "maximum",
    "minLength", "maxLength", "minItems", "maxItems", "items", "properties", "required",
    "additionalProperties", "x-kubernetes-validations", "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys", "x-kubernetes-preserve-unknown-fields",
}


@dataclass(frozen=True)
class KindInfo:
    kind: str
    plural: str
    singular: str
    short_name: str
    spec_model: type[BaseModel]
    status_model: type[BaseModel]
    printer_columns: tuple[dict[str, Any], ...]
    scope: str = "Namespaced"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


def _ready_column(name: str, field: str) -> dict[str, Any]:
    return {"name": name, "type": "string", "jsonPath": f'.status.conditions[?(@.type=="Ready")].{field}'}


SCAR_FUNCTION = KindInfo(
    kind="ScarFunction",
    plural="scarfunctions",
    singular="scarfunction",
    short_name="sf",
    spec_model=ScarFunctionSpec,
    status_model=ScarFunctionStatus,
    printer_columns=(
        _ready_column("Ready", "status"),
        _ready_column("Reason", "reason"),
        {"name": "Function", "type": "string", "jsonPath": ".status.functionName"},
        {"name": "ARN", "type": "string", "jsonPath": ".status.functionArn", "priority": 1},
        {"name": "URL", "type": "string", "jsonPath": ".status.url", "priority": 1},
        {"name": "Existing", "type": "string", "jsonPath": ".status.existingObjects.phase", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
)

SCAR_BATCH_JOB = KindInfo(
    kind="ScarBatchJob",
    plural="scarbatchjobs",
    singular="scarbatchjob",
    short_name="sbj",
    spec_model=ScarBatchJobSpec,
    status_model=ScarBatchJobStatus,
    printer_columns=(
        _ready_column("Ready", "status"),
        _ready_column("Reason", "reason"),
        # A pool's queue is named after the pool; a shared queue by its own name.
        {"name": "Queue", "type": "string", "jsonPath": ".status.jobQueueName"},
        {"name": "Revision", "type": "integer", "jsonPath": ".status.jobDefinitionRevision"},
        {"name": "Class", "type": "string", "jsonPath": ".status.computeClass", "priority": 1},
        {"name": "Dispatcher", "type": "string", "jsonPath": ".status.dispatcherFunctionName", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
)

SCAR_ACCOUNT = KindInfo(
    kind="ScarAccount",
    plural="scaraccounts",
    singular="scaraccount",
    # Not "sa": that is ServiceAccount's.
    short_name="scaracct",
    spec_model=ScarAccountSpec,
    status_model=ScarAccountStatus,
    printer_columns=(
        _ready_column("Ready", "status"),
        _ready_column("Reason", "reason"),
        {"name": "Account", "type": "string", "jsonPath": ".status.accountId"},
        {"name": "Role", "type": "string", "jsonPath": ".spec.assumeRoleArn", "priority": 1},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ),
    scope="Cluster",
)

KINDS: tuple[KindInfo, ...] = (SCAR_FUNCTION, SCAR_BATCH_JOB, SCAR_ACCOUNT)


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    document = model.model_json_schema(by_alias=True, mode="validation")
    definitions = document.pop("$defs", {})
    return _structural(document, definitions)


def _structural(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, definitions)
    if "anyOf" in node:
        # Optional[X] is anyOf [X, null]: the API server expresses "absent" by omission.
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"a structural schema cannot express anyOf {node['anyOf']!r}")
        merged = {**branches[0], **{k: v for k, v in node.items() if k != "anyOf"}}
        if merged.get("default", 0) is None:
            del merged["default"]
        return _structural(merged, definitions)
    if "const" in node:
        node = {**node, "enum": [node.pop("const")]}
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEPT_KEYWORDS:
            continue
        if key == "properties":
            result[key] = {name: _structural(sub, definitions) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            result[key] = _structural(value, definitions)
        elif key == "additionalProperties" and value is False:
            continue  # the API server prunes unknown fields: "false" is implied and not allowed
        else:
            result[key] = value
    if "type" not in result:
        if "enum" in result:
            result["type"] = "integer" if all(isinstance(v, int) for v in result["enum"]) else "string"
        elif "properties" in result:
            result["type"] = "object"
        else:
            raise ValueError(f"a structural schema needs a type: {node!r}")
    if "default" in result:
        result["default"] = _without_nulls(result["default"], node)
        if result["default"] in ([], {}):
            del result["default"]  # empty defaults only add noise to every stored object
    return result


def _without_nulls(default: Any, node: dict[str, Any]) -> Any:
    """A default as the API server can hold it: an unset optional field is left out, never null.

    The API server validates a default exactly as written (nothing is pruned or defaulted in it
    first), so `{memory: null}` is refused on create by kubectl create and server-side apply, and
    on every update by client-side apply. A null that is not a field's absence (an item of a list)
    has no structural spelling, and is a bug of the model.
    """
    if isinstance(default, dict):
        return {key: _without_nulls(value, node) for key, value in default.items() if value is not None}
    if isinstance(default, list):
        if any(item is None for item in default):
            raise ValueError(f"a structural default cannot hold a null list item: {node!r}")
        return [_without_nulls(item, node) for item in default]
    return default


def _without_item_defaults(node: dict[str, Any], in_items: bool = False) -> dict[str, Any]:
    """The spec's schema with no default inside a list's items.

    A list here is atomic: `kubectl apply` and GitOps tools compare it whole. A default the API
    server fills into an item (an input's `suffix: ""`) is in the live object and not in the
    manifest, so every client-side apply patched the list again ("configured", on kube-apiserver,
    each time), Argo CD's diff saw drift forever, and server-side apply after client-side apply
    conflicted on `.spec.input`. The operator's model fills the same defaults when it parses.
    """
    result = {key: value for key, value in node.items() if not (in_items and key == "default")}
    if "properties" in node:
        result["properties"] = {name: _without_item_defaults(sub, in_items) for name, sub in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        result["items"] = _without_item_defaults(node["items"], True)
    if isinstance(node.get("additionalProperties"), dict):
        result["additionalProperties"] = _without_item_defaults(node["additionalProperties"], in_items)
    return result


def custom_resource_definition(info: KindInfo) -> dict[str, Any]:
    spec_schema = _without_item_defaults(structural_schema(info.spec_model))
    status_schema = structural_schema(info.status_model)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": info.crd_name},
        "spec": {
            "group": GROUP,
            "scope": info.scope,
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": [info.short_name],
                "categories": ["scar"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(info.printer_columns),
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def render(info: KindInfo) -> str:
    header = "# Generated by `scar-operator crds` from scar_operator/models.py. Do not edit by hand.\n"
    return header + yaml.safe_dump(custom_resource_definition(info), sort_keys=False, width=120)


def crd_path(directory: Path, info: KindInfo) -> Path:
    return directory / f"{GROUP}_{info.plural}.yaml"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for info in KINDS:
        path = crd_path(directory, info)
        path.write_text(render(info))
        written.append(path)
    return written
