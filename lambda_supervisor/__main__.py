"""`python -m lambda_supervisor batch` (a Batch job's entry point), `... lambda` (the Lambda runtime loop)
or `... invoke` (one local invocation). The self-contained executable `scar-supervisor` takes the same
commands."""

import sys

# The self-contained executable (PyInstaller sets sys.frozen) goes by its own name.
PROGRAM = "scar-supervisor" if getattr(sys, "frozen", False) else "python -m lambda_supervisor"
USAGE = f"usage: {PROGRAM} {{batch | lambda | invoke [--timeout S] [--request-id ID] [--result FILE] < event}}"

command = sys.argv[1] if len(sys.argv) > 1 else ""
if command == "batch":
    from lambda_supervisor.batch import main as batch_main

    sys.exit(batch_main())
elif command == "lambda":
    from lambda_supervisor.runtime import main as runtime_main

    sys.exit(runtime_main())
elif command == "invoke":
    from lambda_supervisor.invoke import main as invoke_main

    sys.exit(invoke_main(sys.argv[2:]))
else:
    print(USAGE, file=sys.stderr)
    sys.exit(2)
