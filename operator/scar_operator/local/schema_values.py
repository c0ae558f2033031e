"""A value checked against a structural schema the way the API server checks a custom object.

The rules of kube-openapi's validator that structural CRD schemas can carry: type (with
`nullable` and `x-kubernetes-int-or-string`), `required`, `enum`, `format`, `pattern`, numeric
bounds, string lengths, item counts and the list types `set` and `map` (no duplicates). The
same checks serve custom objects and the defaults inside a CRD, so that a default the API
server would refuse is refused here too. Errors are worded as the API server words them.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from scar_operator.local import field_errors as fe
from scar_operator.local.field_errors import FieldError

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$"
)
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}"
                       r"[a-zA-Z0-9])?)*\.?$")


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else type(value).__name__


def _date_time(text: str) -> bool:
    if not _RFC3339.match(text):
        return False
    try:
        datetime.datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _byte(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _parses(parse: Callable[[str], object]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            parse(text)
        except ValueError:
            return False
        return True
    return check


# The string formats the API server checks (go-openapi's strfmt registry, the ones that matter for
# CRDs); a format it does not know is not checked, here either.
STRING_FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": _date_time,
    "datetime": _date_time,
    "date": _date,
    "byte": _byte,
    "uuid": _parses(uuid.UUID),
    "ipv4": _parses(ipaddress.IPv4Address),
    "ipv6": _parses(ipaddress.IPv6Address),
    "cidr": _parses(lambda t: ipaddress.ip_network(t, strict=False)),
    "hostname": lambda t: bool(_HOSTNAME.match(t)),
}


def validate(value: Any, schema: Mapping[str, Any], path: str = "") -> list[FieldError]:
    """Everything `value` breaks in `schema`; `path` names the value in the messages."""
    errors: list[FieldError] = []
    _check(value, schema, path, errors)
    return errors


def _in_body(path: str, text: str) -> str:
    # As kube-openapi words it: at the root of what is validated (a default of a scalar) the name
    # is empty and the message starts with its space (`Invalid value: "":  in body must be ...`).
    return f"{path} in body {text}"


def _check(value: Any, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    if value is None:
        if not schema.get("nullable") and "type" in schema:
            errors.append(FieldError(path, fe.INVALID, _in_body(path, f'must be of type {schema["type"]}: "null"'),
                                     "null"))
        return
    if not _type_holds(value, schema, path, errors):
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(FieldError(path, fe.UNSUPPORTED, fe.supported_values(schema["enum"]), value))
    if isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)
    elif isinstance(value, list):
        _check_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _check_object(value, schema, path, errors)


def _type_holds(value: Any, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        wanted: tuple[type, ...] = (int, str)
        name = "integer or string"
    elif "type" in schema:
        wanted, name = _TYPES.get(schema["type"], (object,)), schema["type"]
    else:
        return True  # x-kubernetes-preserve-unknown-fields without a type: anything goes
    if isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted):
        return True
    if name == "integer" and isinstance(value, float) and value.is_integer():
        return True  # JSON does not tell 1 from 1.0
    actual = json_type_name(value)
    errors.append(FieldError(path, fe.INVALID, _in_body(path, f'must be of type {name}: "{actual}"'), actual))
    return False


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.append(FieldError(path, fe.TOO_LONG, f"may not be more than {schema['maxLength']} bytes", value))
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(FieldError(path, fe.INVALID,
                                 _in_body(path, f"should be at least {schema['minLength']} chars long"), value))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(FieldError(path, fe.INVALID, _in_body(path, f"should match '{schema['pattern']}'"), value))
    check = STRING_FORMATS.get(str(schema.get("format", "")))
    if check is not None and not check(value):
        errors.append(FieldError(path, fe.INVALID, _in_body(path, f'must be of type {schema["format"]}: '
                                                            f"{fe.value_text(value)}"), value))


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    if "maximum" in schema:
        exclusive = schema.get("exclusiveMaximum") is True
        if value > schema["maximum"] or (exclusive and value == schema["maximum"]):
            relation = "less than" if exclusive else "less than or equal to"
            errors.append(FieldError(path, fe.INVALID, _in_body(path, f"should be {relation} {schema['maximum']}"),
                                     value))
    if "minimum" in schema:
        exclusive = schema.get("exclusiveMinimum") is True
        if value < schema["minimum"] or (exclusive and value == schema["minimum"]):
            relation = "greater than" if exclusive else "greater than or equal to"
            errors.append(FieldError(path, fe.INVALID, _in_body(path, f"should be {relation} {schema['minimum']}"),
                                     value))


def _check_array(value: list[Any], schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        errors.append(FieldError(path, fe.TOO_MANY, f"must have at most {schema['maxItems']} items", len(value)))
    if "minItems" in schema and len(value) < schema["minItems"]:
        errors.append(FieldError(path, fe.INVALID, _in_body(path, f"should have at least {schema['minItems']} items"),
                                 len(value)))
    items = schema.get("items")
    if isinstance(items, Mapping):
        for position, item in enumerate(value):
            _check(item, items, fe.index(path, position), errors)
    list_type = schema.get("x-kubernetes-list-type")
    if list_type in ("set", "map"):
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen: set[str] = set()
        for position, item in enumerate(value):
            identity = item if list_type == "set" or not isinstance(item, dict) else {k: item.get(k) for k in keys}
            text = json.dumps(identity, sort_keys=True)
            if text in seen:
                errors.append(FieldError(fe.index(path, position), fe.DUPLICATE, "", identity))
            seen.add(text)


def _check_object(value: dict[str, Any], schema: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    for name in schema.get("required") or []:
        if name not in value:
            errors.append(FieldError(fe.child(path, name), fe.REQUIRED))
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
        if sub is not None:
            _check(item, sub, fe.child(path, name), errors)
