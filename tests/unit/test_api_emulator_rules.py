"""The API emulator behaves as a real API server does with structural schemas."""

from __future__ import annotations

from scar_operator.local import structural

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {
            "memory": {"type": "integer", "default": 512, "maximum": 10240},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        }},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
        "metadata": {"type": "object"},
    },
}


def test_defaults_fill_absent_fields() -> None:
    assert structural.apply_defaults({"spec": {}}, SCHEMA) == {"spec": {"memory": 512}}


def test_unknown_fields_are_pruned_but_maps_and_metadata_are_kept() -> None:
    body = {"spec": {"memory": 1, "bogus": 2, "tags": {"a": "b"}}, "status": {"ready": True, "kopf": {}},
            "metadata": {"anything": 1}}
    assert structural.prune(body, SCHEMA) == {"spec": {"memory": 1, "tags": {"a": "b"}}, "status": {"ready": True},
                                              "metadata": {"anything": 1}}


def test_problems_name_the_field() -> None:
    assert structural.problems({"spec": {"memory": 99999}}, SCHEMA, root="") == [
        ".spec.memory: Invalid value: 99999 is greater than the maximum of 10240"
    ]


def test_merge_patch_between_two_documents() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    new = {"a": 1, "b": {"c": 4}, "e": [1, 2], "f": 5}
    assert structural.merge_patch_between(old, new) == {"b": {"c": 4, "d": None}, "e": [1, 2], "f": 5}
