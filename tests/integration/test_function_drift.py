"""ScarFunction: the periodic re-check puts back what changed behind the operator's back."""

from __future__ import annotations

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


def test_a_pass_with_nothing_to_fix_makes_only_read_calls(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    cluster.apply(FUNCTIONS, namespace, function_manifest("steady"))
    name = wait_ready(cluster, namespace, "steady")["status"]["functionName"]
    mark = aws.proxy.mark()

    # Two periodic re-checks (2 s apart in tests) have looked at the function.
    wait_for(lambda: [c.path for c in aws.proxy.calls_since(mark)
                      if c.operation == "GetFunction" and c.path.endswith(name)].__len__() >= 2,
             timeout=30, what="two re-check passes")
    calls = aws.proxy.calls_since(mark)
    writes = [str(c) for c in calls if not c.is_read]
    assert writes == []
    assert {"s3.HeadBucket", "logs.DescribeLogGroups", "iam.GetRole", "lambda.GetFunction", "lambda.GetPolicy",
            "s3.GetBucketNotificationConfiguration"} <= {str(c) for c in calls}
