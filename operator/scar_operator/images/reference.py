"""Image references as Docker and Kubernetes read them: `grycap/cowsay` is
`registry-1.docker.io/library/...`'s cousin `docker.io/grycap/cowsay:latest`.

A reference is `[registry/]repository[:tag][@digest]`. The first part names a registry only when
it has a dot or a port, or is `localhost`; otherwise the image is on Docker Hub, where one-part
names live under `library/`. A digest pins the content and wins over the tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
# Where Docker Hub's registry API answers (docker.io itself only redirects browsers).
DOCKER_HUB_API = "registry-1.docker.io"
# The keys a docker login may have written for Docker Hub in a config.json.
DOCKER_HUB_ALIASES = (DOCKER_HUB, DOCKER_HUB_API, "index.docker.io", "https://index.docker.io/v1/")

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"(?::[0-9]{1,5})?$|^\[[0-9a-fA-F:]+\](?::[0-9]{1,5})?$")


class ReferenceError(ValueError):
    """Not an image reference; the message says which part and why."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host whose /v2/ API serves this image."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def version(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"{self.name}{tag}{digest}"


def parse_reference(text: str) -> ImageReference:
    """The reference `text` names, normalised as Docker does; ReferenceError when it is not one."""
    rest = text.strip()
    if not rest or rest != text:
        raise ReferenceError("an image reference has no spaces and is not empty")
    digest: str | None = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise ReferenceError(f"digest {digest!r} is not sha256: and 64 lowercase hexadecimal digits")
    registry = DOCKER_HUB
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if not _HOST.match(first):
            raise ReferenceError(f"registry {first!r} is not a host name with an optional port")
        registry, rest = first, remainder
    tag: str | None = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise ReferenceError(f"tag {tag!r} is not up to 128 letters, digits, '_', '.' or '-'")
    if registry in DOCKER_HUB_ALIASES[:3]:
        registry = DOCKER_HUB
        if "/" not in rest:
            rest = f"library/{rest}"
    if not _REPOSITORY.match(rest):
        raise ReferenceError(f"repository {rest!r} is not lowercase letters and digits in parts separated "
                             f"by '/', '.', '_' or '-'")
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(registry, rest, tag, digest)
