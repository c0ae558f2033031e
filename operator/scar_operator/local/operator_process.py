"""The operator as it really runs: `python -m scar_operator run` in its own process, under kopf."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


class OperatorProcess:
    def __init__(self, *, kubeconfig: Path, namespace: str | Sequence[str], aws_env: dict[str, str], log_path: Path,
                 extra_env: dict[str, str] | None = None, extra_args: Sequence[str] = ()) -> None:
        self.log_path = log_path
        namespaces = [namespace] if isinstance(namespace, str) else list(namespace)
        self._args = [sys.executable, "-m", "scar_operator", "run", "--standalone",
                      *(arg for ns in namespaces for arg in ("--namespace", ns)), *extra_args]
        self._env = {
            **os.environ,
            **aws_env,
            "KUBECONFIG": str(kubeconfig),
            # Short intervals so that drift and retries show within a test's (or a demo's) patience.
            "SCAR_RESYNC_SECONDS": "2",
            "SCAR_SETTLE_SECONDS": "0.5",
            "SCAR_RETRY_SECONDS": "1",
            **(extra_env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> OperatorProcess:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== operator start #{self.starts} =====\n".encode())
        log.flush()
        self._process = subprocess.Popen(self._args, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful exit, as when a node dies mid-reconcile."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=30)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def peak_rss_bytes(self) -> int:
        """The process's high-water mark of resident memory (VmHWM), 0 when it is not running."""
        if self._process is None:
            return 0
        try:
            status = Path(f"/proc/{self._process.pid}/status").read_text()
        except OSError:
            return 0
        line = next((li for li in status.splitlines() if li.startswith("VmHWM:")), "VmHWM: 0 kB")
        return int(line.split()[1]) * 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far, 0 when it is not running."""
        return process_cpu_seconds(self._process.pid) if self._process is not None else 0.0

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (Linux), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
