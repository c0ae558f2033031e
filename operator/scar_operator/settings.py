"""The operator's own settings, from its environment (12-factor, as a Deployment sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorSettings:
    # How often every object is re-observed to correct drift and refresh status.
    resync_seconds: float = 300.0
    # A pass that paused while AWS settles (Pending, InProgress) comes back after the first delay,
    # then twice as late each time, up to settle_seconds.
    settle_first_seconds: float = 0.1
    settle_seconds: float = 2.0
    # How long one pass polls, itself, for AWS to settle what it just wrote before handing the
    # object back to kopf: most settling (a Lambda update, a function becoming Active on most
    # images) ends within it, and the object is Ready without another whole pass.
    settle_inline_seconds: float = 2.0
    # Delay before retrying after throttling or a conflict; kopf backs off from here.
    retry_seconds: float = 10.0
    # First delay after an account quota refused a create (Batch's 50 queues, IAM's roles): room
    # comes from people and other tools, not seconds, so it is looked for slowly (doubling to 300 s).
    quota_retry_seconds: float = 60.0
    # How often a pass waiting on what takes minutes (jobs to end in a queue that is to go) looks again.
    long_wait_seconds: float = 60.0
    # Distinguishes installations that share an AWS account (part of every derived name).
    cluster_id: str = ""
    default_region: str | None = None
    # Passes run at once (kopf's thread pool). A pass waiting for the rate limiter, or for its turn
    # at a shared bucket's configuration, holds a worker: enough of them keep every API class busy
    # while another is the bottleneck (a bulk delete of 1,000 took 82 s with 32, 53 to 61 s with 64).
    workers: int = 64
    # Requests to the Kubernetes API in flight at once, watches aside (kube_connections.py): each
    # holds a TLS connection and its buffers, and a real API server answers a status write in
    # milliseconds, so a few keep up with thousands of objects.
    kube_requests: int = 16
    # Where /metrics is served (0: not served).
    metrics_port: int = 0
    # What drifts only by hand and rarely (IAM role policies, log retention) is re-read after
    # this long (default: every 4th resync pass) instead of on every pass.
    slow_drift_seconds: float = 1200.0
    # Client-side rate limits: overrides of AWS's quotas ("lambda:GetFunction=50,iam=5"), and the
    # share of each rate this operator may use (the rest is left to the account's other tools).
    aws_rates: str = ""
    aws_rate_share: float = 1.0
    # A namespace that no ScarAccount selects is refused (many teams) rather than served with the
    # operator's own identity and no guardrails (one team).
    require_account: bool = False
    # Runs over what is already under the inputs: one chunk of objects per tick of this interval,
    # dispatched this many at a time.
    existing_tick_seconds: float = 1.0
    existing_chunk: int = 25
    existing_workers: int = 4
    # Objects per page of the listing kopf makes at start (memory at a restart grows with it).
    list_chunk: int = 100
    # The most vCPUs one compute pool grows to from its members' maxVcpus (batchjob/pool.py); a
    # member asking for more than this alone still gets its own maxVcpus.
    batch_pool_max_vcpus: int = 256
    # Where the self-contained supervisor executables are, one per platform
    # (<dir>/amd64/scar-supervisor, <dir>/arm64/...): what an assembled image gets (images/).
    supervisor_dir: str = "/opt/scar/supervisor"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if environ is None else environ)
        resync = float(env.get("SCAR_RESYNC_SECONDS", cls.resync_seconds))
        return cls(
            resync_seconds=resync,
            slow_drift_seconds=float(env.get("SCAR_SLOW_DRIFT_SECONDS", 4 * resync)),
            settle_first_seconds=float(env.get("SCAR_SETTLE_FIRST_SECONDS", cls.settle_first_seconds)),
            settle_seconds=float(env.get("SCAR_SETTLE_SECONDS", cls.settle_seconds)),
            settle_inline_seconds=float(env.get("SCAR_SETTLE_INLINE_SECONDS", cls.settle_inline_seconds)),
            retry_seconds=float(env.get("SCAR_RETRY_SECONDS", cls.retry_seconds)),
            quota_retry_seconds=float(env.get("SCAR_QUOTA_RETRY_SECONDS", cls.quota_retry_seconds)),
            long_wait_seconds=float(env.get("SCAR_LONG_WAIT_SECONDS", cls.long_wait_seconds)),
            cluster_id=env.get("SCAR_CLUSTER_ID", ""),
            metrics_port=int(env.get("SCAR_METRICS_PORT", cls.metrics_port)),
            workers=int(env.get("SCAR_WORKERS", cls.workers)),
            kube_requests=int(env.get("SCAR_KUBE_REQUESTS", cls.kube_requests)),
            aws_rates=env.get("SCAR_AWS_RATES", ""),
            aws_rate_share=float(env.get("SCAR_AWS_RATE_SHARE", cls.aws_rate_share)),
            require_account=env.get("SCAR_REQUIRE_ACCOUNT", "").lower() in ("1", "true", "yes"),
            existing_tick_seconds=float(env.get("SCAR_EXISTING_TICK_SECONDS", cls.existing_tick_seconds)),
            existing_chunk=int(env.get("SCAR_EXISTING_CHUNK", cls.existing_chunk)),
            existing_workers=int(env.get("SCAR_EXISTING_WORKERS", cls.existing_workers)),
            list_chunk=int(env.get("SCAR_LIST_CHUNK", cls.list_chunk)),
            batch_pool_max_vcpus=int(env.get("SCAR_BATCH_POOL_MAX_VCPUS", cls.batch_pool_max_vcpus)),
            supervisor_dir=env.get("SCAR_SUPERVISOR_DIR", cls.supervisor_dir),
            default_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        )
