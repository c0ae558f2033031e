"""Runs the user's script in its own process group, with a deadline.

When the deadline comes the whole group is stopped (TERM, then KILL after a grace), so that a
script's children (ffmpeg, a model server) do not outlive it and the upload still fits in the
invocation. The output is streamed to the log line by line; only the last lines are kept.
For an HTTP request the script's stdout is the answer: it is then kept apart from stderr, as
bytes (binary-safe), up to a limit.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger("lambda_supervisor.script")
TAIL_LINES = 20


@dataclass(frozen=True)
class ScriptResult:
    exit_code: int
    timed_out: bool
    seconds: float
    tail: tuple[str, ...]
    # With `stdout_limit`: what the script wrote to stdout (at most the limit), and its whole size.
    stdout: bytes = b""
    stdout_size: int = 0

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def write_script(text: str, directory: Path) -> list[str]:
    """The command that runs `text`: itself when it has a shebang, else /bin/sh with it."""
    path = directory / "script"
    path.write_text(text)
    if text.startswith("#!"):
        path.chmod(0o700)
        return [str(path)]
    return ["/bin/sh", str(path)]


def run_script(
    command: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    deadline: float | None,
    kill_grace: float = 2.0,
    stdout_limit: int | None = None,
) -> ScriptResult:
    """Run to completion or until `deadline` (time.monotonic()), whichever comes first.

    `stdout_limit`: keep stdout (up to this many bytes) instead of logging it; stderr is logged."""
    started = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    kept = _Kept(stdout_limit or 0)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if stdout_limit is None else subprocess.PIPE,
        start_new_session=True,  # its own process group, so that we can stop all of it
    )
    assert process.stdout is not None
    readers = [threading.Thread(target=_pump, args=(process.stdout, tail), daemon=True)]
    if stdout_limit is not None:
        assert process.stderr is not None
        readers = [threading.Thread(target=_keep, args=(process.stdout, kept), daemon=True),
                   threading.Thread(target=_pump, args=(process.stderr, tail), daemon=True)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=None if deadline is None else max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        timed_out = True
        log.warning("script reached its deadline: stopping its process group")
        _stop_group(process, kill_grace)
    finally:
        # Children that kept stdout open would block the reader: stop them too once the script ends.
        _reap_group(process)
        for reader in readers:
            reader.join(timeout=5)
    return ScriptResult(process.returncode, timed_out, time.monotonic() - started, tuple(tail),
                        bytes(kept.data), kept.size)


@dataclass
class _Kept:
    limit: int
    data: bytearray = field(default_factory=bytearray)
    size: int = 0


def _pump(stream: IO[bytes], tail: collections.deque[str]) -> None:
    for raw in stream:
        line = raw.decode(errors="replace").rstrip("\n")
        tail.append(line)
        log.info("%s", line)


def _keep(stream: IO[bytes], kept: _Kept) -> None:
    """Read to the end (a script blocked on a full pipe would never finish), keeping up to the limit."""
    while chunk := stream.read(65536):
        kept.size += len(chunk)
        room = kept.limit - len(kept.data)
        if room > 0:
            kept.data += chunk[:room]


def _stop_group(process: subprocess.Popen[bytes], grace: float) -> None:
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()


def _reap_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait()
    _signal_group(process.pid, signal.SIGKILL)  # leftovers of a finished script


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
