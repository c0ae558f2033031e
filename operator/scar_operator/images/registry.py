"""One repository of a container registry, over its HTTP API (python-dxf): manifests and blobs.

Every call names the registry in its errors, with the registry's own answer: an image that is
missing or credentials that are refused are the user's to fix (terminal), a registry that is down
or busy is retried. Blobs are copied registry to registry as a stream, so memory stays flat
whatever their size.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import requests
from dxf import DXF, DXFBase
from dxf import exceptions as dxf_errors

from scar_operator.images.pull_secrets import Credentials

# Read at a time when copying a blob: what a copy holds in memory, whatever the blob's size.
COPY_CHUNK_BYTES = 1 << 20
# A manifest or an image config is a few kilobytes; anything past this is not one.
DOCUMENT_LIMIT_BYTES = 4 << 20
TIMEOUT_SECONDS = 60.0

MANIFEST_TYPES = {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
}
INDEX_TYPES = {
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
}
_ACCEPT = ", ".join(sorted(MANIFEST_TYPES | INDEX_TYPES))


class RegistryError(Exception):
    """A registry's refusal or failure. `transient`: worth retrying as it is (5xx, 429, network)."""

    def __init__(self, registry: str, what: str, answer: str, *, status: int | None, transient: bool) -> None:
        super().__init__(f"{registry} answered {answer} to {what}")
        self.registry = registry
        self.status = status
        self.transient = transient


@dataclass(frozen=True)
class Manifest:
    content: bytes
    media_type: str
    digest: str

    def document(self) -> dict[str, Any]:
        loaded = json.loads(self.content)
        if not isinstance(loaded, dict):
            raise ValueError("a manifest is a JSON object")
        return loaded


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _answer(response: requests.Response | None) -> str:
    """`404 MANIFEST_UNKNOWN: manifest unknown`: the status and the registry's first error."""
    if response is None:
        return "no response"
    detail = ""
    with contextlib.suppress(ValueError, AttributeError, IndexError, KeyError, TypeError):
        first = response.json()["errors"][0]
        detail = f" {first.get('code', '')}: {first.get('message', '')}".rstrip(": ")
    return f"{response.status_code}{detail or ' ' + (response.reason or '')}".rstrip()


class _Stream:
    """A blob being read from one registry, as a file the upload to another reads from: its
    length is known (the upload sends Content-Length, which ECR needs), its bytes come as read."""

    def __init__(self, chunks: Iterable[bytes], size: int) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._size = size
        self._current = b""
        self._offset = 0

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the chunk at hand (b"" at the end): the upload reads until then, so
        a short read is fine, and no chunk is ever copied whole again for each small read."""
        if size < 0:
            rest = self._current[self._offset:] + b"".join(self._chunks)
            self._current, self._offset = b"", 0
            return rest
        while self._offset >= len(self._current):  # an empty chunk is not the end
            following = next(self._chunks, None)
            if following is None:
                return b""
            self._current, self._offset = following, 0
        data = self._current[self._offset:self._offset + size]
        self._offset += len(data)
        return data


class _FileStream:
    """A local file as an upload body of known length (python-dxf would hash it again first)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self._size = path.stat().st_size

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if not data:
            self._file.close()
        return data


class Repository:
    """`host/name` of a registry; `scheme` https unless the registry serves plain HTTP (loopback)."""

    def __init__(self, host: str, name: str, credentials: Credentials | None = None, *,
                 scheme: str = "https") -> None:
        self.host = host
        self.name = name
        self._credentials = credentials

        def authenticate(dxf: DXFBase, response: requests.Response) -> None:
            if credentials is None:
                dxf.authenticate(response=response)
            else:
                dxf.authenticate(credentials.username, credentials.password, response=response)

        self._dxf = DXF(host, name, auth=authenticate, insecure=scheme == "http", timeout=TIMEOUT_SECONDS)

    def __str__(self) -> str:
        return f"{self.host}/{self.name}"

    @contextlib.contextmanager
    def session(self) -> Iterator[Repository]:
        """Reuse one connection (and one token) for the calls made within."""
        with self._dxf:
            yield self

    @contextlib.contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        try:
            yield
        except requests.HTTPError as e:
            status = e.response.status_code if e.response is not None else None
            transient = status is None or status == 429 or status >= 500
            raise RegistryError(self.host, what, _answer(e.response), status=status, transient=transient) from None
        except dxf_errors.DXFUnauthorizedError:
            raise RegistryError(self.host, what, "401 UNAUTHORIZED: authentication required",
                                status=401, transient=False) from None
        except dxf_errors.DXFAuthInsecureError:
            raise RegistryError(self.host, what, "401 and asks for credentials over plain HTTP",
                                status=401, transient=False) from None
        except dxf_errors.DXFDigestMismatchError as e:
            raise RegistryError(self.host, what, f"content that does not match its digest ({e})",
                                status=None, transient=True) from None
        except (requests.ConnectionError, requests.Timeout) as e:
            raise RegistryError(self.host, what, f"nothing ({type(e).__name__})", status=None,
                                transient=True) from None

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        # python-dxf's own request path (auth, retry after 401, status check), for the manifest calls
        # whose exact bytes and media types its higher-level helpers would change.
        response: requests.Response = self._dxf._request(method, path, **kwargs)  # type: ignore[no-untyped-call]
        return response

    def manifest(self, version: str) -> Manifest:
        """The manifest (or index) `version` (a tag or digest) names, as the registry holds it."""
        with self._calling(f"GET manifest {self}:{version}"):
            response = self._request("get", "manifests/" + version, headers={"Accept": _ACCEPT})
            content = response.content
        if len(content) > DOCUMENT_LIMIT_BYTES:
            raise RegistryError(self.host, f"GET manifest {self}:{version}", "a document too large for a manifest",
                                status=response.status_code, transient=False)
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if not media_type:
            media_type = str(json.loads(content).get("mediaType", ""))
        return Manifest(content, media_type, sha256_digest(content))

    def manifest_digest(self, version: str) -> str | None:
        """The digest `version` names now, or None when there is no such manifest (or repository)."""
        try:
            with self._calling(f"HEAD manifest {self}:{version}"):
                response = self._request("head", "manifests/" + version, headers={"Accept": _ACCEPT})
        except RegistryError as e:
            if e.status == 404:
                return None
            raise
        digest = response.headers.get("Docker-Content-Digest")
        return str(digest) if digest else self.manifest(version).digest

    def has_blob(self, digest: str) -> bool:
        try:
            with self._calling(f"HEAD blob {self}@{digest}"):
                self._dxf.blob_size(digest)
        except RegistryError as e:
            if e.status == 404:
                return False
            raise
        return True

    def document(self, digest: str) -> bytes:
        """A small blob (an image config), whole, checked against its digest."""
        data = b""
        with self._calling(f"GET blob {self}@{digest}"):
            for chunk in cast(Iterable[bytes], self._dxf.pull_blob(digest, chunk_size=COPY_CHUNK_BYTES)):
                data += chunk
                if len(data) > DOCUMENT_LIMIT_BYTES:
                    raise RegistryError(self.host, f"GET blob {self}@{digest}", "a blob too large for a config",
                                        status=200, transient=False)
        return data

    def copy_blob_from(self, source: Repository, digest: str) -> None:
        """Stream blob `digest` from `source` into this repository."""
        with source._calling(f"GET blob {source}@{digest}"):
            chunks, size = self._dxf_pull(source, digest)
            # The source's digest check runs as the last chunk is read, within the upload below.
            with self._calling(f"PUT blob {self}@{digest}"):
                self._dxf.push_blob(data=_Stream(chunks, int(size)), digest=digest,  # type: ignore[arg-type]
                                    check_exists=False)

    @staticmethod
    def _dxf_pull(source: Repository, digest: str) -> tuple[Iterable[bytes], int]:
        chunks, size = cast(tuple[Iterable[bytes], int],
                            source._dxf.pull_blob(digest, size=True, chunk_size=COPY_CHUNK_BYTES))
        return chunks, int(size)

    def push_file(self, path: Path, digest: str) -> None:
        with self._calling(f"PUT blob {self}@{digest}"):
            self._dxf.push_blob(data=_FileStream(path), digest=digest, check_exists=False)  # type: ignore[arg-type]

    def push_document(self, data: bytes) -> str:
        digest = sha256_digest(data)
        with self._calling(f"PUT blob {self}@{digest}"):
            self._dxf.push_blob(data=_Stream([data], len(data)), digest=digest,  # type: ignore[arg-type]
                                check_exists=False)
        return digest

    def put_manifest(self, version: str, manifest: Manifest) -> None:
        """`version` (a tag) names `manifest` from now on; pushed byte for byte, so its digest holds."""
        with self._calling(f"PUT manifest {self}:{version}"):
            self._request("put", "manifests/" + version, data=manifest.content,
                          headers={"Content-Type": manifest.media_type})
