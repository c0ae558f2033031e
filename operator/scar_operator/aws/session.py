"""boto3 clients from the standard configuration (AWS_ENDPOINT_URL, AWS_REGION, the credentials chain).

Every client paces its calls through the process's rate limiter (each HTTP attempt, retries
included, takes a token of its region, service and API class) and counts each attempt's outcome
in the metrics.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import boto3
from botocore.config import Config

from scar_operator import metrics
from scar_operator.aws import service_models
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call
from scar_operator.aws.rate_limits import RateLimiter

# One attempt per call in botocore: transient errors are retried by errors.call (quick, jittered,
# with no retry quota that gives up); what still fails reaches the reconciler, which requeues.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, user_agent_extra="scar-operator")


class AwsClients:
    """boto3 clients of one AWS identity per (service, region), created once and shared across
    kopf's worker threads, with what belongs to that identity: its rate limiter (AWS's quotas are
    per account), what its reads confirmed, and its account's permissions boundary."""

    def __init__(self, default_region: str | None = None, session: boto3.Session | None = None,
                 limiter: RateLimiter | None = None, slow_drift_seconds: float = 1200.0,
                 permissions_boundary_arn: str | None = None, connections: int = 10) -> None:
        self._session = session or boto3.Session(botocore_session=service_models.botocore_session())
        # One kept-alive connection per thread that may call a service at once: with fewer (botocore
        # keeps 10), the others open a new connection, TLS handshake included, for every call.
        self._config = _CLIENT_CONFIG.merge(Config(max_pool_connections=connections))
        # Set on every role made with these clients (a ScarAccount's guardrail).
        self.permissions_boundary_arn = permissions_boundary_arn
        self.limiter = limiter or RateLimiter()
        # What reads confirmed and cannot drift cheaply (a bucket exists, our tag is on a log group).
        self.facts = ConfirmedFacts()
        # How long a confirmed "in sync" holds for what drifts only by hand and rarely (a role's
        # policies, a log group's retention): re-read every few resync passes, not on each one.
        self.slow_drift_seconds = slow_drift_seconds
        self.default_region = default_region or self._session.region_name or "us-east-1"
        self._clients: dict[tuple[str, str], Any] = {}
        self._accounts: dict[str, str] = {}
        # boto3 sessions are not thread-safe for creating clients; the clients themselves are.
        self._lock = threading.Lock()
        # Held across GetCallerIdentity, so that kopf's worker threads ask once per region, not once each.
        self._accounts_lock = threading.Lock()

    @property
    def session(self) -> boto3.Session:
        return self._session

    def with_boundary(self, permissions_boundary_arn: str | None) -> AwsClients:
        """The same identity under another permissions boundary (a ScarAccount that assumes no
        role): its clients, rate limiter and confirmed facts are these, since AWS counts its calls
        against the same account's quotas."""
        same = copy.copy(self)
        same.permissions_boundary_arn = permissions_boundary_arn
        return same

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            if key not in self._clients:
                made = self._session.client(  # type: ignore[call-overload]
                    service, region_name=key[1], config=self._config
                )
                self._instrument(made, service, key[1])
                self._clients[key] = made
            return self._clients[key]

    def _instrument(self, client: Any, service: str, region: str) -> None:
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:
            return  # a stand-in client of a unit test

        def pace(event_name: str, **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            waited = self.limiter.take(region, service, operation)
            if waited.waited > 0:
                metrics.LIMITER_WAIT.labels(service, waited.api_class, region).inc(waited.waited)

        def count(**kwargs: Any) -> None:
            operation = kwargs.get("operation")
            name = getattr(operation, "name", "unknown")
            metrics.record_attempt(service, name, kwargs.get("response"), kwargs.get("caught_exception"))

        events.register("before-send", pace)
        # First in line: botocore's retry handler answers this event and would stop the chain.
        events.register_first("needs-retry", count)

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
