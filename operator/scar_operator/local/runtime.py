"""The local runtime: runs what moto only records, on the host, and nothing more.

moto keeps Lambda functions, Batch jobs and bucket notifications but executes none of them
without Docker. This runtime watches the notification configurations the operator wrote into the
emulated S3 (not the specs), and for every new object that an entry matches it invokes the
function as Lambda would: the real supervisor with the function's real environment (read back
from the emulated Lambda), a request id and a deadline from the function's timeout. A zip
function (a ScarBatchJob's dispatcher) runs its handler for real; each Batch job it submits then
runs with its job definition's command and environment plus the job's overrides, with the
definition's retries. Scripts run on the host: container images are not pulled.

As in AWS, each invocation acts as its function's execution role (and each job as its job role):
the runtime assumes the role and hands the supervisor those credentials, so a function made in a
tenant's account reads and writes that account's buckets. With `role_arn`, the runtime itself
watches the account that role belongs to (a ScarAccount's), instead of its own credentials'.

Asynchronous invocations (InvocationType Event: the operator's dispatch of what was already in
a bucket) are queued by the emulated Lambda (aws_rules.py); the runtime runs them too.

It also serves the account's function URLs on loopback (`function_url_endpoint`, see
function_urls.py): a request signed with the runtime's own credentials passes AWS_IAM.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from lambda_supervisor.events import s3_event
from scar_operator.dispatcher_package import dispatcher_zip
from scar_operator.images.supervisor_layer import SUPERVISOR_PATH
from scar_operator.local.aws_rules import ASYNC_INVOCATIONS_QUEUE
from scar_operator.local.credentials import RoleCredentials, assume_role
from scar_operator.local.function_urls import FunctionUrlServer

log = logging.getLogger(__name__)

# Runs a zip function's handler in a child Python, with a Lambda-like context.
_ZIP_RUNNER = """
import importlib, json, sys, time
module, _, function = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), function)
deadline = time.monotonic() + float(sys.argv[3])
class Context:
    aws_request_id = sys.argv[2]
    def get_remaining_time_in_millis(self):
        return max(int((deadline - time.monotonic()) * 1000), 0)
result = handler(json.load(sys.stdin), Context())
with open(sys.argv[4], "w") as f:
    json.dump(result, f)
"""


@dataclass(frozen=True)
class Run:
    """One invocation or Batch job, as it ended."""

    kind: str  # "lambda" or "batch"
    name: str  # function name or job name
    input: str
    request_id: str
    succeeded: bool
    seconds: float
    detail: str = ""
    result: Mapping[str, Any] = field(default_factory=dict)


def _host_command(command: list[str]) -> list[str]:
    """A job's command as the host runs it: images are not pulled here, so the supervisor runs from
    this Python, whether the image has it as a package (`python3 -m lambda_supervisor batch`) or as
    the executable an assembled image has (images/)."""
    if command and command[0] == SUPERVISOR_PATH:
        return [sys.executable, "-m", "lambda_supervisor", *command[1:]]
    return [sys.executable if part in ("python", "python3") else part for part in command]


def _source_of(event: Mapping[str, Any]) -> str:
    """What an invocation ran on, for its report: the S3 object, or the HTTP request."""
    http = (event.get("requestContext") or {}).get("http")
    if http:
        return f"{http.get('method')} {event.get('requestContext', {}).get('domainName')}{http.get('path')}"
    records = event.get("Records") or [{}]
    s3 = records[0].get("s3") or {}
    return f"s3://{(s3.get('bucket') or {}).get('name', '?')}/{(s3.get('object') or {}).get('key', '?')}"


def _matches(entry: Mapping[str, Any], key: str) -> bool:
    if not any(e.startswith("s3:ObjectCreated:") for e in entry.get("Events", [])):
        return False
    rules = {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
    return key.startswith(rules.get("prefix", "")) and key.endswith(rules.get("suffix", ""))


class LocalRuntime:
    def __init__(self, *, aws_env: Mapping[str, str], tool_dirs: list[Path] | None = None, workers: int = 4,
                 poll_seconds: float = 0.5, on_run: Callable[[Run], None] | None = None,
                 role_arn: str | None = None, external_id: str | None = None,
                 known_credentials: Mapping[str, str] | None = None) -> None:
        """`known_credentials`: access key -> secret of other callers whose signed function-URL
        requests are checked (the runtime's own credentials are always known)."""
        self._aws_env = dict(aws_env)
        self._path = os.pathsep.join([*(str(d) for d in tool_dirs or []), os.environ.get("PATH", "/usr/bin:/bin")])
        endpoint = self._aws_env.get("AWS_ENDPOINT_URL")
        own = boto3.Session(region_name=self._aws_env.get("AWS_REGION"),
                            aws_access_key_id=self._aws_env.get("AWS_ACCESS_KEY_ID"),
                            aws_secret_access_key=self._aws_env.get("AWS_SECRET_ACCESS_KEY"),
                            aws_session_token=self._aws_env.get("AWS_SESSION_TOKEN"))
        self._sts = own.client("sts", endpoint_url=endpoint)
        self._role_credentials: dict[str, RoleCredentials] = {}
        self._lock = threading.Lock()
        session = own if role_arn is None else self._credentials_of(role_arn, external_id).session(own.region_name)
        self._s3 = session.client("s3", endpoint_url=endpoint)
        self._lambda = session.client("lambda", endpoint_url=endpoint)
        self._batch = session.client("batch", endpoint_url=endpoint)
        self._sqs = session.client("sqs", endpoint_url=endpoint)
        key, secret = self._aws_env.get("AWS_ACCESS_KEY_ID"), self._aws_env.get("AWS_SECRET_ACCESS_KEY")
        secrets = {**({key: secret} if key and secret else {}), **(known_credentials or {})}
        self._urls = FunctionUrlServer(lambda_=self._lambda, invoke=self._invoke_over_http, secrets=secrets,
                                       region=own.region_name or "us-east-1")
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scar-local")
        self._poll_seconds = poll_seconds
        self._on_run = on_run
        self._seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="scar-local-watch", daemon=True)
        self._pending: list[Future[None]] = []
        self.runs: list[Run] = []
        self._workdir = Path(tempfile.mkdtemp(prefix="scar-local-"))

    def _credentials_of(self, role_arn: str, external_id: str | None = None) -> RoleCredentials:
        """Acting as `role_arn`: assumed once per role (the credentials last an hour, longer than any
        run of the runtime)."""
        with self._lock:
            known = self._role_credentials.get(role_arn)
        if known is None:
            known = assume_role(self._sts, role_arn, external_id, "scar-local-runtime")
            with self._lock:
                self._role_credentials[role_arn] = known
        return known

    # --- lifecycle ---

    def start(self) -> LocalRuntime:
        self._scan(fire=False)  # what is there already triggered nothing
        self._thread.start()
        self._urls.start()
        return self

    @property
    def function_url_endpoint(self) -> str:
        """Where the function URLs are served: connect here, send the URL's host in the Host header."""
        return self._urls.endpoint

    def stop(self) -> None:
        self._urls.stop()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def idle(self) -> bool:
        """No invocation or job is running or queued."""
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            return not self._pending

    # --- watching S3 for what the notifications say ---

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            try:
                self._scan(fire=True)
                self._run_queued()
            except Exception:
                log.exception("local runtime: scanning S3 failed")

    def _run_queued(self) -> None:
        """What the emulated Lambda was asked to run asynchronously, run here (each message once)."""
        try:
            queue = self._sqs.get_queue_url(QueueName=ASYNC_INVOCATIONS_QUEUE)["QueueUrl"]
        except self._sqs.exceptions.QueueDoesNotExist:
            return
        while True:
            messages = self._sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                queued = json.loads(message["Body"])
                self._submit(self._invoke_event, queued["function"], queued["event"])
                self._sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

    def _scan(self, *, fire: bool) -> None:
        for bucket in self._s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            entries = self._s3.get_bucket_notification_configuration(Bucket=name).get(
                "LambdaFunctionConfigurations", [])
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for obj in page.get("Contents", []):
                    identity = (name, obj["Key"], obj.get("ETag", ""))
                    if identity in self._seen:
                        continue
                    self._seen.add(identity)
                    if not fire:
                        continue
                    for entry in entries:
                        if _matches(entry, obj["Key"]):
                            self._submit(self._invoke, entry["LambdaFunctionArn"], name, obj["Key"], int(obj["Size"]))

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._pending.append(self._pool.submit(self._guarded, fn, *args))

    def _guarded(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("local runtime: %s failed", getattr(fn, "__name__", fn))

    def _record(self, run: Run) -> None:
        with self._lock:
            self.runs.append(run)
        if self._on_run is not None:
            self._on_run(run)

    # --- Lambda ---

    def _invoke(self, function_arn: str, bucket: str, key: str, size: int) -> None:
        self._invoke_event(function_arn, s3_event(bucket, key, size))

    def _invoke_event(self, function_arn: str, event: dict[str, Any]) -> None:
        run = self.invoke(function_arn, event)
        self._record(run)
        for job in run.result.get("jobs", []) if run.succeeded else []:
            self._submit(self._run_job, job["jobId"])

    def _invoke_over_http(self, function: str, event: dict[str, Any]) -> tuple[bool, Mapping[str, Any]]:
        run = self.invoke(function, event)
        self._record(run)
        return run.succeeded, run.result

    def invoke(self, function: str, event: Mapping[str, Any], request_id: str | None = None) -> Run:
        """One Lambda-like invocation of `function` (name or ARN) with `event`; nothing else follows from it."""
        config = self._lambda.get_function(FunctionName=function)["Configuration"]
        request_id = request_id or str(uuid.uuid4())
        env = {**self._aws_env, **self._credentials_of(config["Role"]).environment(),
               **(config.get("Environment") or {}).get("Variables", {}), "PATH": self._path,
               "AWS_LAMBDA_FUNCTION_NAME": config["FunctionName"]}
        started = time.monotonic()
        result_file = self._workdir / f"{request_id}.json"
        if config.get("PackageType") == "Zip":
            command = [sys.executable, "-c", _ZIP_RUNNER, config["Handler"], request_id, str(config["Timeout"]),
                       str(result_file)]
            env["PYTHONPATH"] = str(self._zip_code(config))
        else:
            command = [sys.executable, "-m", "lambda_supervisor", "invoke", "--timeout", str(config["Timeout"]),
                       "--request-id", request_id, "--function-name", config["FunctionName"],
                       "--result", str(result_file)]
        finished = subprocess.run(command, input=json.dumps(event), env=env, capture_output=True, text=True,
                                  timeout=float(config["Timeout"]) + 30, check=False, cwd=self._workdir)
        result = json.loads(result_file.read_text()) if result_file.exists() else {}
        result_file.unlink(missing_ok=True)
        source = _source_of(event)
        return Run("lambda", config["FunctionName"], source, request_id, finished.returncode == 0,
                   time.monotonic() - started, finished.stderr.strip()[-2000:] if finished.returncode else "", result)

    def _zip_code(self, config: Mapping[str, Any]) -> Path:
        """The dispatcher's code, proven to be what Lambda holds by its CodeSha256.

        moto hands out no download link that resolves here, and the only zip functions the operator
        makes are dispatchers built from this very package.
        """
        package = dispatcher_zip()
        digest = base64.b64encode(hashlib.sha256(package).digest()).decode()
        if config.get("CodeSha256") != digest:
            raise RuntimeError(f"{config['FunctionName']}: its code is not this operator's dispatcher")
        directory = self._workdir / f"zip-{hashlib.sha256(package).hexdigest()[:12]}"
        if not directory.exists():
            zipfile.ZipFile(io.BytesIO(package)).extractall(directory)
        return directory

    # --- Batch ---

    def _run_job(self, job_id: str) -> None:
        job = self._batch.describe_jobs(jobs=[job_id])["jobs"][0]
        definition = self._batch.describe_job_definitions(jobDefinitions=[job["jobDefinition"]])["jobDefinitions"][0]
        container = definition["containerProperties"]
        variables = {e["name"]: e["value"] for e in container.get("environment", [])}
        # The job's container overrides (the dispatcher's event, AWS_BATCH_JOB_ID) win over the definition.
        variables.update({e["name"]: e["value"] for e in (job.get("container") or {}).get("environment", [])})
        variables.setdefault("AWS_BATCH_JOB_ID", job_id)
        command = _host_command(container["command"])
        role = container.get("jobRoleArn")
        credentials = self._credentials_of(role).environment() if role else {}
        env = {**self._aws_env, **credentials, **variables, "PATH": self._path}
        timeout = (definition.get("timeout") or {}).get("attemptDurationSeconds")
        attempts = int((definition.get("retryStrategy") or {}).get("attempts", 1))
        event = json.loads(variables.get("SCAR_EVENT", "{}"))
        key = ((event.get("Records") or [{}])[0].get("s3") or {}).get("object", {}).get("key", "?")
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                                          timeout=float(timeout) + 30 if timeout else None, cwd=self._workdir)
                ok, detail = finished.returncode == 0, finished.stderr.strip()[-2000:]
            except subprocess.TimeoutExpired:
                ok, detail = False, f"attempt {attempt} ran past {timeout}s"
            self._record(Run("batch", job["jobName"], key, job_id, ok, time.monotonic() - started,
                             "" if ok else detail))
            if ok:
                return
