"""ScarFunction: the periodic re-check puts back what changed behind the operator's back."""

from __future__ import annotations

import json

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, function_manifest, wait_ready
from tests.harness.waiting import wait_for


def test_memory_changed_by_hand_is_put_back(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("drifty", memory=1024))
    name = wait_ready(cluster, namespace, "drifty")["status"]["functionName"]
    lam = aws.client("lambda")
    lam.update_function_configuration(FunctionName=name, MemorySize=128)
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"]["MemorySize"] == 1024,
             timeout=30, what="memory restored to 1024")


def test_a_deleted_notification_entry_is_put_back(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest(
        "renotify", input=[{"bucket": "scar-it-drift", "prefix": "in/"}], output=[{"bucket": "scar-it-drift-out"}]))
    arn = wait_ready(cluster, namespace, "renotify")["status"]["functionArn"]
    s3 = aws.client("s3")
    s3.put_bucket_notification_configuration(Bucket="scar-it-drift", NotificationConfiguration={})

    def restored() -> bool:
        entries = s3.get_bucket_notification_configuration(Bucket="scar-it-drift").get(
            "LambdaFunctionConfigurations", [])
        return [e["LambdaFunctionArn"] for e in entries] == [arn]

    wait_for(restored, timeout=30, what="notification entry restored")


def test_a_role_policy_widened_by_hand_is_put_back_within_a_few_passes(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("narrow"))
    role = wait_ready(cluster, namespace, "narrow")["status"]["roleArn"].rsplit("/", 1)[-1]
    iam = aws.client("iam")
    wanted = iam.get_role_policy(RoleName=role, PolicyName="scar-data-access")["PolicyDocument"]
    widened = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=role, PolicyName="scar-data-access", PolicyDocument=json.dumps(widened))
    # Roles drift only by hand: they are re-read every few passes (8 s at the tests' 2 s resync).
    wait_for(lambda: iam.get_role_policy(RoleName=role, PolicyName="scar-data-access")["PolicyDocument"] == wanted,
             timeout=30, what="the role's policy narrowed again")


def test_a_pass_with_nothing_to_fix_makes_only_read_calls(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("steady"))
    name = wait_ready(cluster, namespace, "steady")["status"]["functionName"]
    mark = aws.proxy.mark()

    # Periodic re-checks (2 s apart in tests) look at the function, its permission and its triggers
    # on every pass, and at what drifts only by hand (role, log group) every few passes.
    def gets_of_the_function() -> int:
        return len([c for c in aws.proxy.calls_since(mark) if c.operation == "GetFunction" and c.path.endswith(name)])

    wait_for(lambda: gets_of_the_function() >= 6, timeout=60, what="six re-check passes")
    calls = aws.proxy.calls_since(mark)
    writes = [str(c) for c in calls if not c.is_read]
    assert writes == []
    seen = {str(c) for c in calls}
    assert {"lambda.GetFunction", "lambda.GetPolicy", "s3.GetBucketNotificationConfiguration",
            "iam.GetRole", "iam.GetRolePolicy", "logs.DescribeLogGroups"} <= seen
    per_pass = len(calls) / gets_of_the_function()
    assert per_pass <= 4.5, f"{per_pass:.1f} reads a pass: {sorted(seen)}"
    # What cannot drift cheaply is not read on every pass: the bucket's existence and the log
    # group's owner tag were confirmed by the first pass and are read again after their time to live.
    assert not {"s3.HeadBucket", "s3.GetBucketLocation", "logs.ListTagsForResource"} & seen
