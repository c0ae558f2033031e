"""Debian's `docker-registry` (the Distribution registry, what Docker Hub and most registries run)
on loopback: the source registry of the tests, and the store behind the emulated ECR's registry.

Optionally with TLS and an htpasswd user (a registry asks for credentials only over TLS)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scar_operator.local import registry_tokens
from scar_operator.local.tls import LoopbackCertificate

BINARY = "docker-registry"
_STARTUP_SECONDS = 30.0


@dataclass(frozen=True)
class RunningRegistry:
    host: str  # 127.0.0.1:port
    scheme: str
    storage: Path

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def available() -> bool:
    return shutil.which(BINARY) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _htpasswd(username: str, password: str) -> str:
    import bcrypt  # the registry reads bcrypt hashes only

    return f"{username}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n"


def _answers(url: str, tls: LoopbackCertificate | None) -> bool:
    context = ssl.create_default_context(cafile=str(tls.certificate)) if tls else None
    try:
        with urllib.request.urlopen(f"{url}/v2/", timeout=2, context=context):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError:
        return True  # 401: up, and asking for credentials
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def docker_registry(*, tls: LoopbackCertificate | None = None, user: tuple[str, str] | None = None,
                    token_realm: str | None = None, folder: Path | None = None) -> Iterator[RunningRegistry]:
    """A registry serving until the block ends; its storage in `folder` (a temporary one if None).

    `user`: one htpasswd user (Basic auth). `token_realm`: bearer tokens of that token service
    instead (registry_tokens.py), as Docker Hub and GHCR ask for, trusted through `tls`."""
    with contextlib.ExitStack() as stack:
        root = folder or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scar-registry-")))
        port = _free_port()
        config = root / "config.yml"
        lines = ["version: 0.1", "log: {level: error, accesslog: {disabled: true}}",
                 f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}",
                 f"http: {{addr: '127.0.0.1:{port}', relativeurls: true, secret: scar-loopback"]
        if tls is not None:
            lines[-1] += f", tls: {{certificate: {tls.certificate}, key: {tls.key}}}"
        lines[-1] += "}"
        if user is not None:
            (root / "htpasswd").write_text(_htpasswd(*user))
            lines.append(f"auth: {{htpasswd: {{realm: scar-loopback, path: {root / 'htpasswd'}}}}}")
        elif token_realm is not None and tls is not None:
            lines.append(f"auth: {{token: {{realm: '{token_realm}', service: {registry_tokens.SERVICE}, "
                         f"issuer: {registry_tokens.ISSUER}, rootcertbundle: {tls.certificate}}}}}")
        config.write_text("\n".join(lines) + "\n")
        log = (root / "registry.log").open("wb")
        stack.callback(log.close)
        process = subprocess.Popen([BINARY, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OTEL_TRACES_EXPORTER": "none"})
        try:
            running = RunningRegistry(f"127.0.0.1:{port}", "https" if tls else "http", root / "data")
            deadline = time.monotonic() + _STARTUP_SECONDS
            while not _answers(running.url, tls):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{BINARY} did not start: {(root / 'registry.log').read_text()[-2000:]}")
                time.sleep(0.05)
            yield running
        finally:
            process.terminate()
            process.wait(timeout=30)
