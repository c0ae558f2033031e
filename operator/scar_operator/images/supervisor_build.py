"""`scar-operator build-supervisor`: the self-contained supervisor executable, with PyInstaller.

One file holding Python, the supervisor, boto3 and AWS's Lambda runtime interface client: it runs
in any glibc image with /bin/sh (Debian, Ubuntu, RHEL, distroless/base...), no Python needed. It
runs on the glibc it was built against or newer: built on the oldest glibc to serve (the operator
image builds it on Debian bookworm, glibc 2.36). musl images (Alpine) need glibc's compatibility
layer (`apk add gcompat`) or a supervisor built on musl.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import lambda_supervisor

EXECUTABLE = "scar-supervisor"
# What machine names the platforms are in an image's config.
_PLATFORMS = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_platform() -> str:
    return _PLATFORMS[platform.machine().lower()]


def build(into: Path) -> Path:
    """Build into `into/<platform>/scar-supervisor` (this machine's platform); returns its path."""
    entry = Path(lambda_supervisor.__file__).with_name("__main__.py")
    target = into / host_platform()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scar-supervisor-build-") as work:
        subprocess.run([
            sys.executable, "-m", "PyInstaller", "--onefile", "--noconfirm", "--log-level", "WARN",
            "--name", EXECUTABLE, "--distpath", str(target), "--workpath", work, "--specpath", work,
            "--paths", str(entry.parent.parent),
            # Imported by name at run time (awslambdaric's handler, the commands of __main__).
            "--hidden-import", "lambda_supervisor.handler", "--hidden-import", "lambda_supervisor.runtime",
            "--hidden-import", "lambda_supervisor.batch", "--hidden-import", "lambda_supervisor.invoke",
            "--exclude-module", "tkinter",
            str(entry),
        ], check=True)
    return target / EXECUTABLE
