"""Registry credentials from Kubernetes Secrets of type kubernetes.io/dockerconfigjson, as pods'
imagePullSecrets hold them (`kubectl create secret docker-registry`).

The Secret's `.dockerconfigjson` is a Docker config.json: `auths` maps a registry (a host, or for
Docker Hub one of its old URLs) to a username and password, or to `auth`, their base64 join.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from scar_operator.images.reference import DOCKER_HUB, DOCKER_HUB_ALIASES

SECRET_TYPE = "kubernetes.io/dockerconfigjson"  # noqa: S105 (a type name, not a password)
SECRET_KEY = ".dockerconfigjson"  # noqa: S105 (a key name, not a password)


class PullSecretError(ValueError):
    """A Secret that does not hold registry credentials; the message says what is wrong with it."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """Tells credentials apart in caches without keeping the password in the key."""
        return hashlib.sha256(f"{self.username}\x00{self.password}".encode()).hexdigest()[:16]


def _host_of(key: str) -> str:
    """`https://index.docker.io/v1/` -> `index.docker.io`; `ghcr.io` stays."""
    host = key.split("://", 1)[-1].split("/", 1)[0].lower()
    return DOCKER_HUB if host in DOCKER_HUB_ALIASES or f"https://{host}/v1/" in DOCKER_HUB_ALIASES else host


def _entry_credentials(where: str, entry: Any) -> Credentials:
    if not isinstance(entry, dict):
        raise PullSecretError(f"{where} is not an object")
    username, password = entry.get("username"), entry.get("password")
    if isinstance(username, str) and isinstance(password, str) and username:
        return Credentials(username, password)
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            joined = base64.b64decode(auth, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise PullSecretError(f"{where}.auth is not base64 of `username:password`") from None
        username, colon, password = joined.partition(":")
        if colon and username:
            return Credentials(username, password)
        raise PullSecretError(f"{where}.auth is not base64 of `username:password`")
    raise PullSecretError(f"{where} has neither username and password nor auth")


def registry_credentials(secret: dict[str, Any]) -> dict[str, Credentials]:
    """Registry host -> credentials, from a Secret as the API server returns it."""
    name = secret.get("metadata", {}).get("name", "?")
    if secret.get("type") != SECRET_TYPE:
        raise PullSecretError(f"Secret {name} is of type {secret.get('type')!r}, not {SECRET_TYPE}")
    encoded = (secret.get("data") or {}).get(SECRET_KEY)
    if not isinstance(encoded, str):
        raise PullSecretError(f"Secret {name} has no {SECRET_KEY}")
    try:
        config = json.loads(base64.b64decode(encoded))
    except (binascii.Error, ValueError):
        raise PullSecretError(f"Secret {name}: {SECRET_KEY} is not a JSON document") from None
    auths = config.get("auths") if isinstance(config, dict) else None
    if not isinstance(auths, dict):
        raise PullSecretError(f"Secret {name}: {SECRET_KEY} has no `auths`")
    return {_host_of(key): _entry_credentials(f"Secret {name}: auths[{key!r}]", entry) for key, entry in auths.items()}
