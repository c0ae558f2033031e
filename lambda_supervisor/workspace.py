"""A fresh work dir per record, and the one place an S3 key becomes a local path."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_UNSAFE = re.compile(r"[\x00-\x1f/\\]")


def local_name(key: str) -> str:
    """The file name a key is downloaded to: its last segment, never a path, never empty or '..'.

    The script gets the path in INPUT_FILE_PATH (an environment variable, not a command line), so
    spaces, quotes and `$(...)` in a name are inert; only directory structure must not survive.
    """
    name = _UNSAFE.sub("_", PurePosixPath(key).name if key else "")
    if name in ("", ".", ".."):
        name = "input"
    return name[:255]


@dataclass
class Workspace:
    root: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    def input_path(self, key: str) -> Path:
        path = (self.input_dir / local_name(key)).resolve()
        if path.parent != self.input_dir.resolve():
            raise ValueError(f"refusing a path outside the work dir for key {key!r}")
        return path

    def outputs(self) -> Iterator[tuple[Path, str]]:
        """Regular files under the output dir, with their relative POSIX paths; links are not followed."""
        base = self.output_dir
        for directory, _, files in os.walk(base, followlinks=False):
            for name in sorted(files):
                path = Path(directory) / name
                if path.is_file() and not path.is_symlink():
                    yield path, path.relative_to(base).as_posix()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def new_workspace(parent: str | None = None) -> Workspace:
    """Under /tmp (Lambda's only writable place) unless told otherwise; removed after each record."""
    root = Path(tempfile.mkdtemp(prefix="scar-", dir=parent))
    workspace = Workspace(root)
    workspace.input_dir.mkdir()
    workspace.output_dir.mkdir()
    return workspace
