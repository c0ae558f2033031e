"""A stand-in for the Lambda Runtime API (what AWS_LAMBDA_RUNTIME_API points at inside Lambda):
it hands out queued events at /invocation/next, as Lambda does, and keeps what the function answered."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scar_operator.local.loopback_server import serving

PREFIX = "/2018-06-01/runtime"


@dataclass
class Answer:
    request_id: str
    ok: bool
    body: Any


@dataclass
class RuntimeApi:
    address: str = ""
    events: queue.Queue[tuple[str, dict[str, Any]]] = field(default_factory=queue.Queue)
    answers: queue.Queue[Answer] = field(default_factory=queue.Queue)
    init_errors: list[Any] = field(default_factory=list)

    def invoke(self, event: dict[str, Any], timeout: float = 60.0) -> Answer:
        """Queue `event` for the function and wait for its answer."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        answer = self.answers.get(timeout=timeout)
        assert answer.request_id == request_id, answer
        return answer


def _handler(api: RuntimeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                self._send(404, b"{}")
                return
            request_id, event = api.events.get()
            deadline = int((time.time() + 60) * 1000)
            self._send(200, json.dumps(event).encode(), {
                "Lambda-Runtime-Aws-Request-Id": request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:standin",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
            })

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parsed = json.loads(body) if body else None
            parts = self.path.removeprefix(PREFIX).strip("/").split("/")
            if parts[:1] == ["init"]:
                api.init_errors.append(parsed)
            elif len(parts) == 3 and parts[0] == "invocation":
                api.answers.put(Answer(parts[1], parts[2] == "response", parsed))
            self._send(202, b'{"status":"OK"}')

    return Handler


@contextmanager
def runtime_api() -> Iterator[RuntimeApi]:
    api = RuntimeApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.address = f"127.0.0.1:{server.server_address[1]}"
    with serving(server, "runtime-api"):
        yield api
