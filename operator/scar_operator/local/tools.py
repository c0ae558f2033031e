"""The host's stand-ins for what the seed's images carry: `ffmpeg` and `detect`, in one PATH directory."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def ffmpeg_executable() -> str:
    """Debian's ffmpeg when installed, else the static binary PyPI's imageio-ffmpeg ships."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def tool_directory(directory: Path) -> Path:
    """A directory with `ffmpeg` and `detect` in it, to put first on the scripts' PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    ffmpeg = directory / "ffmpeg"
    if not ffmpeg.exists():
        ffmpeg.symlink_to(ffmpeg_executable())
    detect = directory / "detect"
    detect.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m scar_operator.local.detector "$@"\n')
    detect.chmod(0o755)
    return directory
