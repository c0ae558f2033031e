"""The API emulator admits a CustomResourceDefinition only when a real API server would.

Each case is one CRD that breaks one of the API server's rules, with the words the API server
answers; the CRDs this project generates pass them all.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from scar_operator import crdgen
from scar_operator.local import crd_admission

REPO = Path(__file__).resolve().parents[2]
ROOT = "spec.validation.openAPIV3Schema"


def valid_crd() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.dev"},
        "spec": {
            "group": "example.dev",
            "scope": "Namespaced",
            "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget",
                      "shortNames": ["wd"]},
            "versions": [{
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "metadata": {"type": "object"},
                        "spec": {"type": "object", "properties": {
                            "size": {"type": "integer", "default": 1, "minimum": 1},
                            "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        }},
                        "status": {"type": "object", "properties": {
                            "conditions": {
                                "type": "array",
                                "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["type"],
                                "items": {"type": "object", "required": ["type"], "properties": {
                                    "type": {"type": "string"},
                                    "lastTransitionTime": {"type": "string", "format": "date-time"},
                                }},
                            },
                        }},
                    },
                }},
            }],
        },
    }


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return node


def spec_properties(crd: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = schema_of(crd)["properties"]["spec"]["properties"]
    return node


def condition_properties(crd: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = schema_of(crd)["properties"]["status"]["properties"]["conditions"]["items"]["properties"]
    return node


def refusals(change: Callable[[dict[str, Any]], object]) -> list[str]:
    crd = valid_crd()
    change(crd)
    return [str(e) for e in crd_admission.crd_errors(crd)]


def test_a_valid_crd_is_admitted() -> None:
    assert crd_admission.crd_errors(valid_crd()) == []


# What the API server admits, though it looks wrong (each checked on kube-apiserver v1.32).
ADMITTED: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("a null default, which is no default", lambda c: spec_properties(c).update(note={"type": "string",
                                                                                     "default": None})),
    ("int-or-string with a type", lambda c: spec_properties(c).update(
        port={"type": "string", "x-kubernetes-int-or-string": True})),
    ("a column path that only starts with a dot",
     lambda c: c["spec"]["versions"][0]["additionalPrinterColumns"][0].update(jsonPath=".status[phase")),
]


@pytest.mark.parametrize("change", [c for _, c in ADMITTED], ids=[n for n, _ in ADMITTED])
def test_the_emulator_admits_what_the_api_server_admits(change: Callable[[dict[str, Any]], object]) -> None:
    assert refusals(change) == []


@pytest.mark.parametrize("info", crdgen.KINDS, ids=lambda i: i.kind)
def test_the_generated_crds_are_admitted(info: crdgen.KindInfo) -> None:
    committed = yaml.safe_load(crdgen.crd_path(REPO / "crds", info).read_text())
    assert [str(e) for e in crd_admission.crd_errors(committed)] == []


SPEC = f"{ROOT}.properties[spec].properties"
CONDITION = f"{ROOT}.properties[status].properties[conditions].items.properties"

CASES: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    # Every default must validate against its own schema.
    ("an empty default on a date-time", lambda c: condition_properties(c)["lastTransitionTime"].update(default=""),
     f'{CONDITION}[lastTransitionTime].default: Invalid value: "":  in body must be of type date-time: ""'),
    ("a default of the wrong type", lambda c: spec_properties(c)["size"].update(default="one"),
     f'{SPEC}[size].default: Invalid value: "string":  in body must be of type integer: "string"'),
    ("a default outside the enum", lambda c: spec_properties(c)["mode"].update(default="c"),
     f'{SPEC}[mode].default: Unsupported value: "c": supported values: "a", "b"'),
    ("a default below the minimum", lambda c: spec_properties(c)["size"].update(default=0),
     f"{SPEC}[size].default: Invalid value: 0:  in body should be greater than or equal to 1"),
    ("a default that breaks the pattern",
     lambda c: spec_properties(c).update(name={"type": "string", "pattern": "^[a-z]+$", "default": "A1"}),
     f"{SPEC}[name].default: Invalid value: \"A1\":  in body should match '^[a-z]+$'"),
    # A default is validated as written: nothing is pruned from it or defaulted in it first.
    ("a null inside an object default",
     lambda c: spec_properties(c).update(limits={"type": "object", "properties": {"memory": {"type": "integer"}},
                                                  "default": {"memory": None}}),
     f'{SPEC}[limits].default.memory: Invalid value: "null": memory in body must be of type integer: "null"'),
    ("a null list item in a default",
     lambda c: spec_properties(c).update(tags={"type": "array", "items": {"type": "string"}, "default": [None]}),
     f'{SPEC}[tags].default.[0]: Invalid value: "null": [0] in body must be of type string: "null"'),
    ("an object default without a required field its own schema defaults",
     lambda c: spec_properties(c).update(box={"type": "object", "required": ["a"],
                                               "properties": {"a": {"type": "string", "default": "x"}},
                                               "default": {}}),
     f"{SPEC}[box].default.a: Required value"),
    ("a default in top-level metadata",
     lambda c: schema_of(c)["properties"]["metadata"].update(default={"name": "x"}),
     f"{ROOT}.properties[metadata].default: Forbidden: must not be set in top-level metadata"),
    ("a default in top-level apiVersion",
     lambda c: schema_of(c)["properties"].update(apiVersion={"type": "string", "default": "example.dev/v1"}),
     f"{ROOT}.properties[apiVersion].default: Forbidden: must not be set in top-level apiVersion"),
    ("a default with fields the schema prunes",
     lambda c: spec_properties(c).update(box={"type": "object", "properties": {"a": {"type": "string"}},
                                               "default": {"a": "x", "b": "y"}}),
     f"{SPEC}[box].default: Invalid value: " + '{"a":"x","b":"y"}: must not have unknown fields'),
    ("a default that breaks a CEL rule",
     lambda c: spec_properties(c).update(even={"type": "integer", "default": 3,
                                                "x-kubernetes-validations": [{"rule": "self % 2 == 0",
                                                                              "message": "must be even"}]}),
     f'{SPEC}[even].default: Invalid value: "integer": must be even'),
    # Structural schemas.
    ("a field without a type", lambda c: spec_properties(c).update(loose={"description": "anything"}),
     f"{SPEC}[loose].type: Required value: must not be empty for specified object fields"),
    ("array items without a type",
     lambda c: spec_properties(c).update(things={"type": "array", "items": {"description": "x"}}),
     f"{SPEC}[things].items.type: Required value: must not be empty for specified array items"),
    ("an array without items", lambda c: spec_properties(c).update(things={"type": "array"}),
     f"{SPEC}[things].items: Required value: must be specified"),
    ("an unknown type", lambda c: spec_properties(c).update(when={"type": "datetime"}),
     f'{SPEC}[when].type: Unsupported value: "datetime": supported values: "array", "boolean", "integer", '
     '"number", "object", "string"'),
    ("additionalProperties beside properties",
     lambda c: schema_of(c)["properties"]["spec"].update(additionalProperties={"type": "string"}),
     f"{ROOT}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual "
     "exclusive"),
    ("additionalProperties at the root",
     lambda c: schema_of(c).update(additionalProperties={"type": "string"}),
     f"{ROOT}.additionalProperties: Forbidden: must not be used at the root"),
    ("a root that is not an object", lambda c: schema_of(c).update(type="array"),
     f'{ROOT}.type: Invalid value: "array": must be object at the root'),
    ("a $ref", lambda c: spec_properties(c).update(linked={"$ref": "#/definitions/x", "type": "object"}),
     f"{SPEC}[linked].$ref: Forbidden: $ref is not supported"),
    ("a type inside anyOf",
     lambda c: spec_properties(c)["size"].update(anyOf=[{"type": "integer"}, {"minimum": 5}]),
     f"{SPEC}[size].anyOf[0].type: Forbidden: must be empty to be structural"),
    ("metadata in a nested context",
     lambda c: spec_properties(c)["size"].update(allOf=[{"properties": {"metadata": {"maxLength": 3}}}]),
     f"{SPEC}[size].allOf[0].properties[metadata]: Forbidden: must not be specified in a nested context"),
    ("metadata at the root restricted beyond name",
     lambda c: schema_of(c)["properties"].update(metadata={"type": "object", "properties": {
         "labels": {"type": "object"}}}),
     f"{ROOT}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but "
     "metadata is implicitly specified"),
    ("an embedded resource that is not an object",
     lambda c: spec_properties(c).update(template={"type": "string", "x-kubernetes-embedded-resource": True,
                                                    "x-kubernetes-preserve-unknown-fields": True}),
     f'{SPEC}[template].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true'),
    # The Kubernetes extensions, where the API server allows them.
    ("preserve-unknown-fields set to false",
     lambda c: spec_properties(c)["labels"].update({"x-kubernetes-preserve-unknown-fields": False}),
     f"{SPEC}[labels].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"),
    ("a list type on an object",
     lambda c: spec_properties(c)["labels"].update({"x-kubernetes-list-type": "set"}),
     f'{SPEC}[labels].type: Invalid value: "object": must be array if x-kubernetes-list-type is specified'),
    ("an unknown list type",
     lambda c: schema_of(c)["properties"]["status"]["properties"]["conditions"].update(
         {"x-kubernetes-list-type": "bag"}),
     f'{ROOT}.properties[status].properties[conditions].x-kubernetes-list-type: Unsupported value: "bag": '
     'supported values: "atomic", "set", "map"'),
    ("map keys without a map list",
     lambda c: schema_of(c)["properties"]["status"]["properties"]["conditions"].update(
         {"x-kubernetes-list-type": "atomic"}),
     f'{ROOT}.properties[status].properties[conditions].x-kubernetes-list-type: Invalid value: "atomic": must be '
     "map if x-kubernetes-list-map-keys is non-empty"),
    ("a map key that is no property of the items",
     lambda c: schema_of(c)["properties"]["status"]["properties"]["conditions"].update(
         {"x-kubernetes-list-map-keys": ["name"]}),
     f'{ROOT}.properties[status].properties[conditions].x-kubernetes-list-map-keys: Invalid value: ["name"]: '
     "entries must all be names of item properties"),
    ("a map key neither required nor defaulted",
     lambda c: schema_of(c)["properties"]["status"]["properties"]["conditions"]["items"].update(required=[]),
     f"{CONDITION}[type].default: Required value: this property is in x-kubernetes-list-map-keys, so it must have "
     "a default or be a required property"),
    # Value validations that must themselves be valid.
    ("a pattern RE2 cannot run", lambda c: spec_properties(c).update(word={"type": "string", "pattern": "^(?!x)"}),
     f"{SPEC}[word].pattern: Invalid value: \"^(?!x)\": must be a valid regular expression, but isn't: error "
     "parsing regexp: invalid or unsupported Perl syntax: `(?!`"),
    ("uniqueItems", lambda c: spec_properties(c).update(tags={"type": "array", "items": {"type": "string"},
                                                              "uniqueItems": True}),
     f"{SPEC}[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes "
     "quadratic"),
    ("a CEL rule that does not compile",
     lambda c: spec_properties(c)["size"].update({"x-kubernetes-validations": [{"rule": "self >"}]}),
     f'{SPEC}[size].x-kubernetes-validations[0].rule: Invalid value: "self >": compilation failed'),
    # Printer columns and subresources.
    ("a column path that does not start with a dot",
     lambda c: c["spec"]["versions"][0]["additionalPrinterColumns"][0].update(jsonPath="status.phase"),
     'spec.additionalPrinterColumns[0].JSONPath: Invalid value: "status.phase": must be a simple json path '
     "starting with ."),
    ("a column of an unknown type",
     lambda c: c["spec"]["versions"][0]["additionalPrinterColumns"][0].update(type="text"),
     'spec.additionalPrinterColumns[0].type: Invalid value: "text": must be one of boolean,date,integer,number,'
     'string'),
    ("a status subresource with fields",
     lambda c: c["spec"]["versions"][0]["subresources"].update(status={"path": ".status"}),
     'spec.subresources.status: Invalid value: {"path":".status"}: must be an empty object'),
    ("a scale subresource outside spec",
     lambda c: c["spec"]["versions"][0]["subresources"].update(
         scale={"specReplicasPath": ".status.replicas", "statusReplicasPath": ".status.replicas"}),
     'spec.subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under '
     ".spec"),
    ("a root with more than the status subresource allows",
     lambda c: schema_of(c).update(nullable=True),
     f'{ROOT}: Invalid value: ["nullable"]: only'),
    # Names and versions.
    ("a name other than plural.group", lambda c: c["metadata"].update(name="widget.example.dev"),
     'metadata.name: Invalid value: "widget.example.dev": must be spec.names.plural+"."+spec.group'),
    ("a group without a dot",
     lambda c: (c["spec"].update(group="example"), c["metadata"].update(name="widgets.example")),
     'spec.group: Invalid value: "example": should be a domain with at least one dot'),
    ("two storage versions",
     lambda c: c["spec"]["versions"].append({**copy.deepcopy(c["spec"]["versions"][0]), "name": "v2"}),
     "spec.versions: Invalid value: [\"v1\",\"v2\"]: must have exactly one version marked as storage version"),
    ("an upper-case short name", lambda c: c["spec"]["names"].update(shortNames=["WD"]),
     'spec.names.shortNames[0]: Invalid value: "WD": a DNS-1035 label'),
]


@pytest.mark.parametrize(("change", "refusal"), [(c, r) for _, c, r in CASES], ids=[n for n, _, _ in CASES])
def test_the_emulator_refuses_what_the_api_server_refuses(change: Callable[[dict[str, Any]], object],
                                                          refusal: str) -> None:
    found = refusals(change)
    assert any(f.startswith(refusal) for f in found), found
