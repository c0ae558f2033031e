"""The embedded AWS: a moto server on loopback, for the tests and the demo.

Two things are set on top of plain moto, both to make it behave like AWS where it matters here:
- nothing runs in Docker (there is none): moto records Lambda invocations and Batch jobs, S3
  notifications invoke nothing, and the local runtime runs all of it on the host;
- AWS Batch is as strict as AWS about order and updates: a job queue must be DISABLED before it is
  deleted, a compute environment DISABLED and no longer used by any queue, and an update of a
  compute environment's resources takes effect (moto ignores it, which would hide drift forever).
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.batch import models as batch_models
from moto.batch.exceptions import ClientException
from moto.s3 import notifications as s3_notifications
from moto.server import ThreadedMotoServer

_patch_lock = threading.Lock()
_patched = False


@dataclass(frozen=True)
class EmbeddedAws:
    url: str


def _teach_moto() -> None:
    """Patch moto once per process: AWS Batch's ordering rules, and no Docker behind S3 notifications."""
    global _patched
    with _patch_lock:
        if _patched:
            return
        backend: Any = batch_models.BatchBackend
        delete_queue = backend.delete_job_queue
        delete_environment = backend.delete_compute_environment
        update_environment = backend.update_compute_environment

        def delete_job_queue(self: Any, queue_name: str) -> None:
            queue = self.get_job_queue(queue_name)
            if queue is not None and queue.state != "DISABLED":
                raise ClientException(f"Job queue {queue_name} must be DISABLED before it can be deleted")
            delete_queue(self, queue_name)

        def delete_compute_environment(self: Any, compute_environment_name: str) -> None:
            name = compute_environment_name
            environment = self.get_compute_environment(name)
            if environment is not None:
                if environment.state != "DISABLED":
                    raise ClientException(f"Compute environment {name} must be DISABLED before it can be deleted")
                for queue in self._job_queues.values():
                    if any(e.arn == environment.arn for e in queue.environments):
                        raise ClientException(
                            f"Cannot delete, found existing JobQueue relationship for compute environment {name}"
                        )
            delete_environment(self, name)

        def update_compute_environment(self: Any, compute_environment_name: str, state: str | None,
                                       compute_resources: Any | None, service_role: str | None) -> tuple[str, str]:
            result: tuple[str, str] = update_environment(
                self, compute_environment_name=compute_environment_name, state=state,
                compute_resources=compute_resources, service_role=service_role)
            environment = self.get_compute_environment(compute_environment_name)
            if compute_resources and environment is not None:
                environment.compute_resources = {**environment.compute_resources, **compute_resources}
            return result

        # An S3 notification would make moto start a container for the function (and fail, loudly).
        s3_notifications._invoke_awslambda = lambda *args, **kwargs: None

        backend.delete_job_queue = delete_job_queue
        backend.delete_compute_environment = delete_compute_environment
        backend.update_compute_environment = update_compute_environment
        _patched = True


def _run_nothing_in_docker(url: str) -> None:
    body = json.dumps({"batch": {"use_docker": False}, "lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL built above)
        f"{url}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


@contextlib.contextmanager
def embedded_aws() -> Iterator[EmbeddedAws]:
    _teach_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        _run_nothing_in_docker(url)
        yield EmbeddedAws(url)
    finally:
        server.stop()
