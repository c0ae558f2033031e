"""`scar-supervisor lambda`: the Lambda runtime loop around the handler, for images without Python.

An image the operator assembles from any base (Debian, Ubuntu, distroless...) gets the supervisor
as one self-contained executable, so the runtime interface client has to be inside it too: this
starts AWS's own client (awslambdaric) on the handler, as `python -m awslambdaric` would.
"""

from __future__ import annotations

import os
import sys

# Imported here, not only by name below: the executable's bundler finds modules by their imports.
from lambda_supervisor import handler

HANDLER = f"{handler.__name__}.lambda_handler"
RUNTIME_API_ENV = "AWS_LAMBDA_RUNTIME_API"


def main() -> int:
    address = os.environ.get(RUNTIME_API_ENV)
    if not address:
        print(f"scar: {RUNTIME_API_ENV} is not set: `lambda` runs only inside AWS Lambda (or its emulator)",
              file=sys.stderr)
        return 2
    from awslambdaric import bootstrap

    # Serves invocations until Lambda stops the sandbox; it never returns.
    bootstrap.run(os.getcwd(), HANDLER, address)
    return 0
