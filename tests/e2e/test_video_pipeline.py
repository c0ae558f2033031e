"""The seed's promise, end to end: upload a video, get every frame analysed under output/<request-id>/.

The example manifests from manifests/examples/video-process are applied as a user applies them;
the local runtime runs what AWS would run (the dispatcher, the Batch job, one Lambda invocation
per frame) on the host, from the triggers the operator configured in S3.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from scar_operator.local.runtime import LocalRuntime
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


@pytest.fixture
def runtime(aws: EmulatedAws, tmp_path: Path) -> Iterator[LocalRuntime]:
    local = LocalRuntime(aws_env=aws.operator_env(), tool_dirs=[tool_directory(tmp_path / "bin")]).start()
    yield local
    local.stop()


def keys(aws: EmulatedAws, prefix: str) -> list[str]:
    pages = aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def example_objects() -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted(EXAMPLE.glob("*.yaml")) if p.name != "kustomization.yaml"]


def test_a_video_uploaded_to_the_input_comes_back_as_analysed_frames(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, runtime: LocalRuntime,
    tmp_path: Path,
) -> None:
    objects = example_objects()
    for body in objects:
        cluster.apply(PLURALS[body["kind"]], namespace, body)
    for body in objects:
        wait_ready(cluster, namespace, body["metadata"]["name"], PLURALS[body["kind"]])

    video = make_video(tmp_path / "seq1.avi", seconds=3)
    aws.client("s3").upload_file(str(video), BUCKET, "input/seq1.avi")

    outputs = wait_for(lambda: [k for k in keys(aws, "output/") if k.endswith(".out")] if len(
        [k for k in keys(aws, "output/") if k.endswith(".out")]) >= 3 else None, timeout=180,
        what="three analysed frames")
    wait_for(runtime.idle, timeout=60, what="the runtime to finish")
    assert all(r.succeeded for r in runtime.runs), [r for r in runtime.runs if not r.succeeded]

    # One Batch job for the one video; its frames under split-images/<job-id>/, one per second.
    [job] = [r for r in runtime.runs if r.kind == "batch"]
    assert keys(aws, "split-images/") == [f"split-images/{job.request_id}/out00{i}.jpg" for i in (1, 2, 3)]
    # One Lambda invocation per frame, each under its own request id, with the detector's findings.
    invocations = {r.request_id: r for r in runtime.runs if r.kind == "lambda" and "darknet" in r.name}
    assert len(invocations) == 3
    s3 = aws.client("s3")
    for key in outputs:
        request_id, name = key.removeprefix("output/").split("/")
        assert request_id in invocations
        report = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
        assert "BlazeFace" in report and "face: " in report, report  # the drawn face was found by the network
        png = s3.head_object(Bucket=BUCKET, Key=f"output/{request_id}/{name.replace('.out', '.png')}")
        assert png["ContentType"] == "image/png" and png["ContentLength"] > 1000

    for body in objects:
        cluster.delete(PLURALS[body["kind"]], namespace, body["metadata"]["name"])
    for body in objects:
        wait_gone(cluster, namespace, body["metadata"]["name"], PLURALS[body["kind"]], timeout=120)
    assert aws.client("s3").get_bucket_notification_configuration(Bucket=BUCKET).get(
        "LambdaFunctionConfigurations", []) == []
    assert len(keys(aws, "output/")) == 6 and keys(aws, "input/") == ["input/seq1.avi"]  # the data stays
