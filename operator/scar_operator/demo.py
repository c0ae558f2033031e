"""`scar-operator demo`: SCAR's video pipeline end to end on one machine, with no cluster and no cloud.

Everything real except the two emulators: the operator runs under kopf against the API emulator,
talks to a moto server over HTTP, and the local runtime runs the supervisor, the dispatcher and
the Batch jobs on the host exactly as they would run in AWS (without pulling the images).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import yaml
from kubernetes import client, config

from scar_operator import GROUP, VERSION, crdgen
from scar_operator.local.aws_emulator import embedded_aws
from scar_operator.local.kube_emulator import EmulatedCluster
from scar_operator.local.operator_process import OperatorProcess
from scar_operator.local.runtime import LocalRuntime, Run
from scar_operator.local.sample_video import make_video
from scar_operator.local.tools import tool_directory

EXAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "video-process"
NAMESPACE = "scar-demo"
BUCKET = "scar-video"
REGION = "us-east-1"
PLURALS = {"ScarFunction": "scarfunctions", "ScarBatchJob": "scarbatchjobs"}
T = TypeVar("T")


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")


class Demo:
    def __init__(self, workdir: Path, output_dir: Path, video_seconds: int) -> None:
        self.workdir = workdir
        self.output_dir = output_dir
        self.video_seconds = video_seconds

    def run(self) -> None:
        with contextlib.ExitStack() as stack:
            aws = stack.enter_context(embedded_aws())
            self.aws_env = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo", "AWS_SESSION_TOKEN": "demo",
                            "AWS_ENDPOINT_URL": aws.url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
            say(f"AWS emulator (moto) at {aws.url}")
            cluster = stack.enter_context(EmulatedCluster(self.workdir / "kubeconfig"))
            say(f"Kubernetes API emulator at {cluster.url}")
            api = config.new_client_from_config(str(cluster.kubeconfig_path))  # type: ignore[no-untyped-call]
            # The client's models are typed, its dict-accepting calls are not: plain dicts go through Any.
            self.custom: Any = client.CustomObjectsApi(api)
            self._install(api)
            operator = OperatorProcess(kubeconfig=cluster.kubeconfig_path, namespace=NAMESPACE,
                                       aws_env=self.aws_env, log_path=self.workdir / "operator.log").start()
            stack.callback(operator.stop)
            say(f"operator running under kopf (log: {operator.log_path})")
            objects = self._apply()
            for kind, name in objects:
                self._wait_ready(kind, name)
            runtime = LocalRuntime(aws_env=self.aws_env, tool_dirs=[tool_directory(self.workdir / "bin")],
                                   on_run=self._report).start()
            stack.callback(runtime.stop)
            say("local runtime watching the S3 triggers the operator configured")
            frames = self._upload_and_wait(runtime)
            self._list_and_download(frames)
            self._delete(objects)
        say(f"done: the analysed frames are in {self.output_dir}")

    # --- steps ---

    def _install(self, api: client.ApiClient) -> None:
        extensions: Any = client.ApiextensionsV1Api(api)
        core: Any = client.CoreV1Api(api)
        for info in crdgen.KINDS:
            extensions.create_custom_resource_definition(crdgen.custom_resource_definition(info))
        core.create_namespace({"metadata": {"name": NAMESPACE}})
        say(f"CRDs installed: {', '.join(i.crd_name for i in crdgen.KINDS)}; namespace {NAMESPACE}")

    def _apply(self) -> list[tuple[str, str]]:
        if not EXAMPLE.is_dir():
            raise FileNotFoundError(f"{EXAMPLE} is missing: run the demo from a clone of the repository")
        applied = []
        for path in sorted(EXAMPLE.glob("*.yaml")):  # the Kustomization file has no .yaml suffix
            body = yaml.safe_load(path.read_text())
            self.custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[body["kind"]], body)
            applied.append((body["kind"], body["metadata"]["name"]))
            say(f"kubectl apply -f {path.relative_to(EXAMPLE.parents[2])}: {body['kind']} {body['metadata']['name']}")
        return applied

    def _get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, NAMESPACE, PLURALS[kind], name)
            return found
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise

    def _wait_ready(self, kind: str, name: str) -> None:
        last = ""

        def ready() -> dict[str, Any] | None:
            nonlocal last
            obj = self._get(kind, name) or {}
            conditions = {c["type"]: c for c in (obj.get("status") or {}).get("conditions", [])}
            now = conditions.get("Ready", {})
            # Before the operator's first status write there is no condition yet: say so.
            line = ": ".join(filter(None, [now.get("reason", "waiting for the operator"), now.get("message")]))
            if line != last:
                print(f"    {kind} {name}: {line}", flush=True)
                last = line
            if conditions.get("Stalled", {}).get("status") == "True":
                raise RuntimeError(f"{kind} {name} is Stalled: {conditions['Stalled'].get('message')}")
            return obj if now.get("status") == "True" else None

        status = poll(ready, timeout=120, what=f"{kind} {name} to be Ready")["status"]
        aws_side = status.get("functionArn") or status.get("jobQueueArn")
        say(f"{kind} {name} is Ready ({aws_side})")

    def _report(self, run: Run) -> None:
        outcome = "ok" if run.succeeded else "FAILED"
        what = "Batch job" if run.kind == "batch" else "Lambda"
        print(f"    {what} {run.name} on {run.input}: {outcome} in {run.seconds:.1f}s"
              + (f"\n      {run.detail}" if run.detail else ""), flush=True)

    def _client(self, service: str) -> Any:
        session = boto3.Session(aws_access_key_id=self.aws_env["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=self.aws_env["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
        return session.client(service, endpoint_url=self.aws_env["AWS_ENDPOINT_URL"])  # type: ignore[call-overload]

    def _s3(self) -> Any:
        return self._client("s3")

    def _keys(self, prefix: str) -> list[dict[str, Any]]:
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return [o for page in pages for o in page.get("Contents", [])]

    def _upload_and_wait(self, runtime: LocalRuntime) -> list[str]:
        video = make_video(self.workdir / "seq1.avi", self.video_seconds)
        self._s3().upload_file(str(video), BUCKET, "input/seq1.avi")
        say(f"uploaded a {self.video_seconds}-second video ({video.stat().st_size} bytes) to "
            f"s3://{BUCKET}/input/seq1.avi")
        def split_finished() -> list[Run] | None:
            failed = [r for r in runtime.runs if not r.succeeded]
            if failed:
                raise RuntimeError(f"{failed[0].name} failed: {failed[0].detail}")
            return [r for r in runtime.runs if r.kind == "batch"] or None

        poll(split_finished, timeout=180, what="the Batch job to split the video")
        frames = sorted(o["Key"] for o in self._keys("split-images/"))
        say(f"the Batch job wrote {len(frames)} frames; analysing each one")

        def analysed() -> list[str] | None:
            failed = [r for r in runtime.runs if not r.succeeded]
            if failed:
                raise RuntimeError(f"{failed[0].name} failed on {failed[0].input}: {failed[0].detail}")
            outs = [o["Key"] for o in self._keys("output/") if o["Key"].endswith(".out")]
            return outs if len(outs) >= len(frames) else None

        poll(analysed, timeout=300, what=f"{len(frames)} frames to be analysed")
        poll(runtime.idle, timeout=60, what="the last invocations to finish")
        return frames

    def _list_and_download(self, frames: list[str]) -> None:
        say(f"scar ls -b {BUCKET} -p output/")
        outputs = self._keys("output/")
        for obj in sorted(outputs, key=lambda o: str(o["Key"])):
            print(f"    {obj['Key']}  ({obj['Size']} bytes)")
        s3 = self._s3()
        for obj in outputs:
            target = self.output_dir / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(BUCKET, obj["Key"], str(target))
        first = sorted(self.output_dir.rglob("*.out"))[0]
        say(f"downloaded {len(outputs)} files to {self.output_dir}; {first.name} says:")
        print("    " + first.read_text().replace("\n", "\n    ").rstrip(), flush=True)

    def _delete(self, objects: list[tuple[str, str]]) -> None:
        for kind, name in objects:
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURALS[kind], name)
            say(f"kubectl delete {PLURALS[kind]} {name}")
        for kind, name in objects:
            poll(lambda k=kind, n=name: self._get(k, n) is None, timeout=120,  # type: ignore[misc]
                 what=f"{kind} {name} to be torn down")
        functions = self._client("lambda").list_functions()["Functions"]
        batch = self._client("batch")
        environments = batch.describe_compute_environments()["computeEnvironments"]
        queues = batch.describe_job_queues()["jobQueues"]
        definitions = batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]
        roles = self._client("iam").list_roles(PathPrefix="/scar/")["Roles"]
        notifications = self._s3().get_bucket_notification_configuration(Bucket=BUCKET)
        say(f"AWS side after delete: {len(functions)} Lambda functions, {len(environments)} compute environments, "
            f"{len(queues)} job queues, {len(definitions)} active job definitions, {len(roles)} managed roles, "
            f"{len(notifications.get('LambdaFunctionConfigurations', []))} bucket triggers")
        kept = {p: len(self._keys(p)) for p in ("input/", "split-images/", "output/")}
        held = ", ".join(f"{n} under {p}" for p, n in kept.items())
        say(f"the bucket and its data stay: s3://{BUCKET} holds {held}")
        if functions or environments or queues or definitions or roles:
            raise RuntimeError("something was left behind in AWS")


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
    else:
        with tempfile.TemporaryDirectory(prefix="scar-demo-") as directory:
            yield Path(directory)


def run_demo(output_dir: Path, video_seconds: int = 5, workdir: Path | None = None) -> int:
    with _workdir(workdir) as directory:
        Demo(directory, output_dir.resolve(), video_seconds).run()
    return 0
