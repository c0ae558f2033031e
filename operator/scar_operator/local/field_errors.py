"""Validation errors worded as the API server words them (apimachinery's field.Error).

`kubectl` prints these to users, so the emulator answers in the same words as a real API server:
`spec.memory: Invalid value: 99999: spec.memory in body should be less than or equal to 10240`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The values of field.ErrorType that these modules produce.
INVALID = "Invalid value"
REQUIRED = "Required value"
UNSUPPORTED = "Unsupported value"
FORBIDDEN = "Forbidden"
TOO_LONG = "Too long"
TOO_MANY = "Too many"
DUPLICATE = "Duplicate value"

# Error types whose message carries no value, as in field.Error.ErrorBody.
_WITHOUT_VALUE = {REQUIRED, FORBIDDEN, TOO_LONG}
_OMITTED = object()


@dataclass(frozen=True)
class FieldError:
    path: str
    type: str
    detail: str = ""
    value: Any = _OMITTED

    def __str__(self) -> str:
        body = self.type
        if self.type not in _WITHOUT_VALUE and self.value is not _OMITTED:
            body += f": {value_text(self.value)}"
        if self.detail:
            body += f": {self.detail}"
        return f"{self.path}: {body}" if self.path else body


# metav1.CauseType of each error type, for the `causes` of a 422 answer.
_CAUSES = {INVALID: "FieldValueInvalid", REQUIRED: "FieldValueRequired", UNSUPPORTED: "FieldValueNotSupported",
           FORBIDDEN: "FieldValueForbidden", TOO_LONG: "FieldValueTooLong", TOO_MANY: "FieldValueTooMany",
           DUPLICATE: "FieldValueDuplicate"}


def cause_reason(message: str) -> str:
    """The cause type of a message that starts with its error type ("Invalid value: ...")."""
    return next((cause for kind, cause in _CAUSES.items() if message.startswith(kind)), "FieldValueInvalid")


def value_text(value: Any) -> str:
    """A value as Go's %q / %v print it: strings quoted, numbers and booleans bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def supported_values(values: Sequence[Any]) -> str:
    return "supported values: " + ", ".join(value_text(v) for v in values)


def aggregate(errors: Sequence[FieldError | str]) -> str:
    """utilerrors.NewAggregate's wording: one error alone, several in brackets."""
    texts = [str(e) for e in errors]
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def key(path: str, name: str) -> str:
    return f"{path}[{name}]"


def index(path: str, position: int) -> str:
    return f"{path}[{position}]"
