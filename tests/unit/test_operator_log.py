"""The operator's log: waiting for AWS is normal work, and the account is asked for once."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from scar_operator import log_levels
from scar_operator.aws.session import AwsClients


def kopf_retry_line(said: str) -> logging.LogRecord:
    # What kopf logs for every TemporaryError, at ERROR, on its per-object logger.
    return logging.LogRecord("kopf.objects", logging.ERROR, __file__, 1,
                             f"Handler 'function_changed' failed temporarily: {said}", None, None)


@pytest.mark.parametrize(("said", "level"), [
    (log_levels.SETTLING + "Lambda function f: function is Pending", "INFO"),
    (log_levels.RETRYING + "ThrottlingException: Rate exceeded", "WARNING"),
    ("something nobody foresaw", "ERROR"),
])
def test_kopfs_retry_lines_are_re_levelled_by_what_they_are(said: str, level: str) -> None:
    record = kopf_retry_line(said)
    assert log_levels.RetryLevels().filter(record) is True
    assert record.levelname == level


def test_the_tenancy_watch_does_not_log_every_namespace_event() -> None:
    record = logging.LogRecord("kopf.objects", logging.INFO, __file__, 1, "Handler 'namespace_tenancy' succeeded.",
                               None, None)
    logger = logging.getLogger("kopf.objects")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        assert log_levels.RetryLevels().filter(record) is False
    finally:
        logger.setLevel(level)


class CountingSts:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        # The answer comes only once every worker has started: the window in which they would all ask.
        self.answer = threading.Event()

    def get_caller_identity(self) -> dict[str, str]:
        with self._lock:
            self.calls += 1
        self.answer.wait(timeout=10)
        return {"Account": "123456789012"}


class FakeSession:
    region_name = "us-east-1"

    def __init__(self) -> None:
        self.sts = CountingSts()

    def client(self, service: str, **_: Any) -> Any:
        return self.sts


def test_the_account_is_asked_for_once_per_region_however_many_workers_ask() -> None:
    session = FakeSession()
    clients = AwsClients(session=session)  # type: ignore[arg-type]
    workers = [threading.Thread(target=clients.account_id) for _ in range(8)]
    for worker in workers:
        worker.start()
    session.sts.answer.set()
    for worker in workers:
        worker.join()
    assert session.sts.calls == 1
    clients.account_id("eu-west-1")
    assert session.sts.calls == 2
