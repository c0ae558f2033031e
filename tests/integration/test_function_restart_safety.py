"""ScarFunction: an operator killed at any point of a create converges after a restart, with no
duplicate and no orphan (deterministic names, owner tags)."""

from __future__ import annotations

import pytest

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, function_manifest, wait_gone, wait_ready
from tests.harness.waiting import wait_for


def owned(aws: EmulatedAws, namespace: str, name: str) -> dict[str, list[str]]:
    """Every AWS resource that carries this object's owner tag or its notification id prefix."""
    owner = f"ScarFunction/{namespace}/{name}"
    lam, iam, logs, s3 = (aws.client(s) for s in ("lambda", "iam", "logs", "s3"))
    functions = [f["FunctionName"] for f in lam.list_functions()["Functions"]
                 if lam.list_tags(Resource=f["FunctionArn"])["Tags"].get("scar.dev/owner") == owner]
    roles = [r["RoleName"] for r in iam.list_roles(PathPrefix="/scar/")["Roles"]
             if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"])["Tags"]}
             .get("scar.dev/owner") == owner]
    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
              if logs.list_tags_for_resource(resourceArn=g["arn"].removesuffix(":*"))["tags"]
              .get("scar.dev/owner") == owner]
    entries = [e["Id"] for e in s3.get_bucket_notification_configuration(Bucket="scar-it-restart")
               .get("LambdaFunctionConfigurations", []) if any(f in e["LambdaFunctionArn"] for f in functions)]
    return {"functions": functions, "roles": roles, "log groups": groups, "entries": entries}


# A create makes 7 writes once the bucket exists (log group, retention, role, role policy, function,
# permission, notification): killed after each of these points, from the first to the last.
@pytest.mark.parametrize("writes_before_the_kill", [1, 2, 4, 6, 7])
def test_killed_mid_create_it_converges_with_no_duplicate(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, writes_before_the_kill: int
) -> None:
    manifest = function_manifest("phoenix", input=[{"bucket": "scar-it-restart", "prefix": "in/"}],
                                 output=[{"bucket": "scar-it-restart", "prefix": "out/"}])
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, namespace, manifest)
    wait_for(lambda: len([c for c in aws.proxy.calls_since(mark) if not c.is_read]) >= writes_before_the_kill,
             timeout=30, interval=0.005, what=f"{writes_before_the_kill} AWS writes")
    operator.kill()
    operator.start()

    wait_ready(cluster, namespace, "phoenix")
    found = owned(aws, namespace, "phoenix")
    assert {kind: len(names) for kind, names in found.items()} == {
        "functions": 1, "roles": 1, "log groups": 1, "entries": 1
    }, found

    cluster.delete(FUNCTIONS, namespace, "phoenix")
    wait_gone(cluster, namespace, "phoenix")
    assert owned(aws, namespace, "phoenix") == {"functions": [], "roles": [], "log groups": [], "entries": []}
