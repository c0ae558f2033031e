"""run: process what is already under the function's input (SCAR's `scar run`), each object once.

The operator does the work (existing_objects.py): this command asks for a run by annotating the
object, then follows the run's progress in its status with a progress bar until it is done. The
run goes on without it: Ctrl-C stops watching, not the run; running the command again asks for a
new run (everything there at that time, again).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from scar_operator import GROUP, VERSION
from scar_operator.existing_objects import RUN_ANNOTATION
from scar_operator.kubectl_scar.errors import UserError
from scar_operator.kubectl_scar.targets import PLURALS, Target


def request_run(api: Any, target: Target, prefix: str | None) -> str:
    from kubernetes import client

    if not target.inputs():
        raise UserError(f"{target.kind} {target.namespace}/{target.name} has no input to process")
    run_id = str(uuid.uuid4())
    plural = dict(PLURALS)[target.kind]
    body = {"metadata": {"annotations": {RUN_ANNOTATION: json.dumps({"id": run_id, "prefix": prefix or ""})}}}
    custom: Any = client.CustomObjectsApi(api)
    try:
        custom.patch_namespaced_custom_object(GROUP, VERSION, target.namespace, plural,
                                                                    target.name, body)
    except client.ApiException as e:
        raise UserError(f"cannot ask for a run of {target.kind} {target.namespace}/{target.name}: {e.reason} "
                        f"(it needs 'patch' on {plural})") from None
    return run_id


def status_reader(api: Any, target: Target) -> Callable[[], dict[str, Any]]:
    from kubernetes import client

    custom: Any = client.CustomObjectsApi(api)
    plural = dict(PLURALS)[target.kind]

    def read() -> dict[str, Any]:
        found = custom.get_namespaced_custom_object(GROUP, VERSION, target.namespace, plural, target.name)
        return dict(found.get("status") or {})

    return read


def follow(read_status: Callable[[], dict[str, Any]], run_id: str, timeout: float, stream: TextIO | None = None,
           poll_seconds: float = 0.5) -> dict[str, Any]:
    """Show the run's progress until it is Done; its final state."""
    deadline = time.monotonic() + timeout
    bar: tqdm | None = None
    try:
        while time.monotonic() < deadline:
            state = read_status().get("existingObjects") or {}
            if state.get("runId") == run_id:
                if bar is None and state.get("total") is not None:
                    bar = tqdm(total=int(state["total"]), unit="obj", desc="dispatched", file=stream or sys.stderr)
                if bar is not None:
                    bar.update(int(state.get("dispatched", 0)) + int(state.get("failed", 0)) - bar.n)
                if state.get("phase") == "Done":
                    return dict(state)
            time.sleep(poll_seconds)
    finally:
        if bar is not None:
            bar.close()
    raise UserError(f"the run {run_id} is not done after {timeout:.0f}s; it goes on: see status.existingObjects")
