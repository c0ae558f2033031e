"""The operator log at the level each line deserves.

kopf logs every `TemporaryError` as `ERROR ... failed temporarily` (kopf has no quiet retry), so
a log that waits for AWS to settle would read as a stream of errors. The handlers start the
message of each retry with what it is; this filter re-levels kopf's line from that: waiting while
AWS settles is INFO (normal work), a retried AWS error (throttled, conflict) is WARNING, and
anything else stays as kopf logged it.
"""

from __future__ import annotations

import logging

SETTLING = "AWS is settling: "
RETRYING = "retrying after an AWS error: "
_KOPF_RETRY = " failed temporarily: "
# kopf says "Handler '...' succeeded." on every event of every namespace, ScarAccount and
# ScarBatchJob for the handlers that only watch (for a change of tenancy, for a compute pool's
# members); what they did is logged by themselves.
_QUIET_SUCCESSES = ("Handler 'namespace_tenancy' succeeded.", "Handler 'account_tenancy' succeeded.",
                    "Handler 'batch_job_pools' succeeded.")


class RetryLevels(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in _QUIET_SUCCESSES:
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        if _KOPF_RETRY in message:
            said = message.split(_KOPF_RETRY, 1)[1]
            if said.startswith(SETTLING):
                record.levelno, record.levelname = logging.INFO, "INFO"
            elif said.startswith(RETRYING):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install() -> None:
    """On kopf's per-object logger, where its handler outcomes are logged."""
    logger = logging.getLogger("kopf.objects")
    if not any(isinstance(f, RetryLevels) for f in logger.filters):
        logger.addFilter(RetryLevels())
