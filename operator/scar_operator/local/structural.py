"""What a real API server does with a structural schema: defaulting, pruning, validation.

The emulator applies these so that code which works against it also works against a real API
server: an undeclared status field disappears, a default appears, an invalid spec is refused.
CEL rules (x-kubernetes-validations) are not evaluated here; the operator enforces the same
rules itself, so they hold on both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonschema


def apply_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(value, dict) and schema.get("type") == "object":
        for name, sub in (schema.get("properties") or {}).items():
            if name not in value and "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
            if name in value:
                value[name] = apply_defaults(value[name], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for name in list(value):
                value[name] = apply_defaults(value[name], extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [apply_defaults(item, schema["items"]) for item in value]
    return value


def prune(value: Any, schema: Mapping[str, Any]) -> Any:
    """Drop fields the schema does not declare, as the API server does for structural schemas."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return value
    if isinstance(value, dict) and schema.get("type") == "object":
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        if properties is None and extra is None:
            return value  # e.g. metadata: {type: object}, handled by the server itself
        result = {}
        for name, item in value.items():
            if properties is not None and name in properties:
                result[name] = prune(item, properties[name])
            elif isinstance(extra, Mapping):
                result[name] = prune(item, extra)
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [prune(item, schema["items"]) for item in value]
    return value


def problems(value: Any, schema: Mapping[str, Any], root: str) -> list[str]:
    """Messages in the API server's style: `spec.memory: Invalid value: ...`."""
    validator = jsonschema.Draft7Validator(_jsonschema_of(schema))
    messages = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        path = root
        for part in error.absolute_path:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
        messages.append(f"{path}: Invalid value: {error.message}")
    return messages


def _jsonschema_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    # OpenAPI v3's `nullable` and the Kubernetes extensions mean nothing to jsonschema.
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "format"):
            continue
        if key == "properties":
            result[key] = {name: _jsonschema_of(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            result[key] = _jsonschema_of(value)
        else:
            result[key] = value
    return result


def merge_patch_between(old: Any, new: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns `old` into `new`."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            patch[key] = merge_patch_between(old[key], value)
    return patch
