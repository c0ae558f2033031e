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
import threading
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from moto.awslambda import models as lambda_models
from moto.awslambda import policy as lambda_policy
from moto.awslambda_simple import models as lambda_simple_models
from moto.batch import models as batch_models
from moto.ecr import responses as ecr_responses
from moto.iam import models as iam_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from werkzeug.serving import make_server

from scar_operator.local import aws_rules, server_process
from scar_operator.local.aws_rules import (
    teach_async_invocations,
    teach_batch,
    teach_ecr,
    teach_iam,
    teach_lambda,
    teach_lambda_policy,
    teach_s3,
)
from scar_operator.local.loopback_server import serving

_patch_lock = threading.Lock()
_patched = False


@dataclass(frozen=True)
class EmbeddedAws:
    url: str
    # The server's own process, when it has one (aws_in_own_process).
    pid: int | None = None


def teach_moto() -> None:
    """Patch moto once per process: AWS's rules, and no Docker behind S3 notifications.

    It changes moto's classes, so in-process moto (`mock_aws`) in the same process follows the rules too."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        teach_batch(batch_models.BatchBackend)
        teach_iam(iam_models)
        teach_lambda(lambda_models.LambdaBackend, lambda_models.LambdaFunction)
        teach_lambda_policy(lambda_policy.Policy)
        teach_async_invocations(lambda_simple_models.LambdaSimpleBackend)
        teach_s3(s3_models.S3Backend)
        teach_ecr(ecr_responses)
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
    """The same server in a process of its own (server_process.py), with a core and a GIL to
    itself. `lambda_settle_seconds` replaces how long a function stays Pending or InProgress (0: moto's
    own behaviour, Active at once)."""
    settle = [] if lambda_settle_seconds is None else [f"--lambda-settle-seconds={lambda_settle_seconds}"]
    with server_process.serving("scar_operator.local.aws_emulator", *settle) as (url, pid):
        yield EmbeddedAws(url, pid)


def main() -> None:
    """Serve the embedded AWS until stopped; the first line printed is its URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--lambda-settle-seconds", type=float, default=aws_rules.LAMBDA_SETTLE_SECONDS)
    aws_rules.LAMBDA_SETTLE_SECONDS = parser.parse_args().lambda_settle_seconds
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    with embedded_aws() as aws:
        print(aws.url, flush=True)
        threading.Event().wait()


class _OneAtATime(DomainDispatcherApplication):
    """moto's server application, serving one request at a time and routing each host once.

    moto's backends are not thread-safe: concurrent requests fail now and then with "dictionary
    changed size during iteration", answered as a 500 that AWS never gives. Its requests are pure
    Python under one GIL anyway, so taking them in turn costs no throughput (reading and writing
    the sockets still overlap). And moto works out which service a host is by listing its own
    package directory on every request: the answer is kept per host.
    """

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._serving = threading.Lock()
        self._backend_of_host: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_of_host:
            self._backend_of_host[host] = super().get_backend_for_host(host)
        return self._backend_of_host[host]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._serving:
            # moto's answers are whole bodies: the lock covers the work, not the socket writes.
            return list(super().__call__(environ, start_response))


@contextlib.contextmanager
def embedded_aws() -> Iterator[EmbeddedAws]:
    teach_moto()
    server = make_server("127.0.0.1", 0, _OneAtATime(), threaded=True)
    host, port = server.server_address[:2]
    url = f"http://{host!s}:{port}"
    with serving(server, "aws-emulator"):
        _run_nothing_in_docker(url)
        yield EmbeddedAws(url)


if __name__ == "__main__":
    main()
