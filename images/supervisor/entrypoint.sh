#!/bin/sh
# One image, two runtimes: Lambda (the runtime API is set) or a plain command (AWS Batch).
set -eu
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
    exec python3 -m awslambdaric "$@"
fi
exec "$@"
