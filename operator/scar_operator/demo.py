"""`scar-operator demo`: SCAR's video pipeline end to end on one machine, with no cluster and no cloud.

Everything real except the two emulators: the operator runs under kopf against the API emulator,
talks to a moto server over HTTP, and the local runtime runs the supervisor, the dispatcher and
the Batch jobs on the host exactly as they would run in AWS (without pulling the images).

With `--account` the same pipeline runs as a tenant of a shared operator: a ScarAccount selects
the demo's namespace, every AWS call for it goes through a role of account 111111111111 (moto
keeps each account apart), the operator refuses any namespace no account selects, and the
uploads, downloads and the runtime's invocations act in that account too.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import yaml
from kubernetes import client, config

from scar_operator import GROUP, VERSION, crdgen
from scar_operator.kubectl_scar.http_invoke import invoke_http
from scar_operator.kubectl_scar.targets import Target
from scar_operator.local.aws_emulator import embedded_aws
from scar_operator.local.credentials import assume_role
from scar_operator.local.demo_registries import DemoRegistries, demo_registries
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
OPERATOR_ACCOUNT_ID = "123456789012"  # whose credentials moto maps the operator's to


@dataclass(frozen=True)
class Tenant:
    """The team the demo runs as with --account, and the account its platform team gave it."""

    account_id: str = "111111111111"
    name: str = "video-team"
    labels: tuple[tuple[str, str], ...] = (("scar.dev/team", "video"),)
    external_id: str = "scar-demo-video-team"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/scar-tenant/{self.name}"

    @property
    def boundary_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:policy/scar-tenant-boundary"

    def manifest(self) -> dict[str, Any]:
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "ScarAccount", "metadata": {"name": self.name}, "spec": {
            "namespaceSelector": {"matchLabels": dict(self.labels)},
            "assumeRoleArn": self.role_arn,
            "externalId": self.external_id,
            "regions": [REGION],
            "buckets": [{"bucket": BUCKET, "prefixes": ["input/", "split-images/", "output/"]}],
            # The example images live in a shared registry account that the tenant's account may pull from.
            "images": [f"{OPERATOR_ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/scar/"],
            "permissionsBoundaryArn": self.boundary_arn,
            "limits": {"memory": 3008, "timeout": 900, "vcpus": 4, "maxVcpus": 16},
        }}
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
    def __init__(self, workdir: Path, output_dir: Path, video_seconds: int, tenant: Tenant | None = None,
                 any_image: bool = False) -> None:
        self.workdir = workdir
        self.output_dir = output_dir
        self.video_seconds = video_seconds
        self.tenant = tenant
        self.registries: DemoRegistries | None = None
        self.any_image = any_image

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
            self._own = self._session()
            self._as_user = self._own if self.tenant is None else self._platform_team_setup(self.tenant)
            self._install(api)
            if self.any_image:
                self.registries = stack.enter_context(demo_registries(self.workdir, ["ffmpeg-split", "darknet"]))
                say(f"a registry at {self.registries.source_host} holds the example's images as plain bases "
                    f"(no Python, no supervisor): the operator assembles ECR images from them")
            operator = OperatorProcess(kubeconfig=cluster.kubeconfig_path, namespace=NAMESPACE,
                                       aws_env=self.aws_env, log_path=self.workdir / "operator.log",
                                       extra_args=["--require-account"] if self.tenant else [],
                                       extra_env=self.registries.operator_env if self.registries else None).start()
            stack.callback(operator.stop)
            say(f"operator running under kopf (log: {operator.log_path})"
                + (", refusing namespaces no ScarAccount selects" if self.tenant else ""))
            if self.tenant is not None:
                self._wait_account_ready(self.tenant)
            objects = self._apply()
            for kind, name in objects:
                self._wait_ready(kind, name)
            # The function URL accepts requests the demo's user signs (a tenant's role with --account).
            user: Any = self._as_user.get_credentials()
            frozen = user.get_frozen_credentials()
            runtime = LocalRuntime(aws_env=self.aws_env, tool_dirs=[tool_directory(self.workdir / "bin")],
                                   on_run=self._report, role_arn=self.tenant.role_arn if self.tenant else None,
                                   external_id=self.tenant.external_id if self.tenant else None,
                                   known_credentials={frozen.access_key: frozen.secret_key}).start()
            stack.callback(runtime.stop)
            say("local runtime watching the S3 triggers the operator configured")
            frames = self._upload_and_wait(runtime)
            self._list_and_download(frames)
            self._ask_over_http(runtime, frames[0])
            self._delete(objects)
        say(f"done: the analysed frames are in {self.output_dir}")

    # --- steps ---

    def _install(self, api: client.ApiClient) -> None:
        extensions: Any = client.ApiextensionsV1Api(api)
        core: Any = client.CoreV1Api(api)
        for info in crdgen.KINDS:
            extensions.create_custom_resource_definition(crdgen.custom_resource_definition(info))
        labels = dict(self.tenant.labels) if self.tenant else {}
        core.create_namespace({"metadata": {"name": NAMESPACE, "labels": labels}})
        say(f"CRDs installed: {', '.join(i.crd_name for i in crdgen.KINDS)}; namespace {NAMESPACE}"
            + "".join(f" ({k}={v})" for k, v in labels.items()))
        if self.tenant is not None:
            self.custom.create_cluster_custom_object(GROUP, VERSION, "scaraccounts", self.tenant.manifest())
            say(f"kubectl apply: ScarAccount {self.tenant.name} (the cluster administrator's): namespaces labelled "
                f"{labels} act as {self.tenant.role_arn}, only on s3://{BUCKET}, only images of the shared registry")

    def _platform_team_setup(self, tenant: Tenant) -> Any:
        """What the tenant account's platform team does once: a permissions boundary for the roles the
        operator will make, and the role the operator assumes (trusting the operator's account, with an
        external id). Returns the session a member of the team works with (`kubectl scar` assumes the
        same role)."""
        admin = self._assumed(f"arn:aws:iam::{tenant.account_id}:role/OrganizationAccountAccessRole", None)
        iam = admin.client("iam", endpoint_url=self.aws_env["AWS_ENDPOINT_URL"])
        iam.create_policy(PolicyName="scar-tenant-boundary", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:*", "logs:*", "batch:SubmitJob"], "Resource": "*"}],
        }))
        iam.create_role(Path="/scar-tenant/", RoleName=tenant.name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"AWS": f"arn:aws:iam::{OPERATOR_ACCOUNT_ID}:root"},
                           "Condition": {"StringEquals": {"sts:ExternalId": tenant.external_id}}}],
        }))
        say(f"account {tenant.account_id}: role {tenant.role_arn} for the operator, boundary {tenant.boundary_arn}")
        return self._assumed(tenant.role_arn, tenant.external_id)

    def _wait_account_ready(self, tenant: Tenant) -> None:
        def ready() -> dict[str, Any] | None:
            found: dict[str, Any] = self.custom.get_cluster_custom_object(GROUP, VERSION, "scaraccounts", tenant.name)
            status = found.get("status") or {}
            conditions = {c["type"]: c for c in status.get("conditions", [])}
            if conditions.get("Stalled", {}).get("status") == "True":
                raise RuntimeError(f"ScarAccount {tenant.name} is Stalled: {conditions['Stalled'].get('message')}")
            return status if conditions.get("Ready", {}).get("status") == "True" else None

        status = poll(ready, timeout=60, what=f"ScarAccount {tenant.name} to be Ready")
        say(f"ScarAccount {tenant.name} is Ready: account {status.get('accountId')}, "
            f"serving {', '.join(status.get('namespaces') or [])}")

    def _apply(self) -> list[tuple[str, str]]:
        if not EXAMPLE.is_dir():
            raise FileNotFoundError(f"{EXAMPLE} is missing: run the demo from a clone of the repository")
        applied = []
        for path in sorted(EXAMPLE.glob("*.yaml")):  # the Kustomization file has no .yaml suffix
            body = yaml.safe_load(path.read_text())
            if self.registries is not None:
                # `ffmpeg-split:0.1.0` of the registry, as a SCAR definition names `grycap/ffmpeg`.
                body["spec"]["image"] = self.registries.image(body["spec"]["image"].rsplit("/", 1)[1].split(":")[0])
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
        image = status.get("image")
        if image:
            say(f"  it runs {status.get('imageUri')}, assembled from {image['base']} ({image['baseDigest'][:19]}...)")

    def _report(self, run: Run) -> None:
        outcome = "ok" if run.succeeded else "FAILED"
        what = "Batch job" if run.kind == "batch" else "Lambda"
        print(f"    {what} {run.name} on {run.input}: {outcome} in {run.seconds:.1f}s"
              + (f"\n      {run.detail}" if run.detail else ""), flush=True)

    def _session(self) -> boto3.Session:
        return boto3.Session(aws_access_key_id=self.aws_env["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=self.aws_env["AWS_SECRET_ACCESS_KEY"], region_name=REGION)

    def _assumed(self, role_arn: str, external_id: str | None) -> boto3.Session:
        sts = self._client("sts", self._own)
        return assume_role(sts, role_arn, external_id, "scar-demo").session(REGION)

    def _client(self, service: str, session: boto3.Session | None = None) -> Any:
        """A client acting as the demo's user: in the tenant's account with --account."""
        return (session or self._as_user).client(  # type: ignore[call-overload]
            service, endpoint_url=self.aws_env["AWS_ENDPOINT_URL"])

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

    def _ask_over_http(self, runtime: LocalRuntime, frame_key: str) -> None:
        """SCAR's `scar invoke -db frame.jpg`: one frame posted to the function's URL, signed with SigV4."""
        obj = self._get("ScarFunction", "scar-lambda-darknet") or {}
        frame = self.workdir / "frame.jpg"
        self._s3().download_file(BUCKET, frame_key, str(frame))
        say(f"kubectl scar invoke scar-lambda-darknet frame.jpg --http  (POST to {obj['status']['url']}, "
            f"served on {runtime.function_url_endpoint}, signed with SigV4)")
        target = Target("ScarFunction", "scar-lambda-darknet", NAMESPACE, obj["spec"], obj["status"])
        answer = io.BytesIO()
        code = invoke_http(self._as_user, target, frame, answer, endpoint=runtime.function_url_endpoint)
        print("    " + answer.getvalue().decode(errors="replace").strip().replace("\n", "\n    "), flush=True)
        if code != 0:
            raise RuntimeError("the function URL did not answer with 200")

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
        repositories = self._client("ecr").describe_repositories()["repositories"]
        say(f"AWS side after delete: {len(functions)} Lambda functions, {len(environments)} compute environments, "
            f"{len(queues)} job queues, {len(definitions)} active job definitions, {len(roles)} managed roles, "
            f"{len(notifications.get('LambdaFunctionConfigurations', []))} bucket triggers, "
            f"{len(repositories)} image repositories")
        kept = {p: len(self._keys(p)) for p in ("input/", "split-images/", "output/")}
        held = ", ".join(f"{n} under {p}" for p, n in kept.items())
        say(f"the bucket and its data stay: s3://{BUCKET} holds {held}")
        if functions or environments or queues or definitions or roles:
            raise RuntimeError("something was left behind in AWS")
        if self.tenant is not None:
            own_functions = self._client("lambda", self._own).list_functions()["Functions"]
            own_buckets = self._client("s3", self._own).list_buckets()["Buckets"]
            say(f"everything above was in account {self.tenant.account_id}; the operator's own account "
                f"{OPERATOR_ACCOUNT_ID} holds {len(own_functions)} Lambda functions and {len(own_buckets)} buckets")
            if own_functions or own_buckets:
                raise RuntimeError("the tenant's resources leaked into the operator's own account")


@contextlib.contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
    else:
        with tempfile.TemporaryDirectory(prefix="scar-demo-") as directory:
            yield Path(directory)


def run_demo(output_dir: Path, video_seconds: int = 5, workdir: Path | None = None, account: bool = False,
             any_image: bool = False) -> int:
    with _workdir(workdir) as directory:
        Demo(directory, output_dir.resolve(), video_seconds, Tenant() if account else None, any_image).run()
    return 0
