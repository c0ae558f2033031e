"""What is already in the bucket: spec.processExisting and `kubectl scar run` process each object once.

The objects are uploaded before the function exists (S3 sends no event for them); the operator
dispatches each as an asynchronous invocation, which the local runtime runs as Lambda would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scar_operator.existing_objects import INITIAL_RUN, RUN_ANNOTATION, request_id
from scar_operator.kubectl_scar.main import main as kubectl_scar
from scar_operator.local.runtime import LocalRuntime

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, batch_job_manifest, function_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for

WRITE_NAME = 'echo "$STORAGE_OBJECT_KEY" > "$TMP_OUTPUT_DIR/seen.txt"'


@pytest.fixture
def bucket(aws: EmulatedAws) -> str:
    name = f"scar-it-existing-{uuid.uuid4().hex[:8]}"
    aws.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def paced_operator(cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path) -> Iterator[OperatorProcess]:
    """Small chunks, so that a run takes several ticks and an operator can die in the middle of one."""
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=tmp_path / "operator.log",
                              extra_env={"SCAR_EXISTING_CHUNK": "3", "SCAR_EXISTING_TICK_SECONDS": "0.2"}).start()
    yield process
    for plural in (FUNCTIONS, BATCH_JOBS):
        for item in cluster.custom.list_namespaced_custom_object("scar.dev", "v1alpha1", namespace, plural)["items"]:
            cluster.delete(plural, namespace, item["metadata"]["name"])
            wait_gone(cluster, namespace, item["metadata"]["name"], plural)
    process.stop()


def upload(aws: EmulatedAws, bucket: str, keys: list[str]) -> dict[str, str]:
    """key -> ETag"""
    s3 = aws.client("s3")
    return {key: s3.put_object(Bucket=bucket, Key=key, Body=key.encode())["ETag"] for key in keys}


def output_folders(aws: EmulatedAws, bucket: str, prefix: str = "results/") -> dict[str, str]:
    """request id -> the key its output says it processed"""
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"].split("/")[1]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode().strip()
            for o in listed if o["Key"].endswith("/seen.txt")}


def existing(cluster: Cluster, namespace: str, name: str, plural: str = FUNCTIONS) -> dict[str, Any]:
    return dict(((cluster.get(plural, namespace, name) or {}).get("status") or {}).get("existingObjects") or {})


def test_what_was_there_before_is_processed_once_even_when_the_operator_dies_mid_run(
    cluster: Cluster, aws: EmulatedAws, namespace: str, paced_operator: OperatorProcess, bucket: str,
) -> None:
    before = upload(aws, bucket, [f"frames/{i:02d}.jpg" for i in range(10)])
    upload(aws, bucket, ["frames/notes.txt", "elsewhere/99.jpg"])  # not the input's: suffix, prefix
    runtime = LocalRuntime(aws_env=aws.operator_env()).start()
    try:
        mark = aws.proxy.mark()
        cluster.apply(FUNCTIONS, namespace, function_manifest(
            "detector", script=WRITE_NAME, processExisting=True,
            input=[{"bucket": bucket, "prefix": "frames/", "suffix": ".jpg"}],
            output=[{"bucket": bucket, "prefix": "results/"}]))
        name = wait_ready(cluster, namespace, "detector")["status"]["functionName"]

        # Killed in the middle of the run, between two invocations of a chunk.
        wait_for(lambda: len([c for c in aws.proxy.calls_since(mark) if c.operation == "Invoke"]) >= 4,
                 timeout=60, interval=0.005, what="four objects dispatched")
        paced_operator.kill()
        paced_operator.start()

        done = wait_for(lambda: existing(cluster, namespace, "detector").get("phase") == "Done" or None,
                        timeout=60, what="the run to finish")
        assert done
        state = existing(cluster, namespace, "detector")
        assert (state["runId"], state["total"], state["dispatched"], state["failed"]) == (INITIAL_RUN, 10, 10, 0)
        wait_for(lambda: (len(output_folders(aws, bucket)) >= 10 and runtime.idle()) or None, timeout=60,
                 what="ten objects processed")

        # Each object once: one output folder per object, named by the run's fixed request id, even
        # for the objects of the chunk the killed operator had dispatched but not recorded.
        owner = f"ScarFunction/{namespace}/detector"
        expected = {request_id(owner, INITIAL_RUN, bucket, key, etag): key for key, etag in before.items()}
        assert output_folders(aws, bucket) == expected

        # What comes after is the trigger's, not the run's: processed once, by the notification.
        upload(aws, bucket, ["frames/10.jpg"])
        wait_for(lambda: "frames/10.jpg" in output_folders(aws, bucket).values() or None, timeout=30,
                 what="the new frame processed by its trigger")
        assert sorted(output_folders(aws, bucket).values()).count("frames/10.jpg") == 1
        assert existing(cluster, namespace, "detector")["dispatched"] == 10
        assert aws.client("lambda").get_function(FunctionName=name)
    finally:
        runtime.stop()


def test_kubectl_scar_run_processes_what_is_under_a_prefix_and_shows_the_outcome(
    cluster: Cluster, aws: EmulatedAws, namespace: str, paced_operator: OperatorProcess, bucket: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    upload(aws, bucket, ["frames/a/1.jpg", "frames/a/2.jpg", "frames/b/3.jpg"])
    runtime = LocalRuntime(aws_env=aws.operator_env()).start()
    try:
        cluster.apply(FUNCTIONS, namespace, function_manifest(
            "detector", script=WRITE_NAME, input=[{"bucket": bucket, "prefix": "frames/"}],
            output=[{"bucket": bucket, "prefix": "results/"}]))
        wait_ready(cluster, namespace, "detector")
        # Already there, but no processExisting and no run asked for: nothing is processed.
        assert existing(cluster, namespace, "detector") == {} and output_folders(aws, bucket) == {}
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))

        code = kubectl_scar(["run", "detector", "-n", namespace, "--prefix", "a/", "--timeout", "60"])

        out = capsys.readouterr().out
        assert code == 0 and "2 of 2 objects dispatched, 0 refused" in out
        wait_for(lambda: (len(output_folders(aws, bucket)) >= 2 and runtime.idle()) or None, timeout=60,
                 what="two objects processed")
        assert sorted(output_folders(aws, bucket).values()) == ["frames/a/1.jpg", "frames/a/2.jpg"]
        state = existing(cluster, namespace, "detector")
        annotations = (cluster.get(FUNCTIONS, namespace, "detector") or {})["metadata"]["annotations"]
        annotation = json.loads(annotations[RUN_ANNOTATION])
        assert state["runId"] == annotation["id"] and state["prefix"] == "a/"
    finally:
        runtime.stop()


def test_a_batch_job_processes_what_was_there_through_its_dispatcher(
    cluster: Cluster, aws: EmulatedAws, namespace: str, paced_operator: OperatorProcess, bucket: str,
) -> None:
    upload(aws, bucket, ["videos/one.avi", "videos/two.avi"])
    runtime = LocalRuntime(aws_env=aws.operator_env()).start()
    try:
        cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
            "split", script=WRITE_NAME, processExisting=True, input=[{"bucket": bucket, "prefix": "videos/"}],
            output=[{"bucket": bucket, "prefix": "results/"}]))
        wait_ready(cluster, namespace, "split", BATCH_JOBS)
        wait_for(lambda: existing(cluster, namespace, "split", BATCH_JOBS).get("phase") == "Done" or None,
                 timeout=60, what="the run to finish")
        wait_for(lambda: (len(output_folders(aws, bucket)) >= 2 and runtime.idle()) or None, timeout=60,
                 what="two Batch jobs run")
        assert sorted(output_folders(aws, bucket).values()) == ["videos/one.avi", "videos/two.avi"]
        assert sorted(r.kind for r in runtime.runs) == ["batch", "batch", "lambda", "lambda"]
    finally:
        runtime.stop()
