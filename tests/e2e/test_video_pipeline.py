"""The seed's promise, as a user lives it: apply the pipeline, upload a video, get every frame analysed
under output/<request-id>/; edit both objects and see the next video follow the edits; delete them and
find the AWS side gone while the bucket and its data stay.

The example manifests from manifests/examples/video-process are applied as a user applies them;
the local runtime runs what AWS would run (the dispatcher, the Batch job, one Lambda invocation
per frame) on the host, from the triggers the operator configured in S3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from scar_operator.local.runtime import LocalRuntime, Run
from scar_operator.local.sample_video import make_video
from scar_operator.local.tools import tool_directory

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import REPO, Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, wait_gone, wait_ready
from tests.harness.waiting import wait_for

EXAMPLE = REPO / "manifests" / "examples" / "video-process"
BUCKET = "scar-video"
PLURALS = {"ScarFunction": FUNCTIONS, "ScarBatchJob": BATCH_JOBS}
SPLIT, DETECT = "scar-batch-ffmpeg-split", "scar-lambda-darknet"


@pytest.fixture
def runtime(aws: EmulatedAws, tmp_path: Path) -> Iterator[LocalRuntime]:
    local = LocalRuntime(aws_env=aws.operator_env(), tool_dirs=[tool_directory(tmp_path / "bin")]).start()
    yield local
    local.stop()


def keys(aws: EmulatedAws, prefix: str) -> list[str]:
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def example_objects() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLE.glob("*.yaml"))]


def upload_and_wait_for_reports(aws: EmulatedAws, runtime: LocalRuntime, video: Path, key: str,
                                output_prefix: str, frames: int) -> list[str]:
    """Upload a video; return the detector's reports once all `frames` are analysed and the runtime is idle."""
    aws.client("s3").upload_file(str(video), BUCKET, key)

    def reports() -> list[str] | None:
        found = [k for k in keys(aws, output_prefix) if k.endswith(".out")]
        return found if len(found) >= frames else None

    found = wait_for(reports, timeout=180, what=f"{frames} analysed frames under {output_prefix}")
    wait_for(runtime.idle, timeout=60, what="the runtime to finish")
    assert all(r.succeeded for r in runtime.runs), [r for r in runtime.runs if not r.succeeded]
    return found


def assert_frames_were_analysed(aws: EmulatedAws, runs: list[Run], reports: list[str], output_prefix: str) -> None:
    """One Lambda invocation per frame, each under its own request id, with the network's findings and a PNG."""
    invocations = {r.request_id for r in runs if r.kind == "lambda" and DETECT in r.name}
    assert len(invocations) == len(reports)
    s3 = aws.client("s3")
    for key in reports:
        request_id, name = key.removeprefix(output_prefix).split("/")
        assert request_id in invocations
        report = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert "BlazeFace" in report and "face: " in report, report  # the drawn face was found by the network
        png = s3.head_object(Bucket=BUCKET, Key=f"{output_prefix}{request_id}/{name.replace('.out', '.png')}")
        assert png["ContentType"] == "image/png" and png["ContentLength"] > 1000


def test_a_video_uploaded_to_the_input_comes_back_as_analysed_frames_and_edits_apply_to_the_next_one(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, runtime: LocalRuntime,
    tmp_path: Path,
) -> None:
    objects = example_objects()
    for body in objects:
        cluster.apply(PLURALS[body["kind"]], namespace, body)
    split = wait_ready(cluster, namespace, SPLIT, BATCH_JOBS)["status"]
    detect = wait_ready(cluster, namespace, DETECT, FUNCTIONS)["status"]

    # A 3-second video: one Batch job, one frame per second under split-images/<job-id>/, three analyses.
    reports = upload_and_wait_for_reports(aws, runtime, make_video(tmp_path / "seq1.avi", seconds=3),
                                          "input/seq1.avi", "output/", frames=3)
    [job] = [r for r in runtime.runs if r.kind == "batch"]
    assert keys(aws, "split-images/") == [f"split-images/{job.request_id}/out00{i}.jpg" for i in (1, 2, 3)]
    assert_frames_were_analysed(aws, list(runtime.runs), reports, "output/")

    # Edit both, as a user edits a manifest: two frames per second; results to detections/, less memory.
    [split_spec] = [o["spec"] for o in objects if o["kind"] == "ScarBatchJob"]
    cluster.patch_spec(BATCH_JOBS, namespace, SPLIT, {"script": split_spec["script"].replace("fps=1", "fps=2")})
    cluster.patch_spec(FUNCTIONS, namespace, DETECT, {
        "memory": 2048, "output": [{"bucket": BUCKET, "prefix": "detections/"}]})
    edited_split = wait_ready(cluster, namespace, SPLIT, BATCH_JOBS)["status"]
    wait_ready(cluster, namespace, DETECT, FUNCTIONS)

    configuration = aws.client("lambda").get_function_configuration(FunctionName=detect["functionName"])
    assert configuration["MemorySize"] == 2048
    supervisor = json.loads(configuration["Environment"]["Variables"]["SCAR_SUPERVISOR_CONFIG"])
    assert supervisor["outputs"] == [{"bucket": BUCKET, "prefix": "detections/"}]
    assert edited_split["jobDefinitionRevision"] == split["jobDefinitionRevision"] + 1
    [active] = aws.client("batch").describe_job_definitions(
        jobDefinitionName=split["jobDefinitionName"], status="ACTIVE")["jobDefinitions"]
    assert active["revision"] == edited_split["jobDefinitionRevision"]

    # The next video follows the edits: a 2-second video now gives four frames, analysed into detections/.
    before = len(runtime.runs)
    reports = upload_and_wait_for_reports(aws, runtime, make_video(tmp_path / "seq2.avi", seconds=2),
                                          "input/seq2.avi", "detections/", frames=4)
    runs = list(runtime.runs)[before:]
    [job] = [r for r in runs if r.kind == "batch"]
    assert len(keys(aws, f"split-images/{job.request_id}/")) == 4
    assert_frames_were_analysed(aws, runs, reports, "detections/")
    assert len(keys(aws, "output/")) == 6  # nothing more went to the old output prefix

    for body in objects:
        cluster.delete(PLURALS[body["kind"]], namespace, body["metadata"]["name"])
    for body in objects:
        wait_gone(cluster, namespace, body["metadata"]["name"], PLURALS[body["kind"]], timeout=120)

    lambda_names = {f["FunctionName"] for page in aws.client("lambda").get_paginator("list_functions").paginate()
                    for f in page["Functions"]}
    assert {detect["functionName"], split["dispatcherFunctionName"]}.isdisjoint(lambda_names)
    batch = aws.client("batch")
    assert batch.describe_job_queues(jobQueues=[split["jobQueueArn"]])["jobQueues"] == []
    assert batch.describe_compute_environments(computeEnvironments=[split["computeEnvironmentArn"]])[
        "computeEnvironments"] == []
    assert aws.client("s3").get_bucket_notification_configuration(Bucket=BUCKET).get(
        "LambdaFunctionConfigurations", []) == []
    # The data stays: both videos, seven frames, seven analyses (a report and a PNG each).
    assert keys(aws, "input/") == ["input/seq1.avi", "input/seq2.avi"]
    assert len(keys(aws, "split-images/")) == 7
    assert len(keys(aws, "output/")) + len(keys(aws, "detections/")) == 14
