"""A base image made on the spot from this machine's own files: glibc and a shell, no Python.

What a plain base from any registry is to the operator (a Debian slim, distroless/base), without a
network to pull one: the tests and the demo push it to a registry they start, and the operator
assembles an image from it as from any other.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# glibc's loader and the libraries the supervisor executable and the shell link against.
HOST_FILES = (
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libdl.so.2", "/lib/x86_64-linux-gnu/libm.so.6",
    "/lib/x86_64-linux-gnu/libpthread.so.0", "/lib/x86_64-linux-gnu/librt.so.1",
    "/lib/x86_64-linux-gnu/libutil.so.1", "/lib/x86_64-linux-gnu/libz.so.1",
)
SHELL = "/usr/bin/dash"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, 0
    return info


def _tar_gz(entries: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> tuple[bytes, str]:
    """(gzip bytes, diff_id) of a tar of `entries`."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = plain.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def rootfs_layer(files: dict[str, bytes] | None = None) -> tuple[bytes, str]:
    """glibc and /bin/sh from this machine, plus `files` (path -> content), as one layer."""
    contents: dict[str, tuple[bytes, int]] = {path.lstrip("/"): (Path(path).read_bytes(), 0o755)
                                              for path in HOST_FILES}
    contents["bin/sh"] = (Path(SHELL).read_bytes(), 0o755)
    contents["etc/passwd"] = (b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
    for path, data in (files or {}).items():
        contents[path.lstrip("/")] = (data, 0o644)
    directories = {"tmp", "bin", "etc"}
    for path in contents:
        parts = path.split("/")
        directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_info(d, tarfile.DIRTYPE, 0o1777 if d == "tmp" else 0o755), None) for d in sorted(directories)]
    entries += [(_info(path, tarfile.REGTYPE, mode, len(data)), data)
                for path, (data, mode) in sorted(contents.items())]
    return _tar_gz(entries)


def _json(document: dict[str, Any], media_type: str) -> Blob:
    return Blob(json.dumps(document, sort_keys=True).encode(), media_type)


def image_blobs(layer: tuple[bytes, str], architecture: str = "amd64", marker: str = "") -> tuple[Blob, list[Blob]]:
    """(manifest, [config, layer]) of a one-layer OCI image; `marker` changes the config only."""
    data, diff_id = layer
    layer_blob = Blob(data, OCI_LAYER)
    config = _json({"architecture": architecture, "os": "linux", "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Entrypoint": ["/bin/sh", "-c"], "Labels": {"dev.scar.example": marker}},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}}, OCI_CONFIG)
    manifest = _json({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config.descriptor(),
                      "layers": [layer_blob.descriptor()]}, OCI_MANIFEST)
    return manifest, [config, layer_blob]


def write_layout(folder: Path, tag: str, images: dict[str, tuple[Blob, list[Blob]]]) -> Blob:
    """An OCI image layout holding `images` (platform -> image) under `tag`: one image as it is,
    several behind an index. Returns what the tag names."""
    (folder / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def store(blob: Blob) -> None:
        (folder / "blobs" / "sha256" / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)

    for manifest, blobs in images.values():
        for blob in [manifest, *blobs]:
            store(blob)
    if len(images) == 1:
        [(top, _)] = images.values()
    else:
        top = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            manifest.descriptor(platform={"os": "linux", "architecture": platform})
            for platform, (manifest, _) in images.items()]}, OCI_INDEX)
        store(top)
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        top.descriptor(annotations={"org.opencontainers.image.ref.name": tag})]}))
    return top
