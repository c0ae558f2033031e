"""invoke: upload one file to the function's input and run the function on it now."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from lambda_supervisor.events import s3_event
from scar_operator.kubectl_scar.data import put
from scar_operator.kubectl_scar.errors import UserError, describe_aws_error
from scar_operator.kubectl_scar.targets import Target


def function_of(target: Target) -> str:
    name = target.status.get("functionName") or target.status.get("dispatcherFunctionName")
    if not name:
        raise UserError(f"{target.kind} {target.namespace}/{target.name} has no function yet (is it Ready?)")
    return str(name)


def invoke(s3: Any, lambda_: Any, target: Target, file: Path, out: TextIO | None = None) -> int:
    """Returns the exit code: 0 when the function succeeded, 1 when it reported an error."""
    out = out or sys.stdout
    function = function_of(target)
    location = target.first_input()
    [uploaded] = put(s3, location, [file])
    key = uploaded.removeprefix(f"s3://{location.bucket}/")
    event = s3_event(location.bucket, key, file.stat().st_size)
    try:
        # The upload's own trigger runs too (asynchronously); this call shows one run's result here and now.
        answer = lambda_.invoke(FunctionName=function, InvocationType="RequestResponse", LogType="Tail",
                                Payload=json.dumps(event).encode())
    except Exception as e:
        raise describe_aws_error(e, f"invoking {function}") from None
    payload = answer["Payload"].read().decode(errors="replace")
    try:
        out.write(json.dumps(json.loads(payload), indent=2) + "\n")
    except json.JSONDecodeError:
        out.write(payload + "\n")
    if answer.get("LogResult"):
        out.write(base64.b64decode(answer["LogResult"]).decode(errors="replace"))
    if answer.get("FunctionError"):
        out.write(f"the function failed: {answer['FunctionError']}\n")
        return 1
    return 0
