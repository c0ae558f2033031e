"""The supervisor's own cost per record, excluding the script and the transfers (target: < 50 ms warm).

    python -m benchmarks.supervisor_overhead [--records 200]

A warm container runs many invocations: the first (cold: imports, client creation) is reported
apart. Each invocation downloads a 1 KB object, runs a trivial script and uploads one small file
to a moto server on loopback; the script's and the transfers' own times come from the
supervisor's phase log lines and are subtracted from the handler's wall time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from typing import Any

from tests.harness.aws import CREDENTIALS, REGION, emulated_aws


class PhaseRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.phases: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("{"):
            self.phases.append(json.loads(message))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200)
    args = parser.parse_args()

    with emulated_aws() as aws, tempfile.TemporaryDirectory() as scratch:
        os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": aws.moto_url, "AWS_REGION": REGION, "TMPDIR": scratch})
        tempfile.tempdir = None
        s3 = aws.client("s3")
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="in/object.bin", Body=os.urandom(1024))

        from lambda_supervisor.config import CONFIG_ENV, OutputTarget, SupervisorConfig
        from lambda_supervisor.events import s3_event
        from lambda_supervisor.handler import lambda_handler
        from lambda_supervisor.invoke import InvocationContext

        os.environ[CONFIG_ENV] = SupervisorConfig(script='echo ok > "$TMP_OUTPUT_DIR/result.out"',
                                                  outputs=(OutputTarget("bench", "out"),)).to_json()
        recorder = PhaseRecorder()
        logging.getLogger("lambda_supervisor").addHandler(recorder)
        logging.getLogger("lambda_supervisor").setLevel(logging.INFO)
        logging.getLogger("lambda_supervisor").propagate = False
        event = s3_event("bench", "in/object.bin", 1024)

        totals, overheads, scripts, transfers = [], [], [], []
        for i in range(args.records + 1):
            recorder.phases.clear()
            started = time.perf_counter()
            lambda_handler(event, InvocationContext(60, f"bench-{i}"))
            total = time.perf_counter() - started
            by_phase = {p["phase"]: p for p in recorder.phases}
            script = by_phase["script"]["seconds"]
            transfer = by_phase["download"]["seconds"] + by_phase["upload"]["seconds"]
            if i == 0:
                print(f"cold first record: {total * 1000:.1f} ms total, "
                      f"{(total - script - transfer) * 1000:.1f} ms overhead")
                continue
            totals.append(total)
            scripts.append(script)
            transfers.append(transfer)
            overheads.append(total - script - transfer)

    ms = 1000.0
    print(f"warm records: {len(totals)}")
    print(f"  wall per record        median {statistics.median(totals) * ms:7.2f} ms   "
          f"p95 {percentile(totals, .95) * ms:7.2f} ms")
    print(f"  script (sh, echo)      median {statistics.median(scripts) * ms:7.2f} ms")
    print(f"  transfers (1 KB each)  median {statistics.median(transfers) * ms:7.2f} ms")
    print(f"  supervisor overhead    median {statistics.median(overheads) * ms:7.2f} ms   "
          f"p95 {percentile(overheads, .95) * ms:7.2f} ms   (target < 50 ms)")


if __name__ == "__main__":
    main()
