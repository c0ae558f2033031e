"""`python -m lambda_supervisor invoke`: one Lambda-like invocation of the handler, outside Lambda.

The local runtime (and anyone debugging an image) runs the real handler with the function's real
environment: the event comes on stdin, the context carries a request id and a deadline derived
from the function's timeout, exactly what the Lambda runtime would pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lambda_supervisor.handler import lambda_handler
from lambda_supervisor.supervisor import ScriptFailedError


@dataclass
class InvocationContext:
    """The part of the Lambda context object that the handler uses."""

    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.started + self.timeout_seconds - time.monotonic()) * 1000), 0)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lambda_supervisor invoke")
    parser.add_argument("--timeout", type=float, default=300.0, help="the function's timeout, in seconds")
    parser.add_argument("--request-id", default=None)
    parser.add_argument("--function-name", default="local")
    parser.add_argument("--result", type=Path, default=None, help="write the handler's result (JSON) here")
    args = parser.parse_args(argv)

    event = json.load(sys.stdin)
    context = InvocationContext(args.timeout, function_name=args.function_name)
    if args.request_id:
        context.aws_request_id = args.request_id
    try:
        result = lambda_handler(event, context)
    except ScriptFailedError as e:
        # What the Lambda runtime reports as the invocation's error.
        error = {"errorType": type(e).__name__, "errorMessage": str(e), "requestId": context.aws_request_id}
        if args.result:
            args.result.write_text(json.dumps(error))
        print(f"scar: {e}", file=sys.stderr)
        return 1
    if args.result:
        args.result.write_text(json.dumps(result))
    return 0
