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
        "spec.memory: Invalid value: 99999: spec.memory in body should be less than or equal to 10240"
    ]


def test_a_null_in_a_field_that_is_not_nullable_counts_as_absent() -> None:
    assert structural.apply_defaults({"spec": {"memory": None}}, SCHEMA) == {"spec": {"memory": 512}}


def test_formats_are_checked_as_the_api_server_checks_them() -> None:
    schema = {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}}
    assert structural.problems({"at": "2026-11-27T15:50:35Z"}, schema, root="") == []
    assert structural.problems({"at": "yesterday"}, schema, root="") == [
        'at: Invalid value: "yesterday": at in body must be of type date-time: "yesterday"'
    ]


def test_merge_patch_between_two_documents() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    new = {"a": 1, "b": {"c": 4}, "e": [1, 2], "f": 5}
    assert structural.merge_patch_between(old, new) == {"b": {"c": 4, "d": None}, "e": [1, 2], "f": 5}
