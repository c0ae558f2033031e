"""The demo's `--any-image`: the example's images named in a registry of their own, as SCAR's
users name Docker Hub images, and assembled into ECR by the operator.

A registry (Debian's docker-registry, over TLS) holds plain bases made from this machine's files
(glibc and a shell: no Python, no supervisor) under the example's image names; the emulated ECR
gets its registry API; the operator gets the supervisor executable and trusts the registries'
certificate. The local runtime still runs the scripts on the host (images are not run here).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scar_operator.images.registry import Manifest, Repository
from scar_operator.local import registry_process
from scar_operator.local.base_image import Blob, image_blobs, rootfs_layer
from scar_operator.local.ecr_registry import ecr_registry_front
from scar_operator.local.tls import loopback_certificate


@dataclass(frozen=True)
class DemoRegistries:
    source_host: str
    operator_env: dict[str, str]

    def image(self, name: str) -> str:
        """Where the example's image `name` (ffmpeg-split, darknet) is, in the demo's own registry."""
        return f"{self.source_host}/scar/{name}:0.1.0"


def _push(repository: Repository, tag: str, manifest: Blob, blobs: list[Blob]) -> None:
    for blob in blobs:
        if not repository.has_blob(blob.digest):
            repository.push_document(blob.data)
    repository.put_manifest(tag, Manifest(manifest.data, manifest.media_type, manifest.digest))


def _supervisors(workdir: Path) -> Path:
    """SCAR_SUPERVISOR_DIR when it has one for this machine, else one built here (PyInstaller)."""
    from scar_operator.images import supervisor_build

    given = os.environ.get("SCAR_SUPERVISOR_DIR")
    platform = supervisor_build.host_platform()
    if given and (Path(given) / platform / supervisor_build.EXECUTABLE).is_file():
        return Path(given)
    folder = workdir / "supervisor"
    if not (folder / platform / supervisor_build.EXECUTABLE).is_file():
        supervisor_build.build(folder)
    return folder


@contextlib.contextmanager
def demo_registries(workdir: Path, names: list[str]) -> Iterator[DemoRegistries]:
    if not registry_process.available():
        raise RuntimeError("--any-image needs Debian's docker-registry: apt-get install docker-registry")
    certificate = loopback_certificate(workdir / "tls")
    supervisors = _supervisors(workdir)
    with (registry_process.docker_registry(tls=certificate) as source, registry_process.docker_registry() as store,
          ecr_registry_front(store.host, certificate)):
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = str(certificate.certificate)
        try:
            layer = rootfs_layer()
            for name in names:
                manifest, blobs = image_blobs(layer, marker=name)
                _push(Repository(source.host, f"scar/{name}", None), "0.1.0", manifest, blobs)
            yield DemoRegistries(source.host, {"REQUESTS_CA_BUNDLE": str(certificate.certificate),
                                               "SCAR_SUPERVISOR_DIR": str(supervisors)})
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous

