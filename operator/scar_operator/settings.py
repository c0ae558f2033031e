"""The operator's own settings, from its environment (12-factor, as a Deployment sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class OperatorSettings:
    # How often every object is re-observed to correct drift and refresh status.
    resync_seconds: float = 300.0
    # Delay before re-running a pass that paused while AWS settles (Pending, InProgress).
    settle_seconds: float = 2.0
    # Delay before retrying after throttling or a conflict; kopf backs off from here.
    retry_seconds: float = 10.0
    # Distinguishes installations that share an AWS account (part of every derived name).
    cluster_id: str = ""
    default_region: str | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> OperatorSettings:
        env = dict(os.environ if environ is None else environ)
        return cls(
            resync_seconds=float(env.get("SCAR_RESYNC_SECONDS", cls.resync_seconds)),
            settle_seconds=float(env.get("SCAR_SETTLE_SECONDS", cls.settle_seconds)),
            retry_seconds=float(env.get("SCAR_RETRY_SECONDS", cls.retry_seconds)),
            cluster_id=env.get("SCAR_CLUSTER_ID", ""),
            default_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        )
