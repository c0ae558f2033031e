"""boto3 clients from the standard configuration (AWS_ENDPOINT_URL, AWS_REGION, the credentials chain)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from scar_operator.aws.errors import call

# botocore's "standard" mode retries throttling and transient errors with jittered backoff;
# what still fails after that reaches the reconciler, which requeues through kopf.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, user_agent_extra="scar-operator")


class AwsClients:
    """boto3 clients per (service, region), created once and shared across kopf's worker threads."""

    def __init__(self, default_region: str | None = None, session: boto3.Session | None = None) -> None:
        self._session = session or boto3.Session()
        self.default_region = default_region or self._session.region_name or "us-east-1"
        self._clients: dict[tuple[str, str], Any] = {}
        self._accounts: dict[str, str] = {}
        # boto3 sessions are not thread-safe for creating clients; the clients themselves are.
        self._lock = threading.Lock()
        # Held across GetCallerIdentity, so that kopf's worker threads ask once per region, not once each.
        self._accounts_lock = threading.Lock()

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(  # type: ignore[call-overload]
                    service, region_name=key[1], config=_CLIENT_CONFIG
                )
            return self._clients[key]

    def account_id(self, region: str | None = None) -> str:
        region = region or self.default_region
        with self._accounts_lock:
            if region not in self._accounts:
                sts = self.client("sts", region)
                identity = call("GetCallerIdentity", sts.get_caller_identity)
                self._accounts[region] = str(identity["Account"])
            return self._accounts[region]

    def partition(self, region: str | None = None) -> str:
        region = region or self.default_region
        if region.startswith("cn-"):
            return "aws-cn"
        if region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"
