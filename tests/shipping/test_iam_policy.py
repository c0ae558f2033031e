"""manifests/iam-policy.json grants exactly what the operator calls: nothing missing, nothing extra.

Every AWS call of the operator goes through aws/errors.py's call helpers with its operation name;
this test reads those names from the source and maps each to the IAM actions AWS checks for it.
"""

from __future__ import annotations

import ast
import json

from tests.harness.cluster import REPO

OPERATOR = REPO / "operator" / "scar_operator"
CALL_HELPERS = {"call", "call_or_none", "call_idempotent", "call_create"}

# operation -> the IAM actions it needs (tagging at create time needs the Tag action too).
ACTIONS: dict[str, set[str]] = {
    "AddPermission": {"lambda:AddPermission"},
    "CreateFunction": {"lambda:CreateFunction", "lambda:TagResource", "iam:PassRole"},
    "DeleteFunction": {"lambda:DeleteFunction"},
    "CreateFunctionUrlConfig": {"lambda:CreateFunctionUrlConfig"},
    "GetFunctionUrlConfig": {"lambda:GetFunctionUrlConfig"},
    "UpdateFunctionUrlConfig": {"lambda:UpdateFunctionUrlConfig"},
    "DeleteFunctionUrlConfig": {"lambda:DeleteFunctionUrlConfig"},
    "GetFunction": {"lambda:GetFunction", "lambda:ListTags"},
    "GetPolicy": {"lambda:GetPolicy"},
    "Invoke": {"lambda:InvokeFunction"},
    "RemovePermission": {"lambda:RemovePermission"},
    "UpdateFunctionCode": {"lambda:UpdateFunctionCode"},
    "UpdateFunctionConfiguration": {"lambda:UpdateFunctionConfiguration", "iam:PassRole"},
    "CreateBucket": {"s3:CreateBucket"},
    "GetBucketLocation": {"s3:GetBucketLocation"},
    "HeadBucket": {"s3:ListBucket"},
    "ListObjectsV2": {"s3:ListBucket"},
    "GetBucketNotificationConfiguration": {"s3:GetBucketNotification"},
    "PutBucketNotificationConfiguration": {"s3:PutBucketNotification"},
    "CreateLogGroup": {"logs:CreateLogGroup", "logs:TagResource"},
    "DeleteLogGroup": {"logs:DeleteLogGroup"},
    "DescribeLogGroups": {"logs:DescribeLogGroups"},
    "ListTagsForResource": {"logs:ListTagsForResource"},
    "PutRetentionPolicy": {"logs:PutRetentionPolicy"},
    "TagResource": {"logs:TagResource"},
    "AddRoleToInstanceProfile": {"iam:AddRoleToInstanceProfile", "iam:PassRole"},
    "CreateInstanceProfile": {"iam:CreateInstanceProfile", "iam:TagInstanceProfile"},
    "CreateRole": {"iam:CreateRole", "iam:TagRole"},
    "CreateServiceLinkedRole": {"iam:CreateServiceLinkedRole"},
    "DeleteInstanceProfile": {"iam:DeleteInstanceProfile"},
    "DeleteRole": {"iam:DeleteRole"},
    "DeleteRolePolicy": {"iam:DeleteRolePolicy"},
    "DetachRolePolicy": {"iam:DetachRolePolicy"},
    "GetInstanceProfile": {"iam:GetInstanceProfile"},
    "GetRole": {"iam:GetRole"},
    "GetRolePolicy": {"iam:GetRolePolicy"},
    "ListAttachedRolePolicies": {"iam:ListAttachedRolePolicies"},
    "ListRolePolicies": {"iam:ListRolePolicies"},
    "ListRoles": {"iam:ListRoles"},
    "PutRolePolicy": {"iam:PutRolePolicy"},
    "PutRolePermissionsBoundary": {"iam:PutRolePermissionsBoundary"},
    "DeleteRolePermissionsBoundary": {"iam:DeleteRolePermissionsBoundary"},
    "RemoveRoleFromInstanceProfile": {"iam:RemoveRoleFromInstanceProfile"},
    "UpdateAssumeRolePolicy": {"iam:UpdateAssumeRolePolicy"},
    "CreateComputeEnvironment": {"batch:CreateComputeEnvironment", "batch:TagResource", "iam:PassRole"},
    "CreateJobQueue": {"batch:CreateJobQueue", "batch:TagResource"},
    "DeleteComputeEnvironment": {"batch:DeleteComputeEnvironment"},
    "DeleteJobQueue": {"batch:DeleteJobQueue"},
    "DeregisterJobDefinition": {"batch:DeregisterJobDefinition"},
    "DescribeComputeEnvironments": {"batch:DescribeComputeEnvironments"},
    "DescribeJobDefinitions": {"batch:DescribeJobDefinitions"},
    "DescribeJobQueues": {"batch:DescribeJobQueues"},
    "ListJobs": {"batch:ListJobs"},
    "RegisterJobDefinition": {"batch:RegisterJobDefinition", "batch:TagResource", "iam:PassRole"},
    "UpdateComputeEnvironment": {"batch:UpdateComputeEnvironment"},
    "UpdateJobQueue": {"batch:UpdateJobQueue"},
    "DescribeSecurityGroups": {"ec2:DescribeSecurityGroups"},
    "DescribeSubnets": {"ec2:DescribeSubnets"},
    "DescribeVpcs": {"ec2:DescribeVpcs"},
    "GetCallerIdentity": set(),  # STS answers it for any caller: no permission can deny it
    "GetAuthorizationToken": {"ecr:GetAuthorizationToken"},
    "CreateRepository": {"ecr:CreateRepository", "ecr:TagResource"},
    "PutLifecyclePolicy": {"ecr:PutLifecyclePolicy"},
    "BatchDeleteImage": {"ecr:BatchDeleteImage"},
    "ListImages": {"ecr:ListImages"},
    "DeleteRepository": {"ecr:DeleteRepository"},
}


# Calls not made through the call helpers: botocore's assume-role credential fetcher calls STS
# for every ScarAccount with an assumeRoleArn (account/sessions.py); the registry API of ECR, which
# assembled images are pushed and checked with (images/registry.py), is authorised as these ECR
# actions; and Lambda pulls a function's ECR image with its caller's rights at CreateFunction.
OUTSIDE_THE_HELPERS = {
    "AssumeRole": {"sts:AssumeRole"},
    "registry API": {"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                     "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"},
}


def test_the_calls_outside_the_helpers_are_still_made() -> None:
    source = (OPERATOR / "account" / "sessions.py").read_text()
    assert "AssumeRoleCredentialFetcher" in source
    registry = (OPERATOR / "images" / "registry.py").read_text()
    assert "push_blob" in registry and '"manifests/"' in registry


def test_the_operator_touches_images_only_in_its_own_repositories() -> None:
    policy = json.loads((REPO / "manifests" / "iam-policy.json").read_text())
    [images] = [s for s in policy["Statement"] if "ecr:PutImage" in s["Action"]]
    assert images["Resource"] == "arn:aws:ecr:*:*:repository/scar-images/*"


def operations_in_the_code() -> set[str]:
    found = set()
    for path in OPERATOR.rglob("*.py"):
        if "local" in path.relative_to(OPERATOR).parts:
            continue  # the emulators and the demo are not the operator
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CALL_HELPERS
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(str(node.args[0].value))
    return found


def granted() -> set[str]:
    policy = json.loads((REPO / "manifests" / "iam-policy.json").read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


def test_every_operation_the_operator_calls_is_known_here() -> None:
    assert operations_in_the_code() - set(ACTIONS) == set()


def test_the_policy_grants_exactly_what_the_calls_need() -> None:
    needed = set().union(*(ACTIONS[o] for o in operations_in_the_code()), *OUTSIDE_THE_HELPERS.values())
    assert granted() == needed


def test_roles_are_passed_only_to_the_services_that_run_them() -> None:
    policy = json.loads((REPO / "manifests" / "iam-policy.json").read_text())
    [passing] = [s for s in policy["Statement"] if s["Action"] == ["iam:PassRole"]]
    assert set(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com", "batch.amazonaws.com"}
    [managed] = [s for s in policy["Statement"] if "iam:CreateRole" in s["Action"]]
    assert managed["Resource"] == ["arn:aws:iam::*:role/scar/*", "arn:aws:iam::*:instance-profile/scar/*"]


def test_roles_are_passed_only_from_the_paths_the_operator_manages_or_tenants_are_given() -> None:
    """A tenant naming an administrator role gets nothing from AWS either: PassRole covers the
    operator's own roles, the path a platform team gives its tenants' execution roles, and Batch's
    service-linked role; and the operator assumes only the roles made for ScarAccounts."""
    policy = json.loads((REPO / "manifests" / "iam-policy.json").read_text())
    [passing] = [s for s in policy["Statement"] if s["Action"] == ["iam:PassRole"]]
    assert passing["Resource"] == ["arn:aws:iam::*:role/scar/*", "arn:aws:iam::*:role/scar-tenant-execution/*",
                                   "arn:aws:iam::*:role/aws-service-role/batch.amazonaws.com/*"]
    [assuming] = [s for s in policy["Statement"] if s["Action"] == ["sts:AssumeRole"]]
    assert assuming["Resource"] == "arn:aws:iam::*:role/scar-tenant/*"
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        wildcard = "*" in ([resources] if isinstance(resources, str) else resources)
        assert not (wildcard and {"iam:PassRole", "sts:AssumeRole"} & set(statement["Action"])), statement
