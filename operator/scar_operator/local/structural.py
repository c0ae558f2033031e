"""What a real API server does with a structural schema: defaulting, pruning, validation.

The emulator applies these so that code which works against it also works against a real API
server: an undeclared status field disappears, a default appears, an invalid spec is refused,
and a CEL rule (x-kubernetes-validations) refuses what it says, transition rules (`oldSelf`)
only on updates of a value that was there before.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

import cel

from scar_operator.local import schema_values


def apply_defaults(value: Any, schema: Mapping[str, Any]) -> Any:
    """Defaults where a field is absent, as the API server applies them. A null in a field that is
    not `nullable` counts as absent (the API server drops it before defaulting)."""
    if isinstance(value, dict) and schema.get("type") == "object":
        for name, sub in (schema.get("properties") or {}).items():
            if name in value and value[name] is None and not sub.get("nullable"):
                del value[name]
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


def unknown_fields(value: Any, schema: Mapping[str, Any], path: str = "") -> list[str]:
    """Fields of `value` its schema does not declare (what pruning would drop), as dotted paths."""
    if not isinstance(value, Mapping) or schema.get("x-kubernetes-preserve-unknown-fields"):
        if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
            return [f for item in value for f in unknown_fields(item, schema["items"], path)]
        return []
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    if schema.get("type") != "object" or (properties is None and extra is None):
        return []
    found = []
    for name, item in value.items():
        where = f"{path}.{name}" if path else name
        if properties is not None and name in properties:
            found += unknown_fields(item, properties[name], where)
        elif isinstance(extra, Mapping):
            found += unknown_fields(item, extra, where)
        else:
            found.append(where)
    return found


def problems(value: Any, schema: Mapping[str, Any], root: str) -> list[str]:
    """Messages in the API server's words: `spec.memory: Invalid value: 99999: spec.memory in body ...`."""
    return [str(e) for e in schema_values.validate(value, schema, root)]


def rule_violations(value: Any, old: Any, schema: Mapping[str, Any], path: str) -> list[str]:
    """The CEL rules `value` breaks, in the API server's words; `old` is the stored value (None on create).

    As on the API server: a rule applies where its value is present; a transition rule (one that
    reads `oldSelf`) applies only when the old value was present too; list items are not paired
    with old items (only map lists are, and the CRDs here have none with transition rules).
    """
    if value is None:
        return []
    messages = []
    for rule in schema.get("x-kubernetes-validations") or []:
        program = compiled_rule(rule["rule"])
        transition = "oldSelf" in program.variables()
        if transition and old is None:
            continue
        bindings = {"self": value, "oldSelf": old} if transition else {"self": value}
        try:
            holds = program.execute(bindings) is True
        except Exception as e:  # an evaluation error refuses the object, as on the API server
            holds, detail = False, f"{rule['rule']}: {e}"
        else:
            detail = rule.get("message") or f"failed rule: {rule['rule']}"
        if not holds:
            messages.append(f'{path}: Invalid value: "{_type_name(value)}": {detail}')
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        previous = old if isinstance(old, dict) else {}
        for name, item in value.items():
            sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                messages += rule_violations(item, previous.get(name), sub, f"{path}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            messages += rule_violations(item, None, schema["items"], f"{path}[{index}]")
    return messages


@functools.cache
def compiled_rule(rule: str) -> cel.Program:
    """A CEL rule compiled once; a syntax error raises ValueError, as the API server refuses such a CRD."""
    return cel.compile(rule)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number"}
    return names.get(type(value), "null")


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
