"""A base image plus the supervisor layer: the assembled image, computed before anything is pushed.

Everything here but `resolve_base` and `push` is pure: from the base's manifest and config bytes
and the supervisor layer, the assembled config and manifest are serialised one way only, so the
same base digest and the same supervisor give the same manifest digest, on every pass, in every
process. That digest is the image's address: the function runs `repository@digest`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scar_operator.images.reference import ImageReference
from scar_operator.images.registry import INDEX_TYPES, MANIFEST_TYPES, Manifest, Repository, sha256_digest
from scar_operator.images.supervisor_layer import LAMBDA_COMMAND, SUPERVISOR_PATH, Layer

# Lambda's and Batch's names for an architecture -> the image platform's.
PLATFORMS = {"x86_64": "amd64", "arm64": "arm64", "X86_64": "amd64", "ARM64": "arm64"}
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


class BaseImageError(ValueError):
    """A base image the operator cannot build on; the message says why, for spec.image."""


@dataclass(frozen=True)
class BaseImage:
    reference: ImageReference
    # The manifest of the one platform used (under an index, not the index's own digest).
    manifest: Manifest
    config: bytes
    architecture: str
    # What the reference's tag named when it was read (the index, or the manifest itself): a HEAD
    # that finds the same digest later tells that nothing moved, without reading it all again.
    named: str = ""

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def layers(self) -> list[dict[str, Any]]:
        return list(self.manifest.document().get("layers") or [])


@dataclass(frozen=True)
class AssembledImage:
    base: BaseImage
    layer: Layer
    manifest: Manifest
    config: bytes

    @property
    def digest(self) -> str:
        return self.manifest.digest


def _platform_entry(index: dict[str, Any], architecture: str, reference: ImageReference) -> str:
    found = [m for m in index.get("manifests") or []
             if (m.get("platform") or {}).get("os") == "linux"
             and (m.get("platform") or {}).get("architecture") == architecture
             and m.get("mediaType") in MANIFEST_TYPES]
    if not found:
        offered = sorted({f"{(m.get('platform') or {}).get('os')}/{(m.get('platform') or {}).get('architecture')}"
                          for m in index.get("manifests") or []})
        raise BaseImageError(f"{reference} has no linux/{architecture} image (it has {', '.join(offered) or 'none'})")
    # arm64's own variant (v8) first, as a runtime picks it.
    found.sort(key=lambda m: (m.get("platform") or {}).get("variant") not in (None, "v8"))
    return str(found[0]["digest"])


def resolve_base(source: Repository, reference: ImageReference, architecture: str) -> BaseImage:
    """Read the base image for `architecture` (amd64, arm64): its manifest and config. Read-only."""
    manifest = source.manifest(reference.version)
    named = manifest.digest
    if reference.digest and manifest.digest != reference.digest:
        raise BaseImageError(f"{reference}: the registry's manifest has digest {manifest.digest}")
    if manifest.media_type in INDEX_TYPES:
        manifest = source.manifest(_platform_entry(manifest.document(), architecture, reference))
    if manifest.media_type not in MANIFEST_TYPES:
        raise BaseImageError(f"{reference} is a {manifest.media_type or 'document of no media type'}, not an image "
                             f"manifest of Docker's schema 2 or OCI")
    document = manifest.document()
    config_digest = str((document.get("config") or {}).get("digest", ""))
    config = source.document(config_digest)
    if sha256_digest(config) != config_digest:
        raise BaseImageError(f"{reference}: its config does not match the digest its manifest gives")
    parsed = json.loads(config)
    if parsed.get("os", "linux") != "linux" or parsed.get("architecture") != architecture:
        raise BaseImageError(f"{reference} is a {parsed.get('os')}/{parsed.get('architecture')} image, and this "
                             f"function runs on linux/{architecture}")
    return BaseImage(reference, manifest, config, architecture, named)


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def assembled_config(base: BaseImage, layer: Layer) -> bytes:
    """The base's config, with the supervisor's layer on top and its command as the image's.

    The base's entrypoint goes (it would wrap the supervisor); its environment, user and working
    directory stay, so the user's script runs as it would in the base image."""
    config = json.loads(base.config)
    runtime = dict(config.get("config") or {})
    runtime["Entrypoint"] = None
    runtime["Cmd"] = list(LAMBDA_COMMAND)
    runtime.setdefault("Env", [])
    labels = dict(runtime.get("Labels") or {})
    labels.update({"dev.scar.base-image": str(base.reference), "dev.scar.base-digest": base.digest,
                   "dev.scar.supervisor": layer.digest})
    runtime["Labels"] = labels
    config["config"] = runtime
    rootfs = dict(config.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = [*(rootfs.get("diff_ids") or []), layer.diff_id]
    config["rootfs"] = rootfs
    config["history"] = [*(config.get("history") or []), {
        "created": "1970-01-01T00:00:00Z",
        "created_by": f"scar-operator: supervisor {layer.digest} at {SUPERVISOR_PATH}",
    }]
    return _canonical(config)


def assemble(base: BaseImage, layer: Layer) -> AssembledImage:
    config = assembled_config(base, layer)
    document = base.manifest.document()
    oci = base.manifest.media_type == "application/vnd.oci.image.manifest.v1+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": base.manifest.media_type,
        "config": {**document["config"], "digest": sha256_digest(config), "size": len(config)},
        "layers": [*base.layers, {"mediaType": _OCI_LAYER if oci else _DOCKER_LAYER, "digest": layer.digest,
                                  "size": layer.size}],
    }
    content = _canonical(manifest)
    return AssembledImage(base, layer, Manifest(content, base.manifest.media_type, sha256_digest(content)), config)


def push(source: Repository, target: Repository, image: AssembledImage, tag: str) -> list[str]:
    """Copy what `target` lacks, then name the manifest `tag`. Returns the blobs it copied.

    Blobs first, manifest last: a registry refuses a manifest whose blobs it does not hold, and a
    push cut off halfway leaves blobs only, which the next push finds and skips. An image another
    object pushed already is only named: one HEAD, one PUT of the manifest."""
    copied: list[str] = []
    if target.manifest_digest(image.digest) == image.digest:
        target.put_manifest(tag, image.manifest)
        return copied
    for descriptor in image.base.layers:
        digest = str(descriptor["digest"])
        if descriptor.get("urls") or target.has_blob(digest):
            continue  # a foreign layer (urls) is pulled from where it says, never copied
        target.copy_blob_from(source, digest)
        copied.append(digest)
    if not target.has_blob(image.layer.digest):
        target.push_file(image.layer.path, image.layer.digest)
        copied.append(image.layer.digest)
    config_digest = str(image.manifest.document()["config"]["digest"])
    if not target.has_blob(config_digest):
        target.push_document(image.config)
        copied.append(config_digest)
    target.put_manifest(tag, image.manifest)
    return copied
