"""`scar-operator`: run the operator, write the CRDs, or run the seed video pipeline on one machine."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import queue
import sys
from pathlib import Path


def _log_from_one_thread() -> logging.handlers.QueueListener:
    """The root logger's handlers, fed by one thread from a queue.

    Every worker logs what it makes and deletes. Written by the workers themselves, each line
    takes the handler's lock and then writes to the stream, giving up the GIL while it holds
    that lock: at a bulk apply, dozens of workers queued behind one line (py-spy showed 44 of 64
    waiting in `Handler.acquire`). A queue put neither writes nor waits for the stream.
    """
    root = logging.getLogger()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, *root.handlers, respect_handler_level=True)
    root.handlers = [logging.handlers.QueueHandler(records)]
    listener.start()
    return listener


def _run(args: argparse.Namespace) -> int:
    import os

    import kopf

    if args.require_account:
        os.environ["SCAR_REQUIRE_ACCOUNT"] = "true"  # read with the other settings when the handlers load
    import scar_operator.handlers  # noqa: F401  (registers the handlers with kopf)

    if not args.all_namespaces and not args.namespace:
        print("scar-operator run: give --namespace NS (repeatable) or --all-namespaces", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # botocore announces every endpoint and credential lookup at INFO: noise in an operator's log.
    logging.getLogger("botocore").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    listener = _log_from_one_thread()
    try:
        kopf.run(
            clusterwide=args.all_namespaces,
            namespaces=args.namespace or (),
            standalone=args.standalone,
            peering_name=args.peering,
            priority=args.priority,
            liveness_endpoint=args.liveness,
        )
    finally:
        listener.stop()  # what is still queued is written before the process ends
    return 0


def _crds(args: argparse.Namespace) -> int:
    from scar_operator import crdgen

    for path in crdgen.write_all(Path(args.output)):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    try:
        from scar_operator.demo import run_demo
    except ImportError as e:
        print(f"scar-operator demo needs the emulators and the detector: pip install 'scar-operator[local,demo]' ({e})",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    return run_demo(Path(args.output), video_seconds=args.seconds, workdir=Path(args.workdir) if args.workdir else None,
                    account=args.account, any_image=args.any_image)


def _build_supervisor(args: argparse.Namespace) -> int:
    try:
        from scar_operator.images.supervisor_build import build
    except ImportError as e:
        print(f"build-supervisor needs PyInstaller and awslambdaric: pip install "
              f"'scar-operator[supervisor-executable]' ({e})", file=sys.stderr)
        return 2
    print(build(Path(args.output)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scar-operator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the operator (kopf) against the current cluster")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", action="append", help="serve this namespace (repeatable, globs)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="serve the whole cluster")
    run.add_argument("--standalone", action="store_true", help="no peering with other operator replicas")
    run.add_argument("--peering", default=None, help="the peering object's name (with several replicas)")
    run.add_argument("--priority", type=int, default=0, help="peering priority of this replica")
    run.add_argument("--liveness", default=None, help="e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--require-account", action="store_true",
                     help="refuse namespaces that no ScarAccount selects (instead of serving them as the operator)")
    run.add_argument("-v", "--verbose", action="store_true")
    run.set_defaults(handler=_run)

    crds = commands.add_parser("crds", help="write the CustomResourceDefinitions generated from the models")
    crds.add_argument("-o", "--output", default="crds")
    crds.set_defaults(handler=_crds)

    supervisor = commands.add_parser(
        "build-supervisor", help="build the self-contained supervisor executable that assembled images get")
    supervisor.add_argument("-o", "--output", default="/opt/scar/supervisor",
                            help="the folder SCAR_SUPERVISOR_DIR names (the executable goes to <platform>/)")
    supervisor.set_defaults(handler=_build_supervisor)

    demo = commands.add_parser("demo", help="SCAR's video pipeline end to end on emulated AWS and an emulated cluster")
    demo.add_argument("-o", "--output", default="scar-demo-output", help="where the analysed frames are downloaded")
    demo.add_argument("--seconds", type=int, default=5, help="length of the sample video (one frame per second)")
    demo.add_argument("--workdir", default=None, help="keep the operator log, kubeconfig and video here")
    kind = demo.add_mutually_exclusive_group()
    kind.add_argument("--account", action="store_true",
                      help="run as a tenant: a ScarAccount maps the namespace to a role in account 111111111111")
    kind.add_argument("--any-image", action="store_true",
                      help="name the example's images in a registry of their own (plain bases, as SCAR's users name "
                           "Docker Hub images) and let the operator assemble ECR images from them (needs Debian's "
                           "docker-registry)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
