"""The AWS the tests use: a moto server on loopback, started by the tests, with the proxy in front."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from tests.harness.aws_proxy import AwsProxy

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass
class EmulatedAws:
    moto_url: str
    proxy: AwsProxy

    def operator_env(self) -> dict[str, str]:
        """What the operator process gets: the standard variables boto3 reads, pointing at the proxy."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.proxy.url, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION}

    def client(self, service: str) -> Any:
        """A client for the test's own look-ups, straight to moto (not recorded by the proxy)."""
        return boto3.client(
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )


def run_nothing_in_docker(moto_url: str) -> None:
    """There is no Docker engine here: moto records Lambda invocations and Batch jobs without running them.

    Without this, moto tries to start a container for every S3 notification and submitted job.
    """
    body = json.dumps({"batch": {"use_docker": False}, "lambda": {"use_docker": False}}).encode()
    request = urllib.request.Request(  # noqa: S310 (a loopback http URL we built)
        f"{moto_url}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


@contextlib.contextmanager
def emulated_aws() -> Iterator[EmulatedAws]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    run_nothing_in_docker(f"http://{host}:{port}")
    proxy = AwsProxy(host, port).start()
    try:
        yield EmulatedAws(moto_url=f"http://{host}:{port}", proxy=proxy)
    finally:
        proxy.stop()
        server.stop()
