"""The one layer an assembled image adds: the self-contained supervisor executable.

Built the same, byte for byte, from the same executable (no times, owners or names of this machine
in it), so its digest identifies the supervisor: an assembled image's digest then changes exactly
when its base or its supervisor does. It is built once per operator process, into a file (a
layer is tens of megabytes: never held in memory), and pushed from there.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Where the executable lands in every assembled image, and the commands an image runs with it.
SUPERVISOR_PATH = "/opt/scar/bin/scar-supervisor"
LAMBDA_COMMAND = (SUPERVISOR_PATH, "lambda")
BATCH_COMMAND = (SUPERVISOR_PATH, "batch")

_built: dict[tuple[str, int, int], Layer] = {}
_building = threading.Lock()


@dataclass(frozen=True)
class Layer:
    path: Path
    # Of the gzip stream (what registries store) and of the tar inside it (the image config's diff_id).
    digest: str
    diff_id: str
    size: int


class _Hashing:
    """A write-only file that hashes what goes through it on the way to `sink`."""

    def __init__(self, sink: BinaryIO | gzip.GzipFile | None) -> None:
        self.sink = sink
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        if self.sink is not None:
            self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        if self.sink is not None:
            self.sink.flush()


def _entry(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build_layer(executable: Path, into: Path) -> Layer:
    """Write the layer holding `executable` at SUPERVISOR_PATH to `into`."""
    size = executable.stat().st_size
    with into.open("wb") as out:
        compressed = _Hashing(out)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=6) as gz:
            plain = _Hashing(gz)
            with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                parts = SUPERVISOR_PATH.strip("/").split("/")
                for depth in range(1, len(parts)):
                    tar.addfile(_entry("/".join(parts[:depth]), tarfile.DIRTYPE, 0o755))
                with executable.open("rb") as source:
                    tar.addfile(_entry("/".join(parts), tarfile.REGTYPE, 0o755, size), source)
    return Layer(into, "sha256:" + compressed.sha256.hexdigest(), "sha256:" + plain.sha256.hexdigest(),
                 compressed.size)


def supervisor_layer(executable: Path) -> Layer:
    """The layer of `executable`, built on first use in this process (and again if the file changes)."""
    stat = executable.stat()
    key = (str(executable.resolve()), stat.st_size, stat.st_mtime_ns)
    with _building:
        if key not in _built:
            folder = Path(tempfile.mkdtemp(prefix="scar-supervisor-layer-"))
            _built[key] = build_layer(executable, folder / "layer.tar.gz")
        return _built[key]


def executable_for(folder: Path, architecture: str) -> Path | None:
    """`folder/<architecture>/scar-supervisor` (amd64 or arm64), when this operator has one."""
    path = folder / architecture / "scar-supervisor"
    return path if path.is_file() and os.access(path, os.X_OK) else None
