"""An emulator in a process of its own, as the real service is: for benchmarks, where in-process
it would share one GIL with whatever measures the operator."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def serving(module: str, *args: str) -> Iterator[tuple[str, int]]:
    """`python -m module args`, which prints its URL as its first line and serves until
    terminated: (that URL, its process id)."""
    process = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"{module} did not start: {url!r}")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
