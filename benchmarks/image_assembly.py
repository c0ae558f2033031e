"""Assembling an image from a large base: seconds and the operator's peak memory, the first time
(every layer copied into ECR) and reused (a second object of the same base: nothing copied).

    python -m benchmarks.image_assembly [--megabytes 500] [--layers 5] [--workdir DIR]

What runs is what a user's cluster would hold: the operator as it runs in a cluster (`scar-operator
run` under kopf, the operator image's environment), the API emulator in a process of its own, a
source registry (Debian's docker-registry) holding a base of incompressible layers, and the
emulated ECR with its registry API in front of another docker-registry. The operator's peak RSS
is its VmHWM, before the first object and after each; the copy streams, so it should not grow
with the base's size.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import tarfile
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from scar_operator.local.ecr_registry import ecr_registry_front
from scar_operator.local.registry_process import docker_registry
from scar_operator.local.tls import loopback_certificate

from benchmarks.operator_scale import UNPACED, operator_for, wait_until
from tests.harness.aws import emulated_aws
from tests.harness.cluster import open_cluster
from tests.harness.images import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, push_layout, supervisor_executables
from tests.harness.scar import FUNCTIONS, condition_of, function_manifest

_CHUNK = 1 << 20


class _Hashing:
    def __init__(self, sink: BinaryIO | gzip.GzipFile) -> None:
        self.sink, self.sha256 = sink, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()


class _Random:
    """`size` random bytes, read as a file (never held whole)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = _CHUNK) -> bytes:
        data = os.urandom(min(n, self.left))
        self.left -= len(data)
        return data


def random_layer(blobs: Path, megabytes: int) -> tuple[dict[str, object], str]:
    """A layer of one file of random bytes, written to `blobs` by digest: (descriptor, diff_id)."""
    partial = blobs / "partial"
    with partial.open("wb") as out:
        compressed = _Hashing(out)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=1) as gz:
            plain = _Hashing(gz)
            with tarfile.open(fileobj=plain, mode="w|") as tar:  # type: ignore[call-overload]
                info = tarfile.TarInfo("data/random.bin")
                info.size = megabytes << 20
                tar.addfile(info, _Random(info.size))
    digest = compressed.sha256.hexdigest()
    size = partial.stat().st_size
    partial.rename(blobs / digest)
    return {"mediaType": OCI_LAYER, "digest": f"sha256:{digest}", "size": size}, f"sha256:{plain.sha256.hexdigest()}"


def large_base(folder: Path, megabytes: int, layers: int) -> None:
    blobs = folder / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (folder / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    made = [random_layer(blobs, megabytes // layers) for _ in range(layers)]

    def store(document: dict[str, object], media_type: str) -> dict[str, object]:
        data = json.dumps(document, sort_keys=True).encode()
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    config = store({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                    "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in made]}}, OCI_CONFIG)
    manifest = store({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
                      "layers": [descriptor for descriptor, _ in made]}, OCI_MANIFEST)
    (folder / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {**manifest, "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="scar-bench-images-"))
    print(f"work directory: {workdir}", flush=True)
    supervisors = supervisor_executables()
    certificate = loopback_certificate(workdir / "tls")
    with (emulated_aws() as aws, open_cluster(None, workdir, own_process=True) as cluster,
          docker_registry(tls=certificate) as source, docker_registry() as store,
          ecr_registry_front(store.host, certificate) as front):
        cluster.install_crds()
        started = time.monotonic()
        large_base(workdir / "base", args.megabytes, args.layers)
        push_layout(workdir / "base", "1", f"{source.host}/bench/large:1", None)
        print(f"  base of {args.megabytes} MB in {args.layers} random layers pushed in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        namespace = cluster.create_namespace("bench-images")
        env = {**UNPACED, "REQUESTS_CA_BUNDLE": str(certificate.certificate), "SCAR_SUPERVISOR_DIR": str(supervisors)}
        with operator_for(cluster, aws, namespace, workdir, **env) as operator:
            wait_until(lambda: "Initial authentication has finished" in operator.logs(), timeout=60)
            print(f"  operator peak RSS before any object{'':<23} {operator.peak_rss_bytes() / 2**20:8.0f} MB")
            for name, label in (("first", "first time (every layer copied)"), ("second", "reused (nothing copied)")):
                pushed = len(front.blobs_pushed)
                cluster.apply(FUNCTIONS, namespace, function_manifest(
                    name, image=f"{source.host}/bench/large:1",
                    input=[{"bucket": "scar-bench-images", "prefix": f"{name}/"}]))
                seconds = wait_until(lambda n=name: condition_of(  # type: ignore[misc]
                    cluster.get(FUNCTIONS, namespace, n) or {}, "Ready", "True") is not None, timeout=900)
                print(f"  {label:<40} Ready in {seconds:7.1f} s, {len(front.blobs_pushed) - pushed} blobs pushed, "
                      f"operator peak RSS {operator.peak_rss_bytes() / 2**20:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
