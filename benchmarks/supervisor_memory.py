"""Peak memory of one invocation against the input's size (target: independent of the size).

    python -m benchmarks.supervisor_memory [--sizes-mb 64 1024]

Each size runs in its own `python -m lambda_supervisor invoke` process, as the local runtime runs
it, with a script that copies the input to the output: the object is downloaded and a file of
the same size uploaded. The figure is that process's own peak RSS (VmHWM, read by the process
as it exits: wait4's ru_maxrss would also carry this benchmark's own peak, moto's data included,
because Linux keeps the high-water mark across fork and exec).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from boto3.s3.transfer import TransferConfig

from tests.harness.aws import CREDENTIALS, REGION, emulated_aws

REPO = Path(__file__).resolve().parents[1]

# Runs `python -m lambda_supervisor invoke ...` and prints its peak RSS on stderr as it exits.
MEASURED_INVOKE = """
import atexit, re, runpy, sys
def report():
    status = open("/proc/self/status").read()
    print("PEAK_KB", re.search(r"VmHWM:\\s+(\\d+)", status).group(1), file=sys.stderr)
atexit.register(report)
sys.argv = ["lambda_supervisor", "invoke", *sys.argv[1:]]
runpy.run_module("lambda_supervisor", run_name="__main__")
"""


def sparse_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        f.truncate(size)


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[64, 1024])
    args = parser.parse_args()

    from lambda_supervisor.config import CONFIG_ENV, OutputTarget, SupervisorConfig
    from lambda_supervisor.events import s3_event

    with emulated_aws() as aws, tempfile.TemporaryDirectory() as scratch:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="bench")
        config = SupervisorConfig(script='cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/copy.bin"',
                                  outputs=(OutputTarget("bench", "out"),))
        env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **CREDENTIALS, "AWS_ENDPOINT_URL": aws.moto_url,
               "AWS_REGION": REGION, "TMPDIR": scratch, CONFIG_ENV: config.to_json()}
        print(f"{'input':>9}  {'peak RSS':>9}  {'wall':>7}  outputs")
        for size_mb in args.sizes_mb:
            source = Path(scratch) / "source.bin"
            sparse_file(source, size_mb * 2**20)
            key = f"in/{size_mb}mb.bin"
            s3.upload_file(str(source), "bench", key, Config=TransferConfig(multipart_chunksize=64 * 2**20))
            source.unlink()

            started = time.monotonic()
            finished = subprocess.run(
                [sys.executable, "-c", MEASURED_INVOKE, "--timeout", "900", "--request-id", f"mem-{size_mb}"],
                env=env, input=json.dumps(s3_event("bench", key)), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, text=True, cwd=scratch, check=True)
            wall = time.monotonic() - started
            peak_kb = int(re.search(r"PEAK_KB (\d+)", finished.stderr).group(1))  # type: ignore[union-attr]
            uploaded = s3.head_object(Bucket="bench", Key=f"out/mem-{size_mb}/copy.bin")["ContentLength"]
            assert uploaded == size_mb * 2**20
            print(f"{size_mb:>6} MB  {peak_kb / 1024:>6.1f} MB  {wall:>6.1f}s  1 file, {uploaded} bytes")


if __name__ == "__main__":
    main()
