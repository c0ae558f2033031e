"""The embedded AWS: a moto server on loopback, for the tests and the demo.

On top of plain moto: nothing runs in Docker (there is none: moto records Lambda invocations and
Batch jobs, S3 notifications invoke nothing, and the local runtime runs all of it on the host),
and AWS's rules that moto does not enforce are taught to it (aws_rules.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from moto.awslambda import models as lambda_models
from moto.awslambda import policy as lambda_policy
from moto.awslambda_simple import models as lambda_simple_models
from moto.batch import models as batch_models
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.server import ThreadedMotoServer

from scar_operator.local import aws_rules
from scar_operator.local.aws_rules import (
    teach_async_invocations,
    teach_batch,
    teach_lambda,
    teach_lambda_policy,
    teach_s3,
)

_patch_lock = threading.Lock()
_patched = False


@dataclass(frozen=True)
class EmbeddedAws:
    url: str


def teach_moto() -> None:
    """Patch moto once per process: AWS's rules, and no Docker behind S3 notifications.

    It changes moto's classes, so in-process moto (`mock_aws`) in the same process follows the rules too."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        teach_batch(batch_models.BatchBackend)
        teach_lambda(lambda_models.LambdaBackend, lambda_models.LambdaFunction)
        teach_lambda_policy(lambda_policy.Policy)
        teach_async_invocations(lambda_simple_models.LambdaSimpleBackend)
        teach_s3(s3_models.S3Backend)
        # An S3 notification would make moto start a container for the function (and fail, loudly).
        s3_notifications._invoke_awslambda = lambda *args, **kwargs: None
        _patched = True


def _run_nothing_in_docker(url: str) -> None:
    body = json.dumps({"batch": {"use_docker": False}, "lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL built above)
        f"{url}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


@contextlib.contextmanager
def aws_in_own_process(lambda_settle_seconds: float | None = None) -> Iterator[EmbeddedAws]:
    """The same server in a process of its own, so that it has a core (and a GIL) to itself:
    for benchmarks, where the emulator would otherwise compete with whoever measures it.
    `lambda_settle_seconds` replaces how long a function stays Pending or InProgress (0: moto's
    own behaviour, Active at once)."""
    settle = [] if lambda_settle_seconds is None else [f"--lambda-settle-seconds={lambda_settle_seconds}"]
    process = subprocess.Popen([sys.executable, "-m", "scar_operator.local.aws_emulator", *settle],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the AWS emulator did not start: {url!r}")
        yield EmbeddedAws(url)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """Serve the embedded AWS until stopped; the first line printed is its URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--lambda-settle-seconds", type=float, default=aws_rules.LAMBDA_SETTLE_SECONDS)
    aws_rules.LAMBDA_SETTLE_SECONDS = parser.parse_args().lambda_settle_seconds
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    with embedded_aws() as aws:
        print(aws.url, flush=True)
        threading.Event().wait()


@contextlib.contextmanager
def embedded_aws() -> Iterator[EmbeddedAws]:
    teach_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        _run_nothing_in_docker(url)
        yield EmbeddedAws(url)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
