"""`python -m lambda_supervisor batch` (a Batch job's entry point) or `... invoke` (one local invocation)."""

import sys

USAGE = "usage: python -m lambda_supervisor {batch | invoke [--timeout S] [--request-id ID] [--result FILE] < event}"

command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "batch":
    from lambda_supervisor.batch import main as batch_main

    sys.exit(batch_main())
elif command == "invoke":
    from lambda_supervisor.invoke import main as invoke_main

    sys.exit(invoke_main(sys.argv[2:]))
else:
    print(USAGE, file=sys.stderr)
    sys.exit(2)
