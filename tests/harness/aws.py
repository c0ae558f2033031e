"""The AWS the tests use: a moto server on loopback, started by the tests, with the proxy in front."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from scar_operator.local.aws_emulator import aws_in_own_process, embedded_aws

from tests.harness.aws_proxy import AwsProxy

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}


@dataclass
class EmulatedAws:
    moto_url: str
    proxy: AwsProxy
    # moto's process when it runs in one of its own (benchmarks), for its CPU time.
    moto_pid: int | None = None

    def operator_env(self) -> dict[str, str]:
        """What the operator process gets: the standard variables boto3 reads, pointing at the proxy."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.proxy.url, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION}

    def client(self, service: str) -> Any:
        """A client for the test's own look-ups, straight to moto (not recorded by the proxy)."""
        return boto3.client(  # type: ignore[call-overload]  # the service is named at run time
            service,
            endpoint_url=self.moto_url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def client_in(self, account_id: str, service: str) -> Any:
        """A client acting in another account (moto maps an assumed role's credentials to its account)."""
        credentials = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/test-reader",
                                                     RoleSessionName="test")["Credentials"]
        return boto3.client(  # type: ignore[call-overload]  # the service is named at run time
            service, endpoint_url=self.moto_url, region_name=REGION,
            aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )


@contextlib.contextmanager
def emulated_aws(own_process: bool = False, lambda_settle_seconds: float | None = None) -> Iterator[EmulatedAws]:
    """moto with AWS's rules and the recording proxy; in a process of its own for benchmarks
    (tests keep it in theirs, where they can change its rules, e.g. how long Pending lasts)."""
    with (aws_in_own_process(lambda_settle_seconds) if own_process else embedded_aws()) as moto:
        host, port = moto.url.removeprefix("http://").rsplit(":", 1)
        proxy = AwsProxy(host, int(port)).start()
        try:
            yield EmulatedAws(moto_url=moto.url, proxy=proxy, moto_pid=moto.pid)
        finally:
            proxy.stop()
