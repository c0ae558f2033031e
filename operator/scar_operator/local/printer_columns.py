"""`kubectl get` tables: the API server renders a CRD's additionalPrinterColumns, not kubectl.

kubectl asks for `as=Table`; the answer holds one cell per column, evaluated with the column's
JSONPath (the dialect of Kubernetes' jsonpath package, in the subset CRD columns use: fields,
indexes, `[*]` and `[?(@.field=="value")]` filters), dates shown as ages as the API server does.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

_STEP = re.compile(r"""\.(?P<field>[^.\[\]]+)|\[(?P<index>\d+|\*)\]|\['(?P<quoted>[^']*)'\]"""
                   r"""|\[\?\(@\.(?P<filter>[\w.-]+)\s*==\s*["'](?P<value>[^"']*)["']\)\]""")
_DEFAULT_COLUMNS = ({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},)


def parses(json_path: str) -> bool:
    """The whole path is steps of the dialect above (the API server admits any path that starts
    with a dot; one that does not parse shows up only when kubectl prints the column)."""
    return json_path.startswith(".") and _STEP.sub("", json_path) == ""


def evaluate(json_path: str, document: Any) -> list[Any]:
    """Every value the path reaches in `document` (none when a step finds nothing)."""
    values = [document]
    for match in _STEP.finditer(json_path):
        following: list[Any] = []
        for value in values:
            following += _step(match, value)
        values = following
    return values


def _step(match: re.Match[str], value: Any) -> list[Any]:
    field = match.group("field") or match.group("quoted")
    if field is not None:
        return [value[field]] if isinstance(value, Mapping) and field in value else []
    index = match.group("index")
    if index is not None:
        if not isinstance(value, list):
            return []
        if index == "*":
            return list(value)
        return [value[int(index)]] if int(index) < len(value) else []
    if not isinstance(value, list):
        return []
    wanted = match.group("value")
    return [item for item in value if [str(v) for v in evaluate("." + match.group("filter"), item)] == [wanted]]


def cell(column: Mapping[str, Any], document: Any, now: datetime.datetime | None = None) -> Any:
    values = evaluate(str(column["jsonPath"]), document)
    if not values:
        return None
    value = values[0] if len(values) == 1 else ",".join(str(v) for v in values)
    if column.get("type") == "date" and isinstance(value, str):
        return age(value, now)
    return value


def age(timestamp: str, now: datetime.datetime | None = None) -> str:
    """kubectl's short durations: 45s, 12m, 3h, 5d."""
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = max(0, int(((now or datetime.datetime.now(datetime.UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(objects: Sequence[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """A meta.k8s.io/v1 Table of `objects`: the name, then the CRD's columns (or the age)."""
    shown = list(columns or _DEFAULT_COLUMNS)
    definitions = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    definitions += [{"name": c["name"], "type": c.get("type", "string"), "format": c.get("format", ""),
                     "description": c.get("description", ""), "priority": c.get("priority", 0)} for c in shown]
    rows = [{
        "cells": [obj.get("metadata", {}).get("name"), *(cell(c, obj) for c in shown)],
        "object": {"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": obj.get("metadata")},
    } for obj in objects]
    return {"apiVersion": "meta.k8s.io/v1", "kind": "Table", "metadata": {}, "columnDefinitions": definitions,
            "rows": rows}


def wants_table(accept: str) -> bool:
    first = accept.split(",", 1)[0]
    return "as=Table" in first
