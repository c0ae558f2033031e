"""An HTTP request through the function's URL: the body is the input file, the answer is the output.

The rule, as SCAR's API endpoints behave:
- the request body (binary-safe) is saved as the input file, INPUT_FILE_PATH: named by the
  `filename` query parameter when given, else `request` with the extension of its Content-Type;
  a request without a body runs the script with no INPUT_FILE_PATH;
- the script also gets HTTP_METHOD, HTTP_PATH and HTTP_QUERY_STRING, and EVENT (the request
  without its body);
- when the script succeeds and wrote exactly one file, the response is that file with the content
  type of its name; otherwise it is what the script printed on stdout, as text/plain (stderr goes
  to the log); every output is also uploaded to `output` like an S3-triggered run's;
- a failed script answers 500, one stopped at its deadline 504, each with the last lines it logged;
- an answer larger than Lambda returns (6 MB, after base64) answers 502, naming where the
  outputs were uploaded.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lambda_supervisor import logs
from lambda_supervisor.config import SupervisorConfig
from lambda_supervisor.events import HttpRequest
from lambda_supervisor.runner import ScriptResult, run_script, write_script
from lambda_supervisor.supervisor import base_environment, upload_outputs
from lambda_supervisor.workspace import Workspace, new_workspace

# Lambda's limit for a synchronous response is 6 MB of payload; the body travels in base64 (4/3)
# inside a small JSON document.
MAX_BODY_BYTES = (6 * 1024 * 1024 - 4096) * 3 // 4
TEXT = "text/plain; charset=utf-8"


def input_name(request: HttpRequest) -> str:
    named = request.query_values().get("filename")
    if named:
        return named  # made safe by the workspace, like an S3 key
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    extension = mimetypes.guess_extension(content_type) if content_type else None
    return "request" + (extension or "")


def answer(s3: Any, request: HttpRequest, config: SupervisorConfig, request_id: str,
           deadline: Callable[[], float | None], workdir_parent: str | None = None) -> dict[str, Any]:
    """Run the script on the request; the function URL's response (payload format 2.0)."""
    workspace = new_workspace(workdir_parent)
    try:
        input_path = None
        if request.body:
            input_path = workspace.input_path(input_name(request))
            input_path.write_bytes(request.body)
        logs.phase("request", request_id, method=request.method, path=request.path, bytes=len(request.body))
        result = _run(workspace, request, input_path, config, request_id, deadline)
        logs.phase("script", request_id, exitCode=result.exit_code, timedOut=result.timed_out,
                   seconds=round(result.seconds, 3))
        written = upload_outputs(s3, workspace, config, request_id)
        return _response(result, workspace, written, request_id)
    finally:
        workspace.remove()


def _run(workspace: Workspace, request: HttpRequest, input_path: Path | None, config: SupervisorConfig,
         request_id: str, deadline: Callable[[], float | None]) -> ScriptResult:
    if not config.script.strip():
        return ScriptResult(0, False, 0.0, ())
    command = write_script(config.script, workspace.root)
    env = base_environment(workspace, input_path, request.event_json(), request_id, os.environ)
    env.update({"HTTP_METHOD": request.method, "HTTP_PATH": request.path, "HTTP_QUERY_STRING": request.query})
    return run_script(command, env=env, cwd=workspace.root, deadline=deadline(),
                      kill_grace=config.kill_grace_seconds, stdout_limit=MAX_BODY_BYTES + 1)


def _response(result: ScriptResult, workspace: Workspace, uploaded: list[str], request_id: str) -> dict[str, Any]:
    if result.timed_out:
        return respond(504, _tail("the script was stopped at the function's deadline", result), TEXT, request_id)
    if result.exit_code != 0:
        return respond(500, _tail(f"the script exited with {result.exit_code}", result), TEXT, request_id)
    files = list(workspace.outputs())
    if len(files) == 1:
        path, relative = files[0]
        size = path.stat().st_size
        if size > MAX_BODY_BYTES:
            return _too_large(relative, size, uploaded, request_id)
        content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
        return respond(200, path.read_bytes(), content_type, request_id, filename=Path(relative).name)
    if result.stdout_size > MAX_BODY_BYTES:
        return _too_large("stdout", result.stdout_size, uploaded, request_id)
    return respond(200, result.stdout, TEXT, request_id)


def _tail(what: str, result: ScriptResult) -> bytes:
    return ("\n".join([f"{what}; its last lines:", *result.tail]) + "\n").encode()


def _too_large(what: str, size: int, uploaded: list[str], request_id: str) -> dict[str, Any]:
    where = ", ".join(uploaded) if uploaded else "nowhere (the function has no output)"
    message = f"{what} is {size} bytes, more than a function URL can return ({MAX_BODY_BYTES}); uploaded to {where}\n"
    return respond(502, message.encode(), TEXT, request_id)


def respond(status: int, body: bytes, content_type: str, request_id: str,
            filename: str | None = None) -> dict[str, Any]:
    """A function URL response: always base64, so that any bytes survive."""
    headers = {"content-type": content_type, "x-scar-request-id": request_id}
    if filename:
        headers["content-disposition"] = f'inline; filename="{filename}"'
    return {"statusCode": status, "headers": headers, "body": base64.b64encode(body).decode(),
            "isBase64Encoded": True}
