"""ScarFunction: AWS errors. Throttling, conflicts and IAM propagation are retried with backoff;
access denied and validation errors surface in Stalled with AWS's own message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scar_operator.aws.errors import RETRY_ATTEMPTS

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, function_manifest, wait_ready, wait_stalled
from tests.harness.waiting import wait_for


@pytest.fixture(autouse=True)
def no_faults_left(aws: EmulatedAws) -> Iterator[None]:
    yield
    aws.proxy.clear_faults()


def create_function_calls(aws: EmulatedAws, mark: int) -> int:
    return [c.operation for c in aws.proxy.calls_since(mark)].count("CreateFunction")


def test_throttling_is_retried_until_it_passes(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    mark = aws.proxy.mark()
    # More throttles than one call's own retries absorb, so the operator's requeue has to carry it.
    throttles = RETRY_ATTEMPTS + 2
    aws.proxy.inject("lambda", "CreateFunction", "TooManyRequestsException", "Rate exceeded", status=429,
                     times=throttles)
    cluster.apply(FUNCTIONS, namespace, function_manifest("throttled"))
    wait_ready(cluster, namespace, "throttled")
    assert create_function_calls(aws, mark) == throttles + 1


def test_the_role_propagation_delay_is_retried_not_stalled(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    mark = aws.proxy.mark()
    aws.proxy.inject("lambda", "CreateFunction", "InvalidParameterValueException",
                     "The role defined for the function cannot be assumed by Lambda.", times=2)
    cluster.apply(FUNCTIONS, namespace, function_manifest("fresh-role"))
    obj = wait_ready(cluster, namespace, "fresh-role")
    assert create_function_calls(aws, mark) == 3
    assert next(c for c in obj["status"]["conditions"] if c["type"] == "Stalled")["status"] == "False"


def test_a_conflict_is_retried(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    aws.proxy.inject("lambda", "AddPermission", "ResourceConflictException",
                     "The operation cannot be performed at this time. An update is in progress.", status=409, times=2)
    cluster.apply(FUNCTIONS, namespace, function_manifest("conflicted"))
    wait_ready(cluster, namespace, "conflicted")


def test_access_denied_stalls_with_aws_message_and_recovers_when_permissions_are_fixed(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    message = ("User: arn:aws:sts::123456789012:assumed-role/scar-operator/x is not authorized to perform: "
               "s3:PutBucketNotification on resource: arn:aws:s3:::scar-it-video")
    aws.proxy.inject("s3", "PutBucketNotificationConfiguration", "AccessDenied", message, status=403, times=1000)
    cluster.apply(FUNCTIONS, namespace, function_manifest("denied"))
    stalled = wait_stalled(cluster, namespace, "denied")
    assert stalled["reason"] == "AccessDenied"
    assert "not authorized to perform: s3:PutBucketNotification" in stalled["message"]

    aws.proxy.clear_faults()  # the platform team fixes the operator's IAM policy
    wait_ready(cluster, namespace, "denied", timeout=30)


def test_a_full_account_quota_stalls_naming_it_and_recovers_by_itself_once_there_is_room(
    cluster: Cluster, aws: EmulatedAws, namespace: str, tmp_path: Path
) -> None:
    # The periodic re-check is far away: only the quota's own slow retry can bring it back.
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=tmp_path / "operator.log",
                              extra_env={"SCAR_RESYNC_SECONDS": "300", "SCAR_QUOTA_RETRY_SECONDS": "1"}).start()
    try:
        mark = aws.proxy.mark()
        aws.proxy.inject("iam", "CreateRole", "LimitExceeded", "Cannot exceed quota for RolesPerAccount: 1000",
                         status=409, times=1000)
        cluster.apply(FUNCTIONS, namespace, function_manifest("no-room"))
        stalled = wait_stalled(cluster, namespace, "no-room")
        assert stalled["reason"] == "QuotaExceeded"
        assert "IAM RolesPerAccount quota is full" in stalled["message"]
        ready = wait_for(lambda: cluster.condition(FUNCTIONS, namespace, "no-room", "Ready"), what="Ready")
        assert ready["status"] == "False" and ready["reason"] == "QuotaExceeded"
        # Nothing that needs the role was made without it.
        assert "CreateFunction" not in [c.operation for c in aws.proxy.calls_since(mark)]

        aws.proxy.clear_faults()  # another tool's roles are deleted: the account has room again
        wait_ready(cluster, namespace, "no-room", timeout=30)
        cluster.delete(FUNCTIONS, namespace, "no-room")
        wait_for(lambda: cluster.get(FUNCTIONS, namespace, "no-room") is None, timeout=30, what="deleted")
    finally:
        process.stop()


def test_a_validation_error_from_aws_stalls_with_its_message(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess
) -> None:
    aws.proxy.inject("lambda", "CreateFunction", "InvalidParameterValueException",
                     "Source image 123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1 does not exist.", times=1000)
    cluster.apply(FUNCTIONS, namespace, function_manifest("no-image"))
    stalled = wait_stalled(cluster, namespace, "no-image")
    assert stalled["reason"] == "InvalidParameterValueException"
    assert "does not exist" in stalled["message"]
    synced = wait_for(lambda: cluster.condition(FUNCTIONS, namespace, "no-image", "Synced"), what="Synced")
    assert synced["status"] == "False"
