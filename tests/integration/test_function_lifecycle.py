"""ScarFunction: apply creates the whole AWS side, edits follow, delete tears it down."""

from __future__ import annotations

import json

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.waiting import wait_for

PLURAL = "scarfunctions"


def function_manifest(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "scar.dev/v1alpha1",
        "kind": "ScarFunction",
        "metadata": {"name": name},
        "spec": {
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1",
            "script": "echo hello > $TMP_OUTPUT_DIR/out.txt",
            "input": [{"bucket": "scar-it-video", "prefix": "frames/", "suffix": ".jpg"}],
            "output": [{"bucket": "scar-it-video", "prefix": "results/"}],
            **spec,
        },
    }


def ready(cluster: Cluster, namespace: str, name: str) -> dict[str, object] | None:
    condition = cluster.condition(PLURAL, namespace, name, "Ready")
    return condition if condition and condition["status"] == "True" else None


def test_apply_creates_function_role_logs_trigger_and_reports_ready(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(PLURAL, namespace, function_manifest("detector", memory=1024, environment={"MODEL": "yolo"}))
    wait_for(lambda: ready(cluster, namespace, "detector"), timeout=60, what="Ready=True")

    status = cluster.get(PLURAL, namespace, "detector")["status"]  # type: ignore[index]
    assert status["observedGeneration"] == 1
    name = status["functionName"]
    function = aws.client("lambda").get_function(FunctionName=name)
    config = function["Configuration"]
    assert config["PackageType"] == "Image"
    assert config["MemorySize"] == 1024
    assert config["Environment"]["Variables"]["MODEL"] == "yolo"
    supervisor = json.loads(config["Environment"]["Variables"]["SCAR_SUPERVISOR_CONFIG"])
    assert supervisor["outputs"] == [{"bucket": "scar-it-video", "prefix": "results/"}]
    assert status["functionArn"] == config["FunctionArn"]
    assert config["Role"] == status["roleArn"]

    notifications = aws.client("s3").get_bucket_notification_configuration(Bucket="scar-it-video")
    [entry] = notifications["LambdaFunctionConfigurations"]
    assert entry["LambdaFunctionArn"] == config["FunctionArn"]
    rules = {r["Name"].lower(): r["Value"] for r in entry["Filter"]["Key"]["FilterRules"]}
    assert rules == {"prefix": "frames/", "suffix": ".jpg"}
