"""ScarFunction: apply creates the whole AWS side, edits follow in place, delete tears it down."""

from __future__ import annotations

import json
from typing import Any

import pytest
from scar_operator.local import aws_rules

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, events_about, function_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for

BUCKET = "scar-it-video"


def our_entries(aws: EmulatedAws, bucket: str, function_arn: str) -> list[dict[str, Any]]:
    configuration = aws.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    return [e for e in configuration.get("LambdaFunctionConfigurations", []) if e["LambdaFunctionArn"] == function_arn]


def filter_rules(entry: dict[str, Any]) -> dict[str, str]:
    return {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}


def test_apply_creates_the_function_its_role_log_group_permission_and_trigger(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest(
        "detector", memory=1024, timeout=120, ephemeralStorage=2048, architecture="arm64",
        environment={"MODEL": "yolo"}, logRetentionDays=14,
    ))
    status = wait_ready(cluster, namespace, "detector")["status"]
    assert status["observedGeneration"] == 1

    found = aws.client("lambda").get_function(FunctionName=status["functionName"])
    config = found["Configuration"]
    assert config["PackageType"] == "Image"
    assert found["Code"]["ImageUri"] == function_manifest("x")["spec"]["image"]
    assert (config["MemorySize"], config["Timeout"], config["EphemeralStorage"]["Size"]) == (1024, 120, 2048)
    assert config["Architectures"] == ["arm64"]
    assert config["Environment"]["Variables"]["MODEL"] == "yolo"
    supervisor = json.loads(config["Environment"]["Variables"]["SCAR_SUPERVISOR_CONFIG"])
    assert supervisor["v"] == 1
    assert supervisor["outputs"] == [{"bucket": BUCKET, "prefix": "results/"}]
    assert supervisor["script"].startswith("echo hello")
    assert found["Tags"]["scar.dev/owner"] == f"ScarFunction/{namespace}/detector"
    assert status["functionArn"] == config["FunctionArn"]

    # The managed role: trust for Lambda only; read the input prefix, write the output prefix, its logs.
    role_name = status["roleArn"].rsplit("/", 1)[-1]
    assert config["Role"] == status["roleArn"] and status["roleManaged"] is True
    iam = aws.client("iam")
    trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="scar-data-access")["PolicyDocument"]
    grants = {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["Statement"]}
    assert grants["ReadInputs"] == (["s3:GetObject"], [f"arn:aws:s3:::{BUCKET}/frames/*"])
    assert grants["WriteOutputs"] == (["s3:PutObject", "s3:AbortMultipartUpload"], [f"arn:aws:s3:::{BUCKET}/results/*"])
    assert grants["WriteLogs"][1] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{status['functionName']}:*"
    ]
    assert set(grants) == {"ReadInputs", "WriteOutputs", "WriteLogs"}

    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix=status["logGroup"])["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [14]

    statement = json.loads(aws.client("lambda").get_policy(FunctionName=status["functionName"])["Policy"])
    [permission] = statement["Statement"]
    assert permission["Principal"] == {"Service": "s3.amazonaws.com"}
    assert permission["Condition"]["ArnLike"]["AWS:SourceArn"] == f"arn:aws:s3:::{BUCKET}"
    assert permission["Condition"]["StringEquals"]["AWS:SourceAccount"] == "123456789012"

    [entry] = our_entries(aws, BUCKET, config["FunctionArn"])
    assert entry["Events"] == ["s3:ObjectCreated:*"]
    assert filter_rules(entry) == {"prefix": "frames/", "suffix": ".jpg"}


def test_the_invoke_permission_is_added_before_the_notification_that_needs_it(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, namespace, function_manifest("ordered", input=[{"bucket": "scar-it-ordered"}],
                                                           output=[{"bucket": "scar-it-ordered-out"}]))
    wait_ready(cluster, namespace, "ordered")
    calls = aws.proxy.calls_since(mark)
    writes = [c.operation for c in calls if not c.is_read]
    assert writes.index("CreateRole") < writes.index("CreateFunction") < writes.index("AddPermission")
    assert writes.index("AddPermission") < writes.index("PutBucketNotificationConfiguration")
    assert {"CreateBucket", "CreateLogGroup", "PutRetentionPolicy", "PutRolePolicy"} <= set(writes)
    # The embedded S3 validates the destination like AWS, and Lambda is Pending for a while after create:
    # nothing was written out of order or too early, so AWS refused nothing.
    assert [str(c) for c in calls if c.refused_write] == []


def test_other_owners_notification_entries_on_the_bucket_are_kept(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="scar-it-shared")
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:someone-elses-queue"
    aws.client("sqs").create_queue(QueueName="someone-elses-queue")
    theirs = {"Id": "theirs", "QueueArn": queue_arn, "Events": ["s3:ObjectRemoved:*"]}
    s3.put_bucket_notification_configuration(Bucket="scar-it-shared",
                                             NotificationConfiguration={"QueueConfigurations": [theirs]})
    cluster.apply(FUNCTIONS, namespace, function_manifest(
        "sharer", input=[{"bucket": "scar-it-shared", "prefix": "in/"}], output=[{"bucket": "scar-it-shared",
                                                                                 "prefix": "out/"}]))
    status = wait_ready(cluster, namespace, "sharer")["status"]
    configuration = s3.get_bucket_notification_configuration(Bucket="scar-it-shared")
    assert [q["Id"] for q in configuration["QueueConfigurations"]] == ["theirs"]
    assert len(our_entries(aws, "scar-it-shared", status["functionArn"])) == 1

    cluster.delete(FUNCTIONS, namespace, "sharer")
    wait_gone(cluster, namespace, "sharer")
    configuration = s3.get_bucket_notification_configuration(Bucket="scar-it-shared")
    assert [q["Id"] for q in configuration["QueueConfigurations"]] == ["theirs"]
    assert "LambdaFunctionConfigurations" not in configuration


def test_edits_update_configuration_then_code_in_separate_passes(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("editor"))
    name = wait_ready(cluster, namespace, "editor")["status"]["functionName"]
    mark = aws.proxy.mark()
    new_image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:2"
    cluster.patch_spec(FUNCTIONS, namespace, "editor", {"memory": 2048, "image": new_image, "timeout": 60})
    obj = wait_for(lambda: (o := cluster.get(FUNCTIONS, namespace, "editor")) and
                   o["status"].get("observedGeneration") == 2 and
                   any(c["type"] == "Ready" and c["status"] == "True" for c in o["status"]["conditions"]) and o,
                   timeout=60, what="generation 2 Ready")
    assert obj["status"]["imageUri"] == new_image
    found = aws.client("lambda").get_function(FunctionName=name)
    assert (found["Configuration"]["MemorySize"], found["Configuration"]["Timeout"]) == (2048, 60)
    assert found["Code"]["ImageUri"] == new_image
    seen = aws.proxy.calls_since(mark)
    calls = [c.operation for c in seen]
    configuration_at = calls.index("UpdateFunctionConfiguration")
    code_at = calls.index("UpdateFunctionCode")
    # The code update waits until the function is no longer InProgress after the configuration update
    # (the embedded Lambda, like AWS, refuses it with ResourceConflictException before then).
    assert configuration_at < code_at
    assert "GetFunction" in calls[configuration_at + 1:code_at]
    assert calls.count("UpdateFunctionConfiguration") == 1 and calls.count("UpdateFunctionCode") == 1
    assert [str(c) for c in seen if c.refused_write] == []


def test_changing_an_input_replaces_only_its_own_entry_and_a_dropped_bucket_loses_its_permission(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    inputs = [{"bucket": "scar-it-multi-a", "prefix": "x/"}, {"bucket": "scar-it-multi-b", "prefix": "y/"}]
    cluster.apply(FUNCTIONS, namespace, function_manifest("mover", input=inputs,
                                                           output=[{"bucket": "scar-it-multi-out"}]))
    status = wait_ready(cluster, namespace, "mover")["status"]
    arn, name = status["functionArn"], status["functionName"]
    assert sorted(status["triggerBuckets"]) == ["scar-it-multi-a", "scar-it-multi-b"]

    cluster.patch_spec(FUNCTIONS, namespace, "mover", {"input": [{"bucket": "scar-it-multi-a", "prefix": "z/"}]})
    wait_for(lambda: (o := cluster.get(FUNCTIONS, namespace, "mover")) and
             o["status"].get("triggerBuckets") == ["scar-it-multi-a"], timeout=60, what="bucket b dropped")
    [entry] = our_entries(aws, "scar-it-multi-a", arn)
    assert filter_rules(entry) == {"prefix": "z/"}
    assert our_entries(aws, "scar-it-multi-b", arn) == []
    policy = json.loads(aws.client("lambda").get_policy(FunctionName=name)["Policy"])
    sources = [s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]]
    assert sources == ["arn:aws:s3:::scar-it-multi-a"]


def test_delete_removes_the_aws_side_and_keeps_buckets_and_data(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("doomed", input=[{"bucket": "scar-it-keep", "prefix": "in/"}],
                                                           output=[{"bucket": "scar-it-keep", "prefix": "out/"}]))
    status = wait_ready(cluster, namespace, "doomed")["status"]
    s3 = aws.client("s3")
    s3.put_object(Bucket="scar-it-keep", Key="out/precious.txt", Body=b"results")
    mark = aws.proxy.mark()

    cluster.delete(FUNCTIONS, namespace, "doomed")
    wait_gone(cluster, namespace, "doomed")

    assert aws.client("lambda").list_functions()["Functions"] == [] or all(
        f["FunctionName"] != status["functionName"] for f in aws.client("lambda").list_functions()["Functions"])
    role_name = status["roleArn"].rsplit("/", 1)[-1]
    assert role_name not in [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]]
    assert aws.client("logs").describe_log_groups(logGroupNamePrefix=status["logGroup"])["logGroups"] == []
    assert s3.get_object(Bucket="scar-it-keep", Key="out/precious.txt")["Body"].read() == b"results"
    assert our_entries(aws, "scar-it-keep", status["functionArn"]) == []
    deletes = [c.operation for c in aws.proxy.calls_since(mark) if not c.is_read]
    assert not any("Bucket" in op and op.startswith("Delete") for op in deletes), deletes
    # The trigger leaves the bucket before its function goes; the invoke permission goes with the
    # function (DeleteFunction takes its policy along), and the role after the function.
    assert "RemovePermission" not in deletes, deletes
    assert deletes.index("PutBucketNotificationConfiguration") < deletes.index("DeleteFunction")
    assert deletes.index("DeleteFunction") < deletes.index("DeleteRole")


def test_retain_keeps_the_function_and_removes_its_triggers(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("keeper", deletionPolicy="Retain"))
    status = wait_ready(cluster, namespace, "keeper")["status"]
    cluster.delete(FUNCTIONS, namespace, "keeper")
    wait_gone(cluster, namespace, "keeper")
    lam = aws.client("lambda")
    retained = lam.get_function(FunctionName=status["functionName"])["Configuration"]
    assert retained["FunctionArn"] == status["functionArn"]
    assert our_entries(aws, BUCKET, status["functionArn"]) == []
    # Cleanup for the shared moto: what Retain left behind is the user's now.
    lam.delete_function(FunctionName=status["functionName"])


def test_deleting_an_object_whose_aws_side_was_removed_by_hand_finishes_promptly(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("orphan", input=[], output=[]))
    status = wait_ready(cluster, namespace, "orphan")["status"]
    aws.client("lambda").delete_function(FunctionName=status["functionName"])
    role_name = status["roleArn"].rsplit("/", 1)[-1]
    iam = aws.client("iam")
    iam.delete_role_policy(RoleName=role_name, PolicyName="scar-data-access")
    iam.delete_role(RoleName=role_name)
    aws.client("logs").delete_log_group(logGroupName=status["logGroup"])

    cluster.delete(FUNCTIONS, namespace, "orphan")
    wait_gone(cluster, namespace, "orphan", timeout=15)


def test_the_objects_events_say_what_was_done_in_aws_and_waiting_for_aws_is_no_error(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Lambda keeps the new function Pending for seconds, as AWS does: the operator must wait through it.
    monkeypatch.setattr(aws_rules, "LAMBDA_SETTLE_SECONDS", 3.0)
    cluster.apply(FUNCTIONS, namespace, function_manifest("narrated"))
    status = wait_ready(cluster, namespace, "narrated")["status"]
    created = ("Normal", "Created", f"Created Lambda function {status['functionName']}")

    def posted_once_created() -> list[tuple[str, str, str]] | None:
        found = events_about(cluster, namespace, "narrated")
        return found if created in found else None

    seen = wait_for(posted_once_created, timeout=30, what="the creation's events")
    role = status["roleArn"].rsplit("/", 1)[-1]
    assert ("Normal", "Created", f"Created IAM role {role}") in seen
    assert ("Normal", "Created", f"Created S3 notifications of this object on bucket {BUCKET}") in seen
    # The function was Pending for a while after its creation: the operator waited (its log says so),
    # and none of that waiting became an Error or Warning event.
    log = operator.logs()
    assert f"Lambda function {status['functionName']}: waiting for the new function to become Active" in log
    # ...and the operator's own log says it as normal work: no ERROR line, no traceback.
    assert [line for line in log.splitlines() if " ERROR " in line or "Traceback" in line] == []
    assert [event for event in seen if event[0] != "Normal"] == []
