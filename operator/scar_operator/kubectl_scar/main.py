"""`kubectl scar` (the `kubectl-scar` console script): SCAR's everyday commands, by function name.

    kubectl scar put NAME FILE...       upload to the function's input
    kubectl scar ls NAME [--json]       the outputs, by request id
    kubectl scar get NAME [-o DIR]      download the outputs
    kubectl scar logs NAME [--follow]   the function's (or the Batch jobs') logs
    kubectl scar invoke NAME FILE       run the function on one file now
    kubectl scar invoke NAME [FILE] --http [-o OUT]   post to the function's URL, write the answer
    kubectl scar run NAME [--prefix P]  process what is already under the input, each object once
    kubectl scar convert -f SCAR.yaml   a SCAR definition as manifests
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from scar_operator.kubectl_scar.accounts import session_for
from scar_operator.kubectl_scar.errors import EXIT_ERROR, UserError
from scar_operator.kubectl_scar.targets import Location, Target, find, load_kube


def _aws(service: str, target: Target) -> Any:
    return session_for(target.role, target.region).client(service)


def _target(args: argparse.Namespace) -> Target:
    api, namespace = load_kube(args.context)
    return find(api, args.namespace or namespace, args.name, use_account=not args.no_account)


def _scar_location(value: str) -> Location:
    """SCAR's `-b bucket/folder`."""
    bucket, _, prefix = value.strip("/").partition("/")
    return Location(bucket, f"{prefix}/" if prefix else "")


def _put(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.data import put

    target = _target(args)
    location = _scar_location(args.bucket) if args.bucket else target.first_input()
    files = [Path(p) for p in [*args.files, *([args.path] if args.path else [])]]
    if not files:
        raise UserError("put: name at least one FILE (or -p PATH)")
    for uri in put(_aws("s3", target), location, files):
        print(uri)
        if not uri.endswith(location.suffix):  # uploaded all the same: the user may mean to store it
            print(f"kubectl scar put: note: {uri} does not end in {location.suffix!r}, so it does not trigger "
                  f"{target.kind} {target.name}", file=sys.stderr)
    return 0


def _ls(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.data import listing, print_listing

    target = _target(args)
    outputs = [_scar_location(args.bucket)] if args.bucket else target.outputs_or_fail()
    print_listing(listing(_aws("s3", target), outputs, target.layout, args.request_id), args.json)
    return 0


def _get(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.data import get

    target = _target(args)
    outputs = [_scar_location(args.bucket)] if args.bucket else target.outputs_or_fail()
    directory = Path(args.output or args.path or ".")
    written = get(_aws("s3", target), outputs, target.layout, directory, args.request_id)
    print(f"{len(written)} files in {directory}", file=sys.stderr)
    return 0


def _logs(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.logs import print_logs

    target = _target(args)
    with contextlib.suppress(KeyboardInterrupt):  # --follow ends with Ctrl-C
        print_logs(_aws("logs", target), target, args.request_id, args.follow)
    return 0


def _invoke(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.http:
        from scar_operator.kubectl_scar.http_invoke import invoke_http

        file = Path(args.file) if args.file else None
        if args.output:
            with open(args.output, "wb") as out:
                return invoke_http(session_for(target.role, target.region), target, file, out)
        return invoke_http(session_for(target.role, target.region), target, file)
    from scar_operator.kubectl_scar.invoke import invoke

    if not args.file:
        raise UserError("invoke: name the FILE to run the function on (or use --http)")
    return invoke(_aws("s3", target), _aws("lambda", target), target, Path(args.file))


def _run(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.run import follow, request_run, status_reader

    api, namespace = load_kube(args.context)
    target = find(api, args.namespace or namespace, args.name, use_account=False)
    run_id = request_run(api, target, args.prefix)
    print(f"kubectl scar run: run {run_id} asked of {target.kind} {target.namespace}/{target.name}", file=sys.stderr)
    if args.no_wait:
        return 0
    try:
        done = follow(status_reader(api, target), run_id, args.timeout)
    except KeyboardInterrupt:
        print("kubectl scar run: stopped watching; the run goes on (status.existingObjects)", file=sys.stderr)
        return 130
    print(f"{done.get('dispatched', 0)} of {done.get('total', 0)} objects dispatched, {done.get('failed', 0)} refused"
          + (f" (last: {done['message']})" if done.get("message") else ""))
    return 1 if done.get("failed") else 0


def _convert(args: argparse.Namespace) -> int:
    from scar_operator.kubectl_scar.convert import convert, render, spec_problems

    conversion = convert(Path(args.file))
    for note in conversion.dropped:
        print(f"kubectl scar convert: not carried over: {note}", file=sys.stderr)
    problems = spec_problems(conversion)
    if problems:
        # Nothing on stdout: `convert | kubectl apply -f -` must not apply what would be refused.
        raise UserError("convert: the definition needs an edit first: " + "; ".join(problems))
    sys.stdout.write(render(conversion))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubectl scar", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Any, help_text: str, needs_name: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        if needs_name:
            sub.add_argument("name", help="the ScarFunction or ScarBatchJob")
            sub.add_argument("-n", "--namespace", help="default: the context's namespace")
            sub.add_argument("--context", help="kubeconfig context; default: the current one")
            sub.add_argument("--no-account", action="store_true",
                             help="act with your own AWS credentials, not the role of the namespace's ScarAccount")
        sub.set_defaults(handler=handler)
        return sub

    put = command("put", _put, "upload files (or a directory) to the function's input")
    put.add_argument("files", nargs="*")
    put.add_argument("-p", "--path", help="SCAR-style: the file to upload")
    put.add_argument("-b", "--bucket", help="SCAR-style bucket/folder instead of the function's input")

    ls = command("ls", _ls, "list the outputs, grouped by request id")
    ls.add_argument("--json", action="store_true")
    ls.add_argument("--request-id")
    ls.add_argument("-b", "--bucket", help="SCAR-style bucket/folder instead of the function's outputs")

    get = command("get", _get, "download the outputs, keeping their folders")
    get.add_argument("-o", "--output", help="directory (default: the current one)")
    get.add_argument("-p", "--path", help="SCAR-style: the directory")
    get.add_argument("--request-id")
    get.add_argument("-b", "--bucket", help="SCAR-style bucket/folder instead of the function's outputs")

    logs = command("logs", _logs, "the function's CloudWatch logs (a ScarBatchJob's: its jobs')")
    logs.add_argument("--request-id")
    logs.add_argument("-f", "--follow", action="store_true")

    inv = command("invoke", _invoke, "upload one file and run the function on it now (--http: through its URL)")
    inv.add_argument("file", nargs="?")
    inv.add_argument("--http", action="store_true",
                     help="send FILE in an HTTP request to the function's URL (GET without FILE); print the answer")
    inv.add_argument("-o", "--output", help="with --http: write the answer here instead of stdout")

    run = command("run", _run, "process the objects already under the input, each once (the operator does it)")
    run.add_argument("--prefix", help="only keys under this prefix (under, or relative to, the input's prefix)")
    run.add_argument("--no-wait", action="store_true", help="ask for the run and return")
    run.add_argument("--timeout", type=float, default=3600, help="seconds to follow the run (default 3600)")

    conv = command("convert", _convert, "print a SCAR definition as ScarFunction / ScarBatchJob manifests",
                   needs_name=False)
    conv.add_argument("-f", "--file", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except UserError as e:
        print(f"kubectl scar: {e}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except SystemExit:
        raise
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
