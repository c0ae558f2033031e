"""A registry token service as Docker Hub and GHCR run one: the registry answers 401 with a Bearer
challenge naming this service, the client asks it for a token (with its credentials, or none for
a public repository) and shows the token to the registry.

Tokens are JWTs signed (ES256) with the loopback certificate's key; Debian's docker-registry,
configured with `auth: token`, trusts them through that certificate (rootcertbundle) and finds the
key by its libtrust key id, the `kid` of the token's header.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from scar_operator.local.loopback_server import serving
from scar_operator.local.tls import LoopbackCertificate

ISSUER = "scar-loopback-tokens"
SERVICE = "scar-loopback-registry"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def libtrust_key_id(public_key: Any) -> str:
    """The key id docker-registry computes for a trusted key: base32 of the first 240 bits of the
    SHA-256 of its DER form, in groups of four."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i:i + 4] for i in range(0, len(encoded), 4))


@dataclass
class TokenService:
    realm: str = ""
    # user -> password; repositories anyone may pull.
    users: dict[str, str] = field(default_factory=dict)
    public: set[str] = field(default_factory=set)
    issued: list[tuple[str, str]] = field(default_factory=list)  # (user or "", scope), for tests


def _sign(key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]) -> str:
    header = {"typ": "JWT", "alg": "ES256", "kid": libtrust_key_id(key.public_key())}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _granted(service: TokenService, user: str | None, scope: str) -> list[dict[str, Any]]:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if kind != "repository" or not name:
        return []
    if user is not None:
        return [{"type": "repository", "name": name, "actions": actions.split(",")}]
    return [{"type": "repository", "name": name, "actions": ["pull"]}] if name in service.public else []


@contextlib.contextmanager
def token_service(tls: LoopbackCertificate, users: dict[str, str], public: set[str]) -> Iterator[TokenService]:
    service = TokenService(users=dict(users), public=set(public))
    loaded = serialization.load_pem_private_key(tls.key.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise TypeError("the loopback certificate's key is an EC key")
    key: ec.EllipticCurvePrivateKey = loaded

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            user: str | None = None
            scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
            if scheme.lower() == "basic":
                name, _, password = base64.b64decode(value).decode().partition(":")
                if service.users.get(name) != password:
                    body = b'{"details":"incorrect username or password"}'
                    self.send_response(401)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                user = name
            access = [grant for scope in query.get("scope", []) for grant in _granted(service, user, scope)]
            service.issued.extend((user or "", scope) for scope in query.get("scope", []))
            now = int(time.time())
            token = _sign(key, {"iss": ISSUER, "sub": user or "", "aud": query.get("service", [SERVICE])[0],
                                "exp": now + 300, "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex,
                                "access": access})
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tls.serve_over(server)
    service.realm = f"https://127.0.0.1:{server.server_address[1]}/token"
    with serving(server, "registry-tokens"):
        yield service
