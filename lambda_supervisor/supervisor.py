"""One code path for the data, whoever calls it (Lambda handler, Batch job): for each object,
download it into a fresh work dir, run the script, upload what it wrote, clean up."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambda_supervisor import logs
from lambda_supervisor.config import CONFIG_ENV, SupervisorConfig
from lambda_supervisor.events import S3Object
from lambda_supervisor.runner import ScriptResult, run_script, write_script
from lambda_supervisor.transfer import Upload, download, upload_all
from lambda_supervisor.workspace import Workspace, new_workspace


class ScriptFailedError(RuntimeError):
    """The user's script failed: the invocation fails, so AWS retries and failure destinations work."""


@dataclass(frozen=True)
class RecordResult:
    request_id: str
    input: str
    outputs: list[str]
    exit_code: int
    timed_out: bool
    tail: tuple[str, ...] = field(default=(), repr=False)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> dict[str, Any]:
        return {"requestId": self.request_id, "input": self.input, "outputs": self.outputs,
                "exitCode": self.exit_code, "timedOut": self.timed_out}


def record_request_id(obj: S3Object, request_id: str, index: int) -> str:
    """The folder a record's outputs go to: the invocation's request id (a suffix per extra record),
    or the fixed one of a record the operator dispatched from what was already in the bucket."""
    return obj.fixed_request_id or (request_id if index == 0 else f"{request_id}-{index}")


def output_key(prefix: str, request_id: str, relative: str, layout: str) -> str:
    base = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return f"{base}{request_id}/{relative}" if layout == "requestId" else f"{base}{relative}"


def base_environment(workspace: Workspace, input_path: Path | None, event_json: str, request_id: str,
                     base: Mapping[str, str]) -> dict[str, str]:
    """What every script gets, whatever triggered it (no INPUT_FILE_PATH when there is no input)."""
    env = {k: v for k, v in base.items() if k != CONFIG_ENV}
    env.update({
        "TMP_INPUT_DIR": str(workspace.input_dir),
        "TMP_OUTPUT_DIR": str(workspace.output_dir),
        "EVENT": event_json,
        "REQUEST_ID": request_id,
        # SCAR's older names, so that existing scripts run unchanged.
        "SCAR_OUTPUT_DIR": str(workspace.output_dir),
        "SCAR_INPUT_DIR": str(workspace.input_dir),
    })
    if input_path is not None:
        env.update({"INPUT_FILE_PATH": str(input_path), "SCAR_INPUT_FILE": str(input_path)})
    return env


def script_environment(workspace: Workspace, obj: S3Object, request_id: str,
                       base: Mapping[str, str]) -> dict[str, str]:
    env = base_environment(workspace, workspace.input_path(obj.key), obj.event_json(), request_id, base)
    env.update({"STORAGE_OBJECT_KEY": obj.key, "STORAGE_BUCKET": obj.bucket})
    return env


def upload_outputs(s3: Any, workspace: Workspace, config: SupervisorConfig, request_id: str) -> list[str]:
    """Every file the script wrote, to every output that accepts its name."""
    started = time.monotonic()
    uploads = [
        Upload(path, target.bucket, output_key(target.prefix, request_id, relative, config.layout))
        for path, relative in workspace.outputs()
        for target in config.outputs
        if target.accepts(relative)
    ]
    written = upload_all(s3, uploads)
    logs.phase("upload", request_id, files=len(written), bytes=sum(u.path.stat().st_size for u in uploads),
               seconds=round(time.monotonic() - started, 3))
    return written


def process_object(
    s3: Any,
    obj: S3Object,
    config: SupervisorConfig,
    request_id: str,
    deadline: Callable[[], float | None],
    workdir_parent: str | None = None,
) -> RecordResult:
    """`deadline()` gives the monotonic time by which the script must be stopped (None: never)."""
    workspace = new_workspace(workdir_parent)
    try:
        started = time.monotonic()
        size = download(s3, obj.bucket, obj.key, workspace.input_path(obj.key))
        logs.phase("download", request_id, bucket=obj.bucket, key=obj.key, bytes=size,
                   seconds=round(time.monotonic() - started, 3))

        result = _run(workspace, obj, config, request_id, deadline)
        logs.phase("script", request_id, exitCode=result.exit_code, timedOut=result.timed_out,
                   seconds=round(result.seconds, 3))

        written = upload_outputs(s3, workspace, config, request_id)
        return RecordResult(request_id, f"s3://{obj.bucket}/{obj.key}", written, result.exit_code,
                            result.timed_out, result.tail)
    finally:
        workspace.remove()  # a warm Lambda keeps /tmp: never let records accumulate there


def stop_margin(remaining: float, threshold: float) -> float:
    """Seconds kept back for uploading what exists when the script is stopped.

    The configured threshold, but never more than half of what remains: a function with a short
    timeout still runs its script instead of stopping it at once.
    """
    return min(threshold, remaining / 2)


def _run(workspace: Workspace, obj: S3Object, config: SupervisorConfig, request_id: str,
         deadline: Callable[[], float | None]) -> ScriptResult:
    if not config.script.strip():
        return ScriptResult(0, False, 0.0, ())
    command = write_script(config.script, workspace.root)
    env = script_environment(workspace, obj, request_id, os.environ)
    return run_script(command, env=env, cwd=workspace.root, deadline=deadline(),
                      kill_grace=config.kill_grace_seconds)


def failure_message(results: list[RecordResult]) -> str | None:
    failed = [r for r in results if not r.succeeded]
    if not failed:
        return None
    parts = []
    for r in failed:
        why = "timed out" if r.timed_out else f"exited with {r.exit_code}"
        tail = "\n".join(r.tail[-10:])
        parts.append(f"script {why} for {r.input} (request {r.request_id}); last lines:\n{tail}")
    return "\n".join(parts)
