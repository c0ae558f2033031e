"""Function URLs on loopback: what moto records (a URL per function) but does not serve.

One HTTP server answers for every function URL of the account: a client connects to it and
sends the function URL's host name in the Host header (as it would to AWS, and as it signs it),
and the server finds the function whose URL has that host. Then it does what Lambda does:
an AWS_IAM URL takes only a SigV4-signed request (see sigv4.py), a NONE URL only when the
function's resource policy opens it to everyone (both statements AWS asks for); the request
becomes a payload-2.0 event, the function runs in the local runtime, and its response is sent
back (a function error is a 502, as Lambda's).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scar_operator.aws.lambda_function_url import opens_to_everyone
from scar_operator.local import sigv4

log = logging.getLogger(__name__)

# Lambda passes these bodies as text and every other one in base64.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")




def _public(policy: Mapping[str, Any] | None) -> bool:
    return opens_to_everyone({str(s.get("Sid")): s for s in (policy or {}).get("Statement", [])})


def url_event(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
              host: str, source_ip: str) -> dict[str, Any]:
    """The event Lambda passes for a function URL request (payload format 2.0)."""
    content_type = headers.get("content-type", "")
    text = content_type.startswith(_TEXT_TYPES)
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": dict(headers),
        "requestContext": {
            "accountId": "anonymous", "apiId": host.split(".")[0], "domainName": host,
            "domainPrefix": host.split(".")[0], "requestId": str(uuid.uuid4()), "routeKey": "$default",
            "stage": "$default", "timeEpoch": int(now * 1000),
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")},
        },
        "isBase64Encoded": bool(body) and not text,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        event["body"] = body.decode(errors="replace") if text else base64.b64encode(body).decode()
    return event


def http_response(result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """How Lambda turns a function's return value into the URL's response."""
    if "statusCode" not in result:  # any other value is sent as JSON
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    raw = result.get("body") or ""
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    return int(result["statusCode"]), headers, body


class FunctionUrlServer:
    """Serves every function URL of the account that `lambda_` reaches, at `endpoint`."""

    def __init__(self, *, lambda_: Any, invoke: Callable[[str, dict[str, Any]], tuple[bool, Mapping[str, Any]]],
                 secrets: Mapping[str, str], region: str) -> None:
        self._lambda = lambda_
        self._invoke = invoke
        self._secrets = dict(secrets)
        self._region = region
        self._hosts: dict[str, tuple[str, str]] = {}  # host -> (function name, auth type)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="scar-function-urls", daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FunctionUrlServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever(), which a server never started never runs
            self._server.shutdown()
        self._server.server_close()

    def _function_at(self, host: str) -> tuple[str, str] | None:
        """The function whose URL has this host, and the URL's auth type as Lambda holds it now."""
        with self._lock:
            known = self._hosts.get(host)
        if known is None:
            found: dict[str, tuple[str, str]] = {}
            for page in self._lambda.get_paginator("list_functions").paginate():
                for function in page["Functions"]:
                    name = function["FunctionName"]
                    try:
                        config = self._lambda.get_function_url_config(FunctionName=name)
                    except self._lambda.exceptions.ResourceNotFoundException:
                        continue
                    found[urlsplit(config["FunctionUrl"]).hostname or ""] = (name, config["AuthType"])
            with self._lock:
                self._hosts = found
            known = found.get(host)
        if known is None:
            return None
        try:  # the URL may have been changed, removed or made anew (another host) since: ask again
            config = self._lambda.get_function_url_config(FunctionName=known[0])
        except self._lambda.exceptions.ResourceNotFoundException:
            config = None
        if config is None or urlsplit(config["FunctionUrl"]).hostname != host:
            with self._lock:
                self._hosts.pop(host, None)
            return None
        return known[0], str(config["AuthType"])

    def _policy(self, function: str) -> dict[str, Any] | None:
        try:
            policy: dict[str, Any] = json.loads(self._lambda.get_policy(FunctionName=function)["Policy"])
            return policy
        except self._lambda.exceptions.ResourceNotFoundException:
            return None

    def answer(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
               source_ip: str) -> tuple[int, dict[str, str], bytes]:
        host = headers.get("host", "").split(":")[0]
        target = self._function_at(host)
        if target is None:
            return 404, {"content-type": "application/json"}, b'{"Message":"No function URL at this host"}'
        function, auth_type = target
        if auth_type == "AWS_IAM":
            url = f"https://{host}{path}" + (f"?{query}" if query else "")
            why = sigv4.refusal(method, url, headers, body, self._secrets, self._region)
            if why is not None:
                return 403, {"content-type": "application/json"}, json.dumps({"Message": why}).encode()
        elif not _public(self._policy(function)):
            return 403, {"content-type": "application/json"}, b'{"Message":"Forbidden"}'
        succeeded, result = self._invoke(function, url_event(method, path, query, headers, body, host, source_ip))
        if not succeeded:
            return 502, {"content-type": "application/json"}, b'{"Message":"Internal Server Error"}'
        return http_response(result)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, out_headers, out = server.answer(self.command, split.path or "/", split.query, headers,
                                                             body, self.client_address[0])
                except Exception:
                    log.exception("function URL: answering %s %s failed", self.command, self.path)
                    status, out_headers, out = 500, {"content-type": "text/plain"}, b"local runtime error\n"
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("function URL: " + format, *args)

        return Handler
