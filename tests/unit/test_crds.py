"""The CRDs in crds/ are generated from the typed models and are valid structural schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from scar_operator import crdgen
from scar_operator.local import printer_columns

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("info", crdgen.KINDS, ids=lambda i: i.kind)
def test_the_committed_crd_is_the_generated_one(info: crdgen.KindInfo) -> None:
    committed = crdgen.crd_path(REPO / "crds", info).read_text()
    assert committed == crdgen.render(info), "crds/ is stale: run `scar-operator crds`"


def walk(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, node)]
    for name, sub in (node.get("properties") or {}).items():
        found += walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        found += walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        found += walk(node["additionalProperties"], f"{path}{{}}")
    return found


@pytest.mark.parametrize("info", crdgen.KINDS, ids=lambda i: i.kind)
def test_the_schema_is_structural(info: crdgen.KindInfo) -> None:
    crd = yaml.safe_load(crdgen.render(info))
    [version] = crd["spec"]["versions"]
    assert version["subresources"] == {"status": {}}
    for path, node in walk(version["schema"]["openAPIV3Schema"]):
        assert "type" in node, f"{path} has no type"
        assert not {"$ref", "anyOf", "oneOf", "allOf", "title", "const"} & set(node), path
        assert node.get("additionalProperties") is not False, path
        if "default" in node:
            # The API server validates a default as written: a null in it is refused (issue 21).
            assert not holds_null(node["default"]), f"{path}.default holds a null: {node['default']!r}"


def holds_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_null(v) for v in value)
    return value is None


def test_an_optional_fields_unset_default_is_left_out_not_written_as_null() -> None:
    crd = crdgen.custom_resource_definition(crdgen.SCAR_ACCOUNT)
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert "default" not in spec["properties"]["limits"]  # every limit unset: nothing to default


@pytest.mark.parametrize("info", crdgen.KINDS, ids=lambda i: i.kind)
def test_every_printer_column_path_parses(info: crdgen.KindInfo) -> None:
    # The API server admits any path that starts with a dot; kubectl would fail on one that does not parse.
    for column in info.printer_columns:
        assert printer_columns.parses(column["jsonPath"]), column


def test_the_function_crd_names_and_columns() -> None:
    crd = crdgen.custom_resource_definition(crdgen.SCAR_FUNCTION)
    names = crd["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == ("ScarFunction", "scarfunctions", ["sf"])
    columns = [c["name"] for c in crd["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:3] == ["Ready", "Reason", "Function"] and "Age" in columns
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert spec["required"] == ["image"]
    assert spec["properties"]["memory"] == {"default": 512, "description": "MiB.", "maximum": 10240,
                                            "minimum": 128, "type": "integer"}
    rules = spec["properties"]["functionName"]["x-kubernetes-validations"]
    assert rules == [{"rule": "self == oldSelf", "message": "functionName is immutable"}]
    conditions = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"][
        "conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
