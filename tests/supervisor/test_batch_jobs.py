"""A ScarBatchJob's data path: the dispatcher submits one job per record; each job runs the supervisor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from lambda_supervisor import dispatcher
from lambda_supervisor.config import CONFIG_ENV, BatchTarget, OutputTarget, SupervisorConfig
from lambda_supervisor.events import s3_event
from lambda_supervisor.invoke import InvocationContext
from tests.harness.aws import EmulatedAws

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def batch(aws: EmulatedAws) -> Any:
    return aws.client("batch")


@pytest.fixture
def job_queue(aws: EmulatedAws, batch: Any) -> tuple[str, str]:
    """A queue and a job definition in moto Batch; returns (queue name, job definition name)."""
    suffix = uuid.uuid4().hex[:8]
    role = aws.client("iam").create_role(RoleName=f"batch-{suffix}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    environment = batch.create_compute_environment(computeEnvironmentName=f"ce-{suffix}", type="UNMANAGED",
                                                   state="ENABLED", serviceRole=role)
    batch.create_job_queue(jobQueueName=f"queue-{suffix}", state="ENABLED", priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}])
    batch.register_job_definition(jobDefinitionName=f"split-{suffix}", type="container", containerProperties={
        "image": "grycap/ffmpeg", "vcpus": 1, "memory": 2048, "command": ["python", "-m", "lambda_supervisor", "batch"],
    })
    return f"queue-{suffix}", f"split-{suffix}"


@pytest.fixture
def dispatcher_env(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, job_queue: tuple[str, str]) -> None:
    queue, definition = job_queue
    dispatcher._client.cache_clear()  # a fresh client that sees the test's variables
    monkeypatch.setenv(CONFIG_ENV, SupervisorConfig(batch=BatchTarget(queue, definition, "video-split")).to_json())


def job_environment(batch: Any, job_id: str) -> dict[str, str]:
    job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
    return {e["name"]: e["value"] for e in job["container"]["environment"]}


def test_the_dispatcher_submits_exactly_one_job_per_record_with_that_records_event(
    dispatcher_env: None, batch: Any, job_queue: tuple[str, str],
) -> None:
    queue, definition = job_queue
    event = {"Records": [*s3_event("videos", "input/seq 1.avi", 100)["Records"],
                         *s3_event("videos", "input/seq2.avi", 200)["Records"]]}

    result = dispatcher.handler(event, InvocationContext(30, "dispatch-1"))

    assert [j["input"] for j in result["jobs"]] == ["s3://videos/input/seq 1.avi", "s3://videos/input/seq2.avi"]
    listed = batch.list_jobs(jobQueue=queue, filters=[{"name": "JOB_NAME", "values": ["video-split-*"]}])
    assert sorted(j["jobId"] for j in listed["jobSummaryList"]) == sorted(j["jobId"] for j in result["jobs"])
    for submitted, record in zip(result["jobs"], event["Records"], strict=True):
        job = batch.describe_jobs(jobs=[submitted["jobId"]])["jobs"][0]
        assert job["jobQueue"].endswith(f":job-queue/{queue}")
        assert job["jobDefinition"].endswith(f":job-definition/{definition}:1")
        assert job["jobName"] == submitted["jobName"]
        assert json.loads(job_environment(batch, submitted["jobId"])["SCAR_EVENT"]) == {"Records": [record]}
    assert [j["jobName"] for j in result["jobs"]] == ["video-split-seq-1-avi", "video-split-seq2-avi"]


def test_a_record_too_big_for_the_8_kib_overrides_is_passed_compacted(
    dispatcher_env: None, batch: Any,
) -> None:
    event = s3_event("videos", "input/v.avi", 10)
    event["Records"][0]["responseElements"] = {"x-amz-id-2": "z" * 9000}  # S3 adds such fields

    result = dispatcher.handler(event, InvocationContext(30))

    passed = json.loads(job_environment(batch, result["jobs"][0]["jobId"])["SCAR_EVENT"])
    assert passed["Records"][0]["s3"]["object"] == {"key": "input/v.avi", "size": 10}
    assert passed["Records"][0]["s3"]["bucket"]["name"] == "videos"
    assert "responseElements" not in passed["Records"][0]


def test_a_function_without_a_queue_is_not_a_dispatcher(s3_env: dict[str, str], configure: Any) -> None:
    configure(SupervisorConfig(script="true"))
    with pytest.raises(RuntimeError, match="names no Batch queue"):
        dispatcher.handler(s3_event("videos", "k"), InvocationContext(30))


def run_batch_entry_point(environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m lambda_supervisor batch` as the job's container runs it: its own process and environment."""
    return subprocess.run(
        [sys.executable, "-m", "lambda_supervisor", "batch"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **environment},
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def test_a_submitted_job_runs_the_supervisor_with_the_job_id_as_request_id(
    dispatcher_env: None, s3_env: dict[str, str], s3: Any, batch: Any, bucket: str, tmp_path: Path,
) -> None:
    s3.put_object(Bucket=bucket, Key="input/clip.avi", Body=b"not really a video")
    submitted = dispatcher.handler(s3_event(bucket, "input/clip.avi"), InvocationContext(30))["jobs"][0]
    job_config = SupervisorConfig(script='wc -c < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/size.txt"',
                                  outputs=(OutputTarget(bucket, "frames"),))
    # The job definition's environment as the operator writes it, plus the dispatcher's overrides.
    environment = {**s3_env, CONFIG_ENV: job_config.to_json(), "SCAR_JOB_TIMEOUT": "60",
                   **job_environment(batch, submitted["jobId"])}

    finished = run_batch_entry_point(environment, tmp_path)

    assert finished.returncode == 0, finished.stderr
    assert s3.get_object(Bucket=bucket, Key=f"frames/{submitted['jobId']}/size.txt")["Body"].read().strip() == b"18"
    phases = [json.loads(line)["phase"] for line in finished.stdout.splitlines() if line.startswith("{")]
    assert phases == ["download", "script", "upload", "done"]


def test_a_failing_job_exits_non_zero_with_the_reason_so_batch_can_retry_it(
    s3_env: dict[str, str], s3: Any, bucket: str, tmp_path: Path,
) -> None:
    s3.put_object(Bucket=bucket, Key="input/clip.avi", Body=b"x")
    environment = {**s3_env, "AWS_BATCH_JOB_ID": "job-1", "SCAR_EVENT": json.dumps(s3_event(bucket, "input/clip.avi")),
                   CONFIG_ENV: SupervisorConfig(script="echo 'Invalid data found when processing input'; exit 1",
                                                outputs=(OutputTarget(bucket, "frames"),)).to_json()}

    finished = run_batch_entry_point(environment, tmp_path)

    assert finished.returncode == 1
    assert "Invalid data found when processing input" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_an_image_not_configured_by_the_operator_says_so(tmp_path: Path) -> None:
    finished = run_batch_entry_point({"SCAR_EVENT": "{}"}, tmp_path)

    assert finished.returncode != 0
    assert "SCAR_SUPERVISOR_CONFIG is not set" in finished.stderr
    assert "Traceback" not in finished.stderr
