"""Images for the tests of assembled images: base images (local/base_image.py) pushed with skopeo
to a registry the tests start; the supervisor executable, built once per source; and an assembled
image pulled back with skopeo and unpacked to a root filesystem the tests can chroot into."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from scar_operator.images import supervisor_build
from scar_operator.local.base_image import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    Blob,
    image_blobs,
    rootfs_layer,
    write_layout,
)

import lambda_supervisor
from tests.harness.cluster import REPO

__all__ = ["OCI_CONFIG", "OCI_LAYER", "OCI_MANIFEST", "Blob", "can_chroot", "image_blobs", "push_layout",
           "rootfs_layer", "skopeo", "supervisor_executables", "unpack", "write_layout"]


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
