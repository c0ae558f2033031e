"""Images for the tests of assembled images: a base image with no Python, pushed with skopeo to a
registry the tests start; the supervisor executable, built once per source; and an assembled
image pulled back with skopeo and unpacked to a root filesystem the tests can chroot into."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scar_operator.images import supervisor_build

import lambda_supervisor
from tests.harness.cluster import REPO

# A glibc root with a shell and nothing else: no Python, no package manager (what distroless/base
# or a minimal Debian hold of what the supervisor needs, and less).
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


def supervisor_executables() -> Path:
    """The folder SCAR_SUPERVISOR_DIR names, built with PyInstaller once per supervisor source."""
    sources = sorted(Path(lambda_supervisor.__file__).parent.glob("*.py"))
    key = hashlib.sha256(b"".join(p.read_bytes() for p in sources)
                         + (REPO / "constraints.txt").read_bytes()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"scar-supervisor-{key}"
    executable = folder / supervisor_build.host_platform() / supervisor_build.EXECUTABLE
    if not executable.exists():
        partial = Path(tempfile.mkdtemp(prefix="scar-supervisor-partial-"))
        supervisor_build.build(partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    return folder


def _tar_gz(entries: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> tuple[bytes, str]:
    """(gzip bytes, diff_id) of a tar of `entries`."""
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    raw = plain.getvalue()
    return gzip.compress(raw, mtime=0), "sha256:" + hashlib.sha256(raw).hexdigest()


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, 0
    return info


def rootfs_layer(files: dict[str, bytes] | None = None) -> tuple[bytes, str]:
    """The glibc-and-a-shell root, plus `files` (path -> content), as a layer."""
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    directories = {"tmp", "bin", "etc"}
    contents: dict[str, tuple[bytes, int]] = {}
    for path in HOST_FILES:
        contents[path.lstrip("/")] = (Path(path).read_bytes(), 0o755)
    contents["bin/sh"] = (Path(SHELL).read_bytes(), 0o755)
    contents["etc/passwd"] = (b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
    for path, data in (files or {}).items():
        contents[path.lstrip("/")] = (data, 0o644)
    for path in contents:
        parts = path.split("/")
        directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for directory in sorted(directories):
        entries.append((_info(directory, tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755), None))
    for path, (data, mode) in sorted(contents.items()):
        entries.append((_info(path, tarfile.REGTYPE, mode, len(data)), data))
    return _tar_gz(entries)


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


def _json(document: dict[str, Any], media_type: str) -> Blob:
    return Blob(json.dumps(document, sort_keys=True).encode(), media_type)


def image_blobs(layer: tuple[bytes, str], architecture: str = "amd64", marker: str = "") -> tuple[Blob, list[Blob]]:
    """(manifest, [config, layer]) of a one-layer OCI image; `marker` changes the config only."""
    data, diff_id = layer
    layer_blob = Blob(data, OCI_LAYER)
    config = _json({"architecture": architecture, "os": "linux", "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Entrypoint": ["/bin/sh", "-c"], "Labels": {"test.marker": marker}},
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


def skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)}: {done.stderr}")
    return done.stdout


def push_layout(folder: Path, tag: str, destination: str, credentials: str | None) -> None:
    creds = ["--dest-creds", credentials] if credentials else []
    skopeo("copy", "--all", "--quiet", "--dest-tls-verify=false", *creds, f"oci:{folder}:{tag}",
           f"docker://{destination}")


def unpack(reference: str, credentials: str, into: Path) -> dict[str, Any]:
    """Pull `reference` with skopeo and unpack its layers in order into `into`; returns its config."""
    layout = into.with_name(into.name + "-layout")
    skopeo("copy", "--quiet", "--src-tls-verify=false", "--src-creds", credentials, f"docker://{reference}",
           f"oci:{layout}:pulled")
    index = json.loads((layout / "index.json").read_text())

    def blob(digest: str) -> Path:
        return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")

    manifest = json.loads(blob(index["manifests"][0]["digest"]).read_bytes())
    into.mkdir(parents=True, exist_ok=True)
    for descriptor in manifest["layers"]:
        with tarfile.open(blob(descriptor["digest"]), mode="r:gz") as tar:
            tar.extractall(into, filter="tar")
    config: dict[str, Any] = json.loads(blob(manifest["config"]["digest"]).read_bytes())
    return config


def can_chroot() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("chroot") is not None
