"""The emulated ECR's registry API: what `docker push` and `docker pull` reach at
`<account>.dkr.ecr.<region>.amazonaws.com`, in front of a Distribution registry on loopback.

moto's ECR has repositories, images and authorization tokens but no registry API; a Distribution
registry has the API but knows nothing of ECR. This front joins them as ECR does:
- it asks for the token GetAuthorizationToken gave (Basic `AWS:<token>`), over TLS;
- a repository exists when ECR's API made it (CreateRepository), not on first push: a push to any
  other answers 404 NAME_UNKNOWN in ECR's words;
- a manifest pushed with a tag is an image of the ECR API (ListImages, DescribeImages, and
  BatchDeleteImage, after which the tag is gone from the registry API too): tags are looked up in
  ECR's records, and the registry behind serves content by digest only.
Blobs pass through as they come (streamed, never held whole).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from moto.ecr.exceptions import ImageAlreadyExistsException
from moto.ecr.models import ecr_backends

from scar_operator.local import aws_rules
from scar_operator.local.loopback_server import serving
from scar_operator.local.tls import LoopbackCertificate

_PATH = re.compile(r"^/v2/(?P<name>.+?)/(?P<kind>manifests|blobs|tags)/(?P<rest>.*)$")
_PASSWORD = re.compile(r"^(?P<account>[0-9]{12})-auth-token$")  # moto's token: AWS:<account>-auth-token
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_COPY_BYTES = 1 << 20


def _repository(account: str, name: str) -> tuple[Any, Any] | None:
    """(backend, repository) of the emulated ECR named `name` in `account`, in whichever Region has it."""
    for backend in ecr_backends[account].values():
        if name in backend.repositories:
            return backend, backend.repositories[name]
    return None


def _image(repository: Any, reference: str) -> Any | None:
    for image in repository.images:
        if reference in image.image_tags or image.get_image_digest() == reference:
            return image
    return None


class _Limited:
    """The request body: exactly Content-Length bytes of the connection, read as they come."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self._left = length

    def read(self, size: int = _COPY_BYTES) -> bytes:
        if self._left <= 0:
            return b""
        data: bytes = self._stream.read(min(size if size > 0 else self._left, self._left))
        self._left -= len(data)
        return data


@dataclass
class EcrRegistryFront:
    url: str
    # The digests of the blobs pushed through it, in order: what a test counts to see reuse.
    blobs_pushed: list[str] = field(default_factory=list)


class _Front(BaseHTTPRequestHandler):
    backend: str = ""
    front: EcrRegistryFront
    protocol_version = "HTTP/1.0"  # each answer ends with its connection: no lengths to make up

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _error(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _account(self) -> str | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        match = _PASSWORD.match(password)
        return match["account"] if user == "AWS" and match else None

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _forward(self, path: str, body: Any = None, length: int | None = None) -> http.client.HTTPResponse:
        host, _, port = self.backend.partition(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        # A client may send a header more than once (skopeo sends one Accept per media type).
        headers = {k: ", ".join(self.headers.get_all(k) or []) for k in dict.fromkeys(self.headers.keys())
                   if k.lower() not in ("authorization", "host", "connection", "content-length")}
        if length is not None:
            headers["Content-Length"] = str(length)
        connection.request(self.command, path, body=body, headers=headers)
        return connection.getresponse()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            while chunk := response.read(_COPY_BYTES):
                self.wfile.write(chunk)

    def _handle(self) -> None:
        account = self._account()
        if account is None:
            self._error(401, "DENIED", "Not Authorized",
                        {"WWW-Authenticate": f'Basic realm="https://{self.headers.get("Host")}/",'
                                            f'service="ecr.amazonaws.com"'})
            return
        path = self.path.partition("?")[0]
        if path == "/v2/":
            self._relay(self._forward(self.path))
            return
        match = _PATH.match(path)
        if match is None:
            self._error(404, "NOT_FOUND", "404 page not found")
            return
        found = _repository(account, match["name"])
        if found is None:
            self._error(404, "NAME_UNKNOWN", f"The repository with name '{match['name']}' does not exist in the "
                                             f"registry with id '{account}'")
            return
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._error(411, "UNSUPPORTED", "a body of unknown length is not taken here")
            return
        if match["kind"] == "manifests":
            self._manifest(found, match["name"], match["rest"])
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = _Limited(self.rfile, length) if length else None
        response = self._forward(self.path, body, length if self.command in ("PUT", "POST", "PATCH") else None)
        if self.command == "PUT" and match["kind"] == "blobs" and response.status == 201:
            self.front.blobs_pushed.append(str(response.getheader("Docker-Content-Digest")))
        self._relay(response)

    def _manifest(self, found: tuple[Any, Any], name: str, reference: str) -> None:
        backend, repository = found
        if self.command == "PUT":
            content = self._body()
            response = self._forward(f"/v2/{name}/manifests/{reference}", content, len(content))
            if response.status == 201 and not _DIGEST.match(reference):
                media_type = (self.headers.get("Content-Type") or "").split(";")[0]
                with contextlib.suppress(ImageAlreadyExistsException):
                    backend.put_image(name, content.decode(), reference, media_type,
                                      "sha256:" + hashlib.sha256(content).hexdigest())
            self._relay(response)
            return
        if self.command not in ("GET", "HEAD"):
            self._error(405, "UNSUPPORTED", "The operation is unsupported.")
            return
        image = _image(repository, reference)
        if image is None:
            self._error(404, "MANIFEST_UNKNOWN", "Requested image not found")
            return
        self._relay(self._forward(f"/v2/{name}/manifests/{image.get_image_digest()}"))

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server's names)


@contextlib.contextmanager
def ecr_registry_front(backend: str, tls: LoopbackCertificate) -> Iterator[EcrRegistryFront]:
    """Serve ECR's registry API for the in-process emulated ECR, storing in the registry at
    `backend` (host:port, plain HTTP); GetAuthorizationToken names it while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Front)
    server.daemon_threads = True
    tls.serve_over(server)
    front = EcrRegistryFront(f"https://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = type("Front", (_Front,), {"backend": backend, "front": front})
    previous, aws_rules.ECR_REGISTRY_URL = aws_rules.ECR_REGISTRY_URL, front.url
    try:
        with serving(server, "ecr-registry"):
            yield front
    finally:
        aws_rules.ECR_REGISTRY_URL = previous
