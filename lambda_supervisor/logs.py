"""One structured JSON line per phase, so CloudWatch Logs Insights can query them."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("lambda_supervisor")


def configure(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    logging.getLogger("lambda_supervisor").setLevel(level.upper())


def phase(name: str, request_id: str, **fields: Any) -> None:
    _logger.info(json.dumps({"phase": name, "requestId": request_id, **fields}, default=str, ensure_ascii=False))
