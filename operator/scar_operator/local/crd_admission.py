"""The checks a real API server makes on a CustomResourceDefinition before it admits it.

Kubernetes' apiextensions validation, reproduced for the rules a generated CRD can break: names,
versions, structural schemas (every node typed, no `additionalProperties` beside `properties`,
the `x-kubernetes-*` extensions where the server allows them, metadata at the root), every
`default` valid against its own schema (type, format, enum, pattern, bounds, nullable, unknown
fields, CEL rules), regular expressions RE2 accepts, CEL rules that compile, printer columns, and
the status and scale subresources. Errors carry the API server's paths and words, e.g.

    spec.validation.openAPIV3Schema.properties[status]...properties[lastTransitionTime].default:
    Invalid value: "": in body must be of type date-time: ""

README ("What the API emulator does not reproduce") lists the server's rules that are not here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from scar_operator.local import field_errors as fe
from scar_operator.local import schema_values, structural
from scar_operator.local.field_errors import FieldError

_SCHEMA_TYPES = ["array", "boolean", "integer", "number", "object", "string"]
_COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"]
_COLUMN_FORMATS = ["int32", "int64", "float", "double", "byte", "date", "date-time", "password"]
_LIST_TYPES = ["atomic", "set", "map"]
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Perl syntax Go's RE2 refuses (lookaround, backreferences, atomic groups), which Python's re accepts.
_NOT_RE2 = re.compile(r"\(\?<?[=!]|\(\?>|\(\?P=|\\[1-9]")
# Fields the API server accepts at the root of a schema whose status is a subresource.
_ROOT_WITH_STATUS = {
    "description", "type", "format", "title", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
    "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "multipleOf", "required", "items",
    "properties", "externalDocs", "example", "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations",
}
_UNSUPPORTED_KEYWORDS = {
    "$ref": "$ref is not supported",
    "$schema": "$schema is not supported",
    "id": "id is not supported",
    "definitions": "definitions are not supported",
    "patternProperties": "patternProperties is not supported",
    "dependencies": "dependencies is not supported",
    "additionalItems": "additionalItems is not supported",
}
# In anyOf / allOf / oneOf / not only value validations may appear: what gives a value its shape may not.
_NOT_IN_VALUE_VALIDATION = {
    "type": "must be empty to be structural",
    "default": "must be undefined to be structural",
    "description": "must be empty to be structural",
    "title": "must be empty to be structural",
    "nullable": "must be false to be structural",
    "additionalProperties": "must be undefined to be structural",
    "x-kubernetes-preserve-unknown-fields": "must be false to be structural",
    "x-kubernetes-embedded-resource": "must be false to be structural",
    "x-kubernetes-int-or-string": "must be false to be structural",
    "x-kubernetes-list-map-keys": "must be empty to be structural",
    "x-kubernetes-list-type": "must be undefined to be structural",
    "x-kubernetes-map-type": "must be undefined to be structural",
    "x-kubernetes-validations": "must be empty to be structural",
}
_JUNCTORS = ("anyOf", "allOf", "oneOf")
# The root's fields that describe the object itself: the API server forbids defaults anywhere in them.
_META_FIELDS = ("metadata", "apiVersion", "kind")
_RULE_VIOLATION = re.compile(r'^.*?Invalid value: "[a-z]+": ')


def crd_errors(crd: Mapping[str, Any]) -> list[FieldError]:
    """Everything the API server would refuse in `crd`; empty when it would admit it."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    errors = _name_errors(crd, spec, names)
    versions = spec.get("versions") or []
    if not versions:
        errors.append(FieldError("spec.versions", fe.INVALID, "must have exactly one version marked as storage version",
                                 []))
    seen: set[str] = set()
    for position, version in enumerate(versions):
        name = str(version.get("name", ""))
        if not _DNS1035.match(name):
            errors.append(FieldError(f"spec.versions[{position}].name", fe.INVALID, _dns1035_detail(), name))
        if name in seen:
            errors.append(FieldError("spec.versions", fe.INVALID, "must contain unique version names", name))
        seen.add(name)
    if versions and sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(FieldError("spec.versions", fe.INVALID, "must have exactly one version marked as storage version",
                                 [v.get("name") for v in versions]))
    errors += _per_version_errors(versions)
    return errors


def _dns1035_detail() -> str:
    return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
            "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def _name_errors(crd: Mapping[str, Any], spec: Mapping[str, Any], names: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    group = str(spec.get("group", ""))
    if not group:
        errors.append(FieldError("spec.group", fe.REQUIRED))
    elif not _DNS1123_SUBDOMAIN.match(group):
        errors.append(FieldError("spec.group", fe.INVALID, "a lowercase RFC 1123 subdomain", group))
    elif "." not in group:
        errors.append(FieldError("spec.group", fe.INVALID, "should be a domain with at least one dot", group))
    scope = spec.get("scope", "")
    if not scope:
        errors.append(FieldError("spec.scope", fe.REQUIRED))
    elif scope not in ("Cluster", "Namespaced"):
        errors.append(FieldError("spec.scope", fe.UNSUPPORTED, fe.supported_values(["Cluster", "Namespaced"]), scope))
    for field in ("plural", "singular", "kind", "listKind"):
        if not names.get(field):
            errors.append(FieldError(f"spec.names.{field}", fe.REQUIRED))
    for field in ("plural", "singular"):
        value = str(names.get(field) or "")
        if value and not _DNS1035.match(value):
            errors.append(FieldError(f"spec.names.{field}", fe.INVALID, _dns1035_detail(), value))
    for field in ("kind", "listKind"):
        value = str(names.get(field) or "")
        if value and not _DNS1035.match(value.lower()):
            errors.append(FieldError(f"spec.names.{field}", fe.INVALID,
                                     "may have mixed case, but should otherwise match: " + _dns1035_detail(), value))
    if names.get("kind") and names.get("kind") == names.get("listKind"):
        errors.append(FieldError("spec.names.listKind", fe.INVALID, "kind and listKind may not be the same",
                                 names["listKind"]))
    for field in ("shortNames", "categories"):
        for position, value in enumerate(names.get(field) or []):
            if not _DNS1035.match(str(value)):
                errors.append(FieldError(f"spec.names.{field}[{position}]", fe.INVALID, _dns1035_detail(), value))
    name = str((crd.get("metadata") or {}).get("name", ""))
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        errors.append(FieldError("metadata.name", fe.INVALID, 'must be spec.names.plural+"."+spec.group', name))
    return errors


def _per_version_errors(versions: list[Mapping[str, Any]]) -> list[FieldError]:
    """Schema, subresources and columns of each version, under the paths the API server reports.

    The API server converts v1 to its internal version first: what is identical in every version
    moves to `spec.validation`, `spec.subresources`, `spec.additionalPrinterColumns`, and its
    messages name those paths.
    """
    errors: list[FieldError] = []

    def where(position: int, field: str, hoisted: str) -> str:
        same = all(v.get(field) == versions[0].get(field) for v in versions)
        return f"spec.{hoisted}" if same else f"spec.versions[{position}].{field}"

    for position, version in enumerate(versions):
        subresources = version.get("subresources") or {}
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        schema_path = where(position, "schema", "validation") + ".openAPIV3Schema"
        if schema is None:
            errors.append(FieldError(f"spec.versions[{position}].schema.openAPIV3Schema", fe.REQUIRED,
                                     "schemas are required"))
        else:
            errors += schema_errors(schema, schema_path, status_subresource="status" in subresources)
        errors += _subresource_errors(subresources, where(position, "subresources", "subresources"))
        columns_path = where(position, "additionalPrinterColumns", "additionalPrinterColumns")
        for index, column in enumerate(version.get("additionalPrinterColumns") or []):
            errors += _column_errors(column, f"{columns_path}[{index}]")
    # Hoisted errors are reported once, not once per version.
    return list({str(e): e for e in errors}.values())


def schema_errors(schema: Mapping[str, Any], path: str, status_subresource: bool = False) -> list[FieldError]:
    """A version's openAPIV3Schema: structural, with valid extensions, rules and defaults."""
    errors: list[FieldError] = []
    if status_subresource:
        extra = sorted(set(schema) - _ROOT_WITH_STATUS)
        if extra:
            errors.append(FieldError(path, fe.INVALID, f"only {sorted(_ROOT_WITH_STATUS)} fields are allowed at the "
                                     "root of the schema if the status subresource is enabled", extra))
    if schema.get("type") and schema["type"] != "object":
        errors.append(FieldError(f"{path}.type", fe.INVALID, "must be object at the root", schema["type"]))
    if "additionalProperties" in schema:
        errors.append(FieldError(f"{path}.additionalProperties", fe.FORBIDDEN, "must not be used at the root"))
    metadata = (schema.get("properties") or {}).get("metadata")
    if isinstance(metadata, Mapping):
        errors += _root_metadata_errors(metadata, fe.key(f"{path}.properties", "metadata"))
    _walk(schema, path, "root", errors)
    if not errors:
        # Defaults are checked against the schema only once the schema itself is sound, as on the API server.
        _defaults(schema, path, errors, root=True)
    return errors


def _root_metadata_errors(metadata: Mapping[str, Any], path: str) -> list[FieldError]:
    errors = []
    if metadata.get("type", "object") != "object":
        errors.append(FieldError(f"{path}.type", fe.INVALID, "must be object", metadata.get("type")))
    # A default is not judged here: at the root the API server refuses it on its own (in top-level metadata).
    allowed = {"type", "properties", "default"}
    properties = metadata.get("properties") or {}
    if set(metadata) - allowed or set(properties) - {"name", "generateName"}:
        errors.append(FieldError(path, fe.FORBIDDEN, "must not specify anything other than name and generateName, "
                                 "but metadata is implicitly specified"))
    return errors


def _walk(node: Mapping[str, Any], path: str, level: str, errors: list[FieldError]) -> None:
    """Structural rules of one node and, recursively, of what it declares."""
    for keyword, detail in _UNSUPPORTED_KEYWORDS.items():
        if keyword in node:
            errors.append(FieldError(f"{path}.{keyword}", fe.FORBIDDEN, detail))
    if node.get("uniqueItems") is True:
        errors.append(FieldError(f"{path}.uniqueItems", fe.FORBIDDEN,
                                 "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    node_type = node.get("type", "")
    int_or_string = node.get("x-kubernetes-int-or-string") is True
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    embedded = node.get("x-kubernetes-embedded-resource") is True
    if node_type and node_type not in _SCHEMA_TYPES:
        errors.append(FieldError(f"{path}.type", fe.UNSUPPORTED, fe.supported_values(_SCHEMA_TYPES), node_type))
    if not node_type and not int_or_string and preserve is not True:
        where = {"root": "at the root", "item": "for specified array items", "field": "for specified object fields"}
        errors.append(FieldError(f"{path}.type", fe.REQUIRED, f"must not be empty {where[level]}"))
    if preserve is not None and preserve is not True:
        errors.append(FieldError(f"{path}.x-kubernetes-preserve-unknown-fields", fe.INVALID,
                                 "must be true or undefined", preserve))
    if int_or_string and preserve is True:
        errors.append(FieldError(f"{path}.x-kubernetes-preserve-unknown-fields", fe.INVALID,
                                 "must be false if x-kubernetes-int-or-string is true", True))
    if embedded:
        if node_type != "object":
            errors.append(FieldError(f"{path}.type", fe.INVALID, "must be object if x-kubernetes-embedded-resource is "
                                     "true", node_type))
        if preserve is not True and not node.get("properties"):
            errors.append(FieldError(f"{path}.properties", fe.REQUIRED, "must not be empty if "
                                     "x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-"
                                     "fields"))
    properties = node.get("properties")
    extra = node.get("additionalProperties")
    if extra is not None and properties and (extra is False or isinstance(extra, Mapping)):
        errors.append(FieldError(f"{path}.additionalProperties", fe.FORBIDDEN,
                                 "additionalProperties and properties are mutual exclusive"))
    items = node.get("items")
    if isinstance(items, list):
        errors.append(FieldError(f"{path}.items", fe.FORBIDDEN, "items must be a schema object and not an array"))
    elif node_type == "array" and not isinstance(items, Mapping):
        errors.append(FieldError(f"{path}.items", fe.REQUIRED, "must be specified"))
    _list_type_errors(node, path, errors)
    if "pattern" in node:
        errors += _pattern_errors(node["pattern"], f"{path}.pattern")
    for index, rule in enumerate(node.get("x-kubernetes-validations") or []):
        try:
            structural.compiled_rule(str(rule.get("rule", "")))
        except ValueError as e:
            errors.append(FieldError(f"{path}.x-kubernetes-validations[{index}].rule", fe.INVALID,
                                     f"compilation failed: {e}", rule.get("rule")))
    for junctor in _JUNCTORS:
        for index, nested in enumerate(node.get(junctor) or []):
            _value_validation_errors(nested, f"{path}.{junctor}[{index}]", errors)
    if isinstance(node.get("not"), Mapping):
        _value_validation_errors(node["not"], f"{path}.not", errors)
    for name, sub in (properties or {}).items():
        sub_path = fe.key(f"{path}.properties", name)
        if embedded and name == "metadata":
            errors += _root_metadata_errors(sub, sub_path)
        _walk(sub, sub_path, "field", errors)
    if isinstance(items, Mapping):
        _walk(items, f"{path}.items", "item", errors)
    if isinstance(extra, Mapping):
        _walk(extra, f"{path}.additionalProperties", "field", errors)


def _value_validation_errors(node: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    for keyword, detail in _NOT_IN_VALUE_VALIDATION.items():
        if keyword in node and node[keyword] not in (False, None, [], ""):
            errors.append(FieldError(f"{path}.{keyword}", fe.FORBIDDEN, detail))
    if "metadata" in (node.get("properties") or {}):
        errors.append(FieldError(fe.key(f"{path}.properties", "metadata"), fe.FORBIDDEN,
                                 "must not be specified in a nested context"))


def _list_type_errors(node: Mapping[str, Any], path: str, errors: list[FieldError]) -> None:
    list_type = node.get("x-kubernetes-list-type")
    map_keys = node.get("x-kubernetes-list-map-keys")
    if map_keys and list_type is None:
        errors.append(FieldError(f"{path}.x-kubernetes-list-type", fe.REQUIRED,
                                 "must be map if x-kubernetes-list-map-keys is non-empty"))
    if list_type is None:
        return
    if list_type not in _LIST_TYPES:
        errors.append(FieldError(f"{path}.x-kubernetes-list-type", fe.UNSUPPORTED, fe.supported_values(_LIST_TYPES),
                                 list_type))
        return
    if node.get("type") != "array":
        errors.append(FieldError(f"{path}.type", fe.INVALID, "must be array if x-kubernetes-list-type is specified",
                                 node.get("type", "")))
        return
    items: Mapping[str, Any] = node["items"] if isinstance(node.get("items"), Mapping) else {}
    if list_type == "map":
        if not map_keys:
            errors.append(FieldError(f"{path}.x-kubernetes-list-map-keys", fe.REQUIRED,
                                     "must not be empty if x-kubernetes-list-type is map"))
        if items.get("type") != "object":
            errors.append(FieldError(f"{path}.items.type", fe.INVALID,
                                     "must be object if parent array's x-kubernetes-list-type is map",
                                     items.get("type", "")))
            return
        properties = items.get("properties") or {}
        required = set(items.get("required") or [])
        for name in map_keys or []:
            key_schema = properties.get(name)
            if key_schema is None:
                errors.append(FieldError(f"{path}.x-kubernetes-list-map-keys", fe.INVALID,
                                         "entries must all be names of item properties", map_keys))
            elif key_schema.get("type") in ("array", "object"):
                errors.append(FieldError(f"{path}.x-kubernetes-list-map-keys", fe.INVALID,
                                         "must only include scalar properties", map_keys))
            elif name not in required and "default" not in key_schema:
                errors.append(FieldError(fe.key(f"{path}.items.properties", name) + ".default", fe.REQUIRED,
                                         "this property is in x-kubernetes-list-map-keys, so it must have a default "
                                         "or be a required property"))
    elif map_keys:
        errors.append(FieldError(f"{path}.x-kubernetes-list-type", fe.INVALID,
                                 "must be map if x-kubernetes-list-map-keys is non-empty", list_type))
    if list_type == "set" and items.get("type") in ("object", "array") and \
            items.get("x-kubernetes-map-type") != "atomic" and items.get("x-kubernetes-list-type") != "atomic":
        errors.append(FieldError(f"{path}.items.x-kubernetes-map-type" if items.get("type") == "object"
                                 else f"{path}.items.x-kubernetes-list-type", fe.INVALID,
                                 "must be atomic as item of a list with x-kubernetes-list-type=set", None))


def _pattern_errors(pattern: Any, path: str) -> list[FieldError]:
    unsupported = _NOT_RE2.search(str(pattern))
    try:
        re.compile(str(pattern))
    except re.error as e:
        return [FieldError(path, fe.INVALID, f"must be a valid regular expression, but isn't: error parsing regexp: "
                           f"{e}", pattern)]
    if unsupported:
        return [FieldError(path, fe.INVALID, "must be a valid regular expression, but isn't: error parsing regexp: "
                           f"invalid or unsupported Perl syntax: `{unsupported.group(0)}`", pattern)]
    return []


def _defaults(node: Mapping[str, Any], path: str, errors: list[FieldError], root: bool = False) -> None:
    """Every default must be what the API server could store: pruned, valid, within the node's CEL rules.

    At the root, `metadata`, `apiVersion` and `kind` may hold no default anywhere below them.
    """
    if node.get("default") is not None:  # `default: null` is no default: the API server holds none
        errors += default_errors(node["default"], node, f"{path}.default")
    for name, sub in (node.get("properties") or {}).items():
        sub_path = fe.key(f"{path}.properties", name)
        if root and name in _META_FIELDS:
            errors += [FieldError(where, fe.FORBIDDEN, f"must not be set in top-level {name}")
                       for where in _default_paths(sub, sub_path)]
            continue
        _defaults(sub, sub_path, errors)
    if isinstance(node.get("items"), Mapping):
        _defaults(node["items"], f"{path}.items", errors)
    if isinstance(node.get("additionalProperties"), Mapping):
        _defaults(node["additionalProperties"], f"{path}.additionalProperties", errors)


def _default_paths(node: Mapping[str, Any], path: str) -> list[str]:
    found = [f"{path}.default"] if node.get("default") is not None else []
    for name, sub in (node.get("properties") or {}).items():
        found += _default_paths(sub, fe.key(f"{path}.properties", name))
    for child in ("items", "additionalProperties"):
        if isinstance(node.get(child), Mapping):
            found += _default_paths(node[child], f"{path}.{child}")
    return found


def default_errors(default: Any, node: Mapping[str, Any], path: str) -> list[FieldError]:
    """A default checked as the API server checks it: exactly as written.

    Nothing is defaulted or pruned in it first, unlike in a stored object: a null for a field
    that is not nullable is refused (`memory in body must be of type integer: "null"`), and so
    is a missing required field that the field's own schema would have defaulted.
    """
    if structural.prune(copy.deepcopy(default), node) != default:
        return [FieldError(path, fe.INVALID, "must not have unknown fields", default)]
    errors = [FieldError(_joined(path, e.path), e.type, e.detail, e.value)
              for e in schema_values.validate(default, node)]
    if not errors:
        type_name = schema_values.json_type_name(default)  # the API server names the type, not the value
        errors += [FieldError(path, fe.INVALID, _RULE_VIOLATION.sub("", violation), type_name)
                   for violation in structural.rule_violations(default, None, node, path="")]
    return errors


def _joined(base: str, inner: str) -> str:
    return f"{base}.{inner}" if inner else base


def _column_errors(column: Mapping[str, Any], path: str) -> list[FieldError]:
    """As the API server checks a column, under its internal field names (`JSONPath`)."""
    errors = []
    if not column.get("name"):
        errors.append(FieldError(f"{path}.name", fe.REQUIRED))
    column_type = column.get("type")
    must_be = "must be one of " + ",".join(sorted(_COLUMN_TYPES))
    if not column_type:
        errors.append(FieldError(f"{path}.type", fe.REQUIRED, must_be))
    elif column_type not in _COLUMN_TYPES:
        errors.append(FieldError(f"{path}.type", fe.INVALID, must_be, column_type))
    column_format = column.get("format")
    if column_format and column_format not in _COLUMN_FORMATS:
        errors.append(FieldError(f"{path}.format", fe.INVALID, "must be one of " + ",".join(sorted(_COLUMN_FORMATS)),
                                 column_format))
    json_path = column.get("jsonPath")
    if not json_path:
        errors.append(FieldError(f"{path}.JSONPath", fe.REQUIRED))
    else:
        errors += json_path_errors(str(json_path), f"{path}.JSONPath")
    priority = column.get("priority", 0)
    if not isinstance(priority, int) or priority < 0:
        errors.append(FieldError(f"{path}.priority", fe.INVALID, "must be greater than or equal to 0", priority))
    return errors


def json_path_errors(json_path: str, path: str) -> list[FieldError]:
    """A column's or a scale path: the API server asks only that it start with a dot (what follows
    is not parsed until kubectl prints it; tests/unit/test_crds.py evaluates this project's own)."""
    if not json_path.startswith("."):
        return [FieldError(path, fe.INVALID, "must be a simple json path starting with .", json_path)]
    return []


def _subresource_errors(subresources: Mapping[str, Any], path: str) -> list[FieldError]:
    errors = []
    status = subresources.get("status")
    if "status" in subresources and status not in ({}, None):
        errors.append(FieldError(f"{path}.status", fe.INVALID, "must be an empty object", status))
    scale = subresources.get("scale")
    if scale is None:
        return errors
    for field, under in (("specReplicasPath", ".spec."), ("statusReplicasPath", ".status.")):
        value = scale.get(field)
        if not value:
            errors.append(FieldError(f"{path}.scale.{field}", fe.REQUIRED))
            continue
        problems = json_path_errors(str(value), f"{path}.scale.{field}")
        if not problems and not str(value).startswith(under):
            problems = [FieldError(f"{path}.scale.{field}", fe.INVALID, f"should be a json path under {under[:-1]}",
                                   value)]
        errors += problems
    selector = scale.get("labelSelectorPath")
    if selector:
        problems = json_path_errors(str(selector), f"{path}.scale.labelSelectorPath")
        if not problems and not str(selector).startswith((".spec.", ".status.")):
            problems = [FieldError(f"{path}.scale.labelSelectorPath", fe.INVALID,
                                   "should be a json path under either .spec or .status", selector)]
        errors += problems
    return errors
