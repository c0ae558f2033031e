"""An HTTP proxy between the operator and the moto server that names and records every AWS call,
and can answer chosen calls with an AWS error.

moto is more lenient than AWS (any deletion order, no throttling, no propagation delays). The
proxy lets tests assert what AWS is strict about, the order and kind of calls, and inject the
errors AWS really returns, over real HTTP, with the operator running unmodified.
"""

from __future__ import annotations

import http.client
import http.server
import json
import re
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import botocore.session

_SIGNING_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")
# Signing names that differ from botocore's service names.
_SERVICE_BY_SIGNING_NAME = {"s3": "s3", "lambda": "lambda", "iam": "iam", "logs": "logs", "sts": "sts",
                            "batch": "batch", "events": "events"}


@dataclass
class Call:
    service: str
    operation: str
    method: str
    path: str
    body: bytes = field(default=b"", repr=False, compare=False)
    # The HTTP status AWS answered with; 0 until the answer is back.
    status: int = field(default=0, compare=False)
    # When the call came in (time.monotonic()).
    at: float = field(default_factory=time.monotonic, compare=False)

    def form(self) -> dict[str, str]:
        """The request's parameters, for query protocols (IAM, STS)."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode(errors="replace")).items()}

    def json(self) -> Any:
        """The request's parameters, for JSON protocols (Batch, Lambda, Logs)."""
        return json.loads(self.body) if self.body.startswith(b"{") else {}

    @property
    def is_read(self) -> bool:
        return self.operation.startswith(("Get", "List", "Describe", "Head"))

    @property
    def refused_write(self) -> bool:
        """A write AWS turned down (a conflict, a validation error), not a read that found nothing."""
        return not self.is_read and self.status >= 400

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


@dataclass
class Fault:
    service: str  # "*": every service
    operation: str  # "*": every operation of the service
    status: int
    code: str
    message: str
    remaining: int

    def matches(self, call: Call) -> bool:
        return self.service in ("*", call.service) and self.operation in ("*", call.operation)


class _Operations:
    """Maps a REST request (method and path) to its operation name with botocore's own models."""

    def __init__(self) -> None:
        self._session = botocore.session.get_session()
        # (method, path pattern, literal length, "Name?literal-query", required query keys, required headers)
        self._routes: dict[str, list[tuple[str, re.Pattern[str], int, str, set[str], set[str]]]] = {}
        self._protocols: dict[str, str] = {}

    def protocol(self, service: str) -> str:
        self._load(service)
        return self._protocols[service]

    def _load(self, service: str) -> None:
        if service in self._protocols:
            return
        model = self._session.get_service_model(service)
        self._protocols[service] = model.protocol
        routes = []
        for name in model.operation_names:
            operation = model.operation_model(name)
            if operation.deprecated:  # e.g. PutBucketNotification shares its URL with its successor
                continue
            http = operation.http
            uri = http.get("requestUri", "/")
            path, _, query = uri.partition("?")
            pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", re.escape(path))
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            literal = len(re.sub(r"\{[^}]+\}", "", path)) + (100 if query else 0)
            in_query, in_headers = set(), set()
            shape = operation.input_shape
            members = shape.members if shape is not None else {}
            for member in (shape.required_members if shape is not None else []):
                serialization = members[member].serialization
                if serialization.get("location") == "querystring":
                    in_query.add(serialization.get("name", member))
                elif serialization.get("location") == "header":
                    in_headers.add(serialization.get("name", member).lower())
            routes.append((http.get("method", "POST"), re.compile(f"^{pattern}$"), literal, name + "?" + query,
                           in_query, in_headers))
        self._routes[service] = routes

    def name(self, service: str, method: str, path: str, query: str, headers: Any, body: bytes) -> str:
        target = headers.get("X-Amz-Target")
        if target:
            return str(target.rsplit(".", 1)[-1])
        self._load(service)
        if self._protocols[service] in ("query", "ec2"):
            form = urllib.parse.parse_qs(body.decode(errors="replace"))
            return form.get("Action", ["Unknown"])[0]
        params = urllib.parse.parse_qs(query, keep_blank_values=True)
        best: tuple[int, str] | None = None
        sent_headers = {k.lower() for k in headers}
        for route_method, pattern, literal, name_query, in_query, in_headers in self._routes[service]:
            name, _, required = name_query.partition("?")
            if route_method != method or not pattern.match(urllib.parse.unquote(path)):
                continue
            if required and not all(q.split("=")[0] in params for q in required.split("&")):
                continue
            # Operations that share a URL differ by their required query parameters and headers
            # (UploadPart: partNumber and uploadId; CopyObject: x-amz-copy-source).
            if not in_query <= set(params) or not in_headers <= sent_headers:
                continue
            score = literal + 10 * (len(in_query) + len(in_headers))
            if best is None or score > best[0]:
                best = (score, name)
        return best[1] if best else f"{method} {path}"


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away with its kept-alive connection open (an operator stopped) resets
        # it: nothing to report. Anything else is printed as http.server does.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class AwsProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        # Answers a call over AWS's rate with AWS's throttling error (the benchmark sets one).
        self.rates: Any = None
        # Refuses a share of all calls at random (aws_faults.RandomFaults), when set.
        self.chaos: Any = None
        self._lock = threading.Lock()
        self._operations = _Operations()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> AwsProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mark(self) -> int:
        """A position in the call log; `calls_since(mark)` lists what came after it."""
        with self._lock:
            return len(self.calls)

    def calls_since(self, mark: int) -> list[Call]:
        with self._lock:
            return list(self.calls[mark:])

    def inject(self, service: str, operation: str, code: str, message: str, status: int = 400,
               times: int = 1) -> Fault:
        fault = Fault(service, operation, status, code, message, times)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def _take_fault(self, call: Call) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(call):
                    fault.remaining -= 1
                    return fault
        return None

    def _error_response(self, fault: Fault, service: str) -> tuple[dict[str, str], bytes]:
        protocol = self._operations.protocol(service)
        if protocol in ("json", "rest-json"):
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": fault.code}
            return headers, json.dumps({"__type": fault.code, "message": fault.message}).encode()
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
            f"<Message>{fault.message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        )
        if protocol == "rest-xml":
            body = f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
        return {"Content-Type": "text/xml"}, body.encode()

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                match = _SIGNING_SERVICE.search(self.headers.get("Authorization", ""))
                signing = match.group(1) if match else "unknown"
                service = _SERVICE_BY_SIGNING_NAME.get(signing, signing)
                try:
                    operation = proxy._operations.name(
                        service, self.command, parsed.path, parsed.query, self.headers, body
                    )
                except Exception:
                    operation = f"{self.command} {parsed.path}"
                call = Call(service, operation, self.command, parsed.path, body)
                with proxy._lock:
                    proxy.calls.append(call)
                fault = proxy._take_fault(call)
                if fault is None and proxy.rates is not None:
                    fault = proxy.rates.admit(call)
                if fault is None and proxy.chaos is not None:
                    fault = proxy.chaos.admit(call)
                if fault is not None:
                    headers, payload = proxy._error_response(fault, call.service)
                    call.status = fault.status
                    self.send_response(fault.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                response, payload = self._upstream_call(headers, body)
                call.status = response.status
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            # One connection to moto per client connection, kept alive as the client keeps its
            # own: a new one per call would cost moto's server a thread and a handshake per call.
            upstream: http.client.HTTPConnection | None = None

            def _upstream_call(self, headers: dict[str, str],
                               body: bytes) -> tuple[http.client.HTTPResponse, bytes]:
                reused = self.upstream is not None
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=120)
                try:
                    self.upstream.request(self.command, self.path, body=body, headers=headers)
                    response = self.upstream.getresponse()
                    return response, response.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    self.upstream.close()
                    self.upstream = None
                    if not reused:
                        raise
                    # moto closed the idle connection before reading the request: send it again.
                    return self._upstream_call(headers, body)
                except BaseException:
                    self.upstream.close()
                    self.upstream = None
                    raise

            def finish(self) -> None:
                super().finish()
                if self.upstream is not None:
                    self.upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _forward  # noqa: N815

        return Handler
