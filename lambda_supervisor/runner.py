"""Runs the user's script in its own process group, with a deadline.

When the deadline comes the whole group is stopped (TERM, then KILL after a grace), so that a
script's children (ffmpeg, a model server) do not outlive it and the upload still fits in the
invocation. The output is streamed to the log line by line; only the last lines are kept.
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
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lambda_supervisor.script")
TAIL_LINES = 20


@dataclass(frozen=True)
class ScriptResult:
    exit_code: int
    timed_out: bool
    seconds: float
    tail: tuple[str, ...]

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
) -> ScriptResult:
    """Run to completion or until `deadline` (time.monotonic()), whichever comes first."""
    started = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so that we can stop all of it
    )
    reader = threading.Thread(target=_pump, args=(process, tail), daemon=True)
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
        reader.join(timeout=5)
    return ScriptResult(process.returncode, timed_out, time.monotonic() - started, tuple(tail))


def _pump(process: subprocess.Popen[bytes], tail: collections.deque[str]) -> None:
    assert process.stdout is not None
    for raw in process.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        tail.append(line)
        log.info("%s", line)


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
