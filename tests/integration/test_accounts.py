"""Many teams, one operator: each namespace acts as its ScarAccount's AWS identity, within its guardrails.

One operator serves three namespaces with --require-account: team A's and team B's, each selected
by a ScarAccount that assumes a role in an account of its own (moto's multi-account support), and
a namespace that no ScarAccount selects.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.harness.aws import REGION, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, batch_job_manifest, function_manifest, wait_ready, wait_stalled
from tests.harness.waiting import wait_for

pytestmark = pytest.mark.integration

ACCOUNTS = "scaraccounts"
TEAM_A_ACCOUNT = "111111111111"
TEAM_B_ACCOUNT = "222222222222"


@dataclass
class Team:
    namespace: str
    account: str  # the ScarAccount's name
    account_id: str
    bucket: str

    def image(self, name: str = "detector") -> str:
        return f"{self.account_id}.dkr.ecr.{REGION}.amazonaws.com/{self.account}/{name}:1"

    def function(self, name: str, **spec: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "image": self.image(),
            "input": [{"bucket": self.bucket, "prefix": "in/", "suffix": ".jpg"}],
            "output": [{"bucket": self.bucket, "prefix": "out/"}],
            **spec,
        }
        return function_manifest(name, **fields)


def account_manifest(team: Team, **spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "namespaceSelector": {"matchLabels": {"scar.dev/team": team.account}},
        "assumeRoleArn": f"arn:aws:iam::{team.account_id}:role/scar-tenant/{team.account}",
        "externalId": f"{team.account}-external-id",
        "regions": [REGION],
        "buckets": [{"bucket": team.bucket, "prefixes": ["in/", "out/"]}],
        "images": [f"{team.account_id}.dkr.ecr.{REGION}.amazonaws.com/{team.account}/"],
        "executionRoles": [f"arn:aws:iam::{team.account_id}:role/{team.account}-*"],
        "permissionsBoundaryArn": f"arn:aws:iam::{team.account_id}:policy/scar-tenant-boundary",
        "limits": {"memory": 2048, "timeout": 300},
        **spec,
    }
    return {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarAccount", "metadata": {"name": team.account},
            "spec": fields}


@dataclass
class Tenants:
    a: Team
    b: Team
    unselected: str
    operator: OperatorProcess


@pytest.fixture
def tenants(cluster: Cluster, aws: EmulatedAws, tmp_path: Path) -> Iterator[Tenants]:
    suffix = uuid.uuid4().hex[:6]
    a = Team("", f"team-a-{suffix}", TEAM_A_ACCOUNT, f"team-a-data-{suffix}")
    b = Team("", f"team-b-{suffix}", TEAM_B_ACCOUNT, f"team-b-data-{suffix}")
    for team in (a, b):
        team.namespace = cluster.create_namespace("team", labels={"scar.dev/team": team.account})
        cluster.apply_cluster_object(ACCOUNTS, account_manifest(team))
    unselected = cluster.create_namespace("nobody")
    # The periodic re-check is far away, as in a real install: a change of an account or of a
    # namespace's labels must reach the objects by itself (account/propagation.py).
    operator = OperatorProcess(
        kubeconfig=cluster.kubeconfig, namespace=[a.namespace, b.namespace, unselected], aws_env=aws.operator_env(),
        log_path=tmp_path / "operator.log", extra_args=["--require-account"],
        extra_env={"SCAR_RESYNC_SECONDS": "300"},
    ).start()
    try:
        yield Tenants(a, b, unselected, operator)
    finally:
        for namespace in (a.namespace, b.namespace, unselected):
            for plural in (FUNCTIONS, BATCH_JOBS):
                listing = cluster.custom.list_namespaced_custom_object("scar.dev", "v1alpha1", namespace, plural)
                for item in listing.get("items", []):
                    cluster.delete(plural, namespace, item["metadata"]["name"])
            wait_for(lambda ns=namespace: not any(  # type: ignore[misc]
                cluster.custom.list_namespaced_custom_object("scar.dev", "v1alpha1", ns, p).get("items")
                for p in (FUNCTIONS, BATCH_JOBS)), timeout=60, what=f"objects of {namespace} deleted")
        operator.stop()
        for team in (a, b):
            cluster.delete_cluster_object(ACCOUNTS, team.account)
        print(operator.logs()[-20000:])


def test_each_team_acts_in_its_own_account_and_the_account_reports_it(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    for team in (tenants.a, tenants.b):
        cluster.apply(FUNCTIONS, team.namespace, team.function("detect"))
    for team in (tenants.a, tenants.b):
        made = wait_ready(cluster, team.namespace, "detect")
        arn = made["status"]["functionArn"]
        assert f":{team.account_id}:function:" in arn
        name = made["status"]["functionName"]
        # The function is in the team's account, and not in the operator's own.
        found = aws.client_in(team.account_id, "lambda").get_function(FunctionName=name)
        assert found["Configuration"]["FunctionArn"] == arn
        with pytest.raises(aws.client("lambda").exceptions.ResourceNotFoundException):
            aws.client("lambda").get_function(FunctionName=name)
        # The role the operator made carries the account's permissions boundary.
        role = aws.client_in(team.account_id, "iam").get_role(RoleName=made["status"]["roleArn"].rsplit("/", 1)[1])
        assert role["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(":policy/scar-tenant-boundary")

        account = wait_for(lambda t=team: _ready_account(cluster, t.account), timeout=30,  # type: ignore[misc]
                           what=f"ScarAccount {team.account} Ready")
        assert account["status"]["accountId"] == team.account_id
        assert account["status"]["namespaces"] == [team.namespace]

    # Every call for team A's object went through a session of team A's role, named after its ScarAccount.
    assumed = [c for c in aws.proxy.calls_since(0) if c.operation == "AssumeRole"]
    sessions = {(c.form().get("RoleArn"), c.form().get("RoleSessionName"), c.form().get("ExternalId"))
                for c in assumed}
    for team in (tenants.a, tenants.b):
        assert (f"arn:aws:iam::{team.account_id}:role/scar-tenant/{team.account}", f"scar-operator-{team.account}",
                f"{team.account}-external-id") in sessions


def _ready_account(cluster: Cluster, name: str) -> dict[str, Any] | None:
    account = cluster.get_cluster_object(ACCOUNTS, name) or {}
    status = account.get("status") or {}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    return account if ready and status.get("observedGeneration") == account["metadata"].get("generation") else None


ESCAPES = [
    pytest.param({"input": [{"bucket": "team-b-data", "prefix": "in/"}]}, "spec.input[0]", "s3://team-b-data/in/",
                 id="another team's bucket"),
    pytest.param({"output": [{"bucket": "anywhere-else"}]}, "spec.output[0]", "s3://anywhere-else/",
                 id="writing anywhere"),
    pytest.param({"roleArn": "arn:aws:iam::111111111111:role/Administrator"}, "spec.roleArn",
                 "'arn:aws:iam::111111111111:role/Administrator'", id="an admin role"),
    pytest.param({"image": "docker.io/evil/miner:latest"}, "spec.image", "'docker.io/evil/miner:latest'",
                 id="any image"),
    pytest.param({"region": "eu-west-1"}, "spec.region", "'eu-west-1'", id="another region"),
    pytest.param({"memory": 10240}, "spec.memory", "10240 is above the limit of 2048", id="above the memory limit"),
    pytest.param({"http": {"authType": "NONE"}}, "spec.http.authType", "'NONE' (a URL anyone may invoke)",
                 id="a public URL"),
]


@pytest.mark.parametrize(("change", "field", "value"), ESCAPES)
def test_every_escape_is_refused_naming_field_value_and_account_with_nothing_written(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants, change: dict[str, Any], field: str,
        value: str) -> None:
    team = tenants.a
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, team.namespace, team.function("escape", **change))
    stalled = wait_stalled(cluster, team.namespace, "escape")
    message = stalled["message"]
    reason = stalled["reason"]
    assert reason == "PolicyViolation"
    assert message.startswith(f"{field}: {value}")
    assert message.endswith(f"by ScarAccount {team.account!r}")
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read and c.operation != "AssumeRole"] == []


def test_a_batch_job_beyond_its_limits_is_refused_too(cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    team = tenants.a
    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team, limits={"vcpus": 2, "maxVcpus": 8}))
    mark = aws.proxy.mark()
    manifest = batch_job_manifest("split", image=team.image("split"), resources={"vcpus": 4, "memory": 8192},
                                  input=[{"bucket": team.bucket, "prefix": "in/"}],
                                  output=[{"bucket": team.bucket, "prefix": "out/"}])
    cluster.apply(BATCH_JOBS, team.namespace, manifest)
    stalled = wait_stalled(cluster, team.namespace, "split", plural=BATCH_JOBS)
    message = stalled["message"]
    # Every broken guardrail is named (the account's memory limit of 2048 MiB still applies too).
    assert f"spec.resources.vcpus: 4 is above the limit of 2 set by ScarAccount {team.account!r}" in message
    assert "spec.resources.memory: 8192 is above the limit of 2048" in message
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read and c.operation != "AssumeRole"] == []


def test_a_namespace_no_account_selects_is_refused_and_one_two_select_names_both(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, tenants.unselected, function_manifest("orphan"))
    stalled = wait_stalled(cluster, tenants.unselected, "orphan")
    message = stalled["message"]
    assert "selected by no ScarAccount" in message and "--require-account" in message

    # A second account selecting team A's namespace: its objects are refused, naming both.
    clash = Team(tenants.a.namespace, f"{tenants.a.account}-clash", TEAM_B_ACCOUNT, tenants.b.bucket)
    clash_manifest = account_manifest(clash)
    clash_manifest["spec"]["namespaceSelector"] = {"matchLabels": {"scar.dev/team": tenants.a.account}}
    cluster.apply_cluster_object(ACCOUNTS, clash_manifest)
    try:
        cluster.apply(FUNCTIONS, tenants.a.namespace, tenants.a.function("torn"))
        stalled = wait_stalled(cluster, tenants.a.namespace, "torn")
        message = stalled["message"]
        assert "more than one ScarAccount" in message
        assert repr(tenants.a.account) in message and repr(clash.account) in message
        # Read before the clash goes: from then on the object is served, and rightly makes its function.
        writes = [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read and c.operation != "AssumeRole"]
    finally:
        cluster.delete_cluster_object(ACCOUNTS, clash.account)
    assert writes == []


def test_a_tightened_account_stops_the_data_and_a_loosened_one_restores_it(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    team = tenants.a
    cluster.apply(FUNCTIONS, team.namespace, team.function("detect"))
    made = wait_ready(cluster, team.namespace, "detect")
    s3 = aws.client_in(team.account_id, "s3")

    def our_entries() -> list[str]:
        configuration = s3.get_bucket_notification_configuration(Bucket=team.bucket)
        return [e["Id"] for e in configuration.get("LambdaFunctionConfigurations", [])]

    assert our_entries()

    # The account no longer lets the team read in/: the object is refused and its trigger withdrawn.
    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team, buckets=[{"bucket": team.bucket,
                                                                             "prefixes": ["out/"]}]))
    stalled = wait_stalled(cluster, team.namespace, "detect", timeout=20)
    message = stalled["message"]
    assert message.startswith("spec.input[0]: s3://" + team.bucket + "/in/ is not within the buckets allowed")
    wait_for(lambda: not our_entries() or None, timeout=30, what="the trigger withdrawn")
    # What stays: the function itself, for when it fits again.
    aws.client_in(team.account_id, "lambda").get_function(FunctionName=made["status"]["functionName"])

    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team))
    wait_ready(cluster, team.namespace, "detect", timeout=30)
    wait_for(lambda: our_entries() or None, timeout=30, what="the trigger restored")


def test_a_namespace_that_leaves_its_account_is_refused_at_once_and_served_again_when_it_returns(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    team = tenants.a
    cluster.apply(FUNCTIONS, team.namespace, team.function("detect"))
    wait_ready(cluster, team.namespace, "detect")

    cluster.label_namespace(team.namespace, {"scar.dev/team": None})
    stalled = wait_stalled(cluster, team.namespace, "detect", timeout=20)
    assert "selected by no ScarAccount" in stalled["message"]

    cluster.label_namespace(team.namespace, {"scar.dev/team": team.account})
    wait_ready(cluster, team.namespace, "detect", timeout=20)


def test_a_public_url_closes_when_the_account_stops_allowing_it_and_reopens_after(
        cluster: Cluster, aws: EmulatedAws, tenants: Tenants) -> None:
    team = tenants.a
    public = {"scar-function-url-public", "scar-function-url-public-invoke"}
    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team, allowPublicUrls=True))
    cluster.apply(FUNCTIONS, team.namespace, team.function("web", input=[], http={"authType": "NONE"}))
    name = wait_ready(cluster, team.namespace, "web")["status"]["functionName"]
    lambda_ = aws.client_in(team.account_id, "lambda")

    def grants() -> set[str]:
        try:
            policy = json.loads(lambda_.get_policy(FunctionName=name)["Policy"])
        except lambda_.exceptions.ResourceNotFoundException:
            return set()
        return {s["Sid"] for s in policy["Statement"]} & public

    assert grants() == public

    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team, allowPublicUrls=False))
    stalled = wait_stalled(cluster, team.namespace, "web", timeout=30)
    assert stalled["message"].startswith("spec.http.authType: 'NONE' (a URL anyone may invoke) is not allowed")
    wait_for(lambda: not grants() or None, timeout=30, what="the public grant withdrawn")
    assert lambda_.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"  # the URL stays, closed

    cluster.apply_cluster_object(ACCOUNTS, account_manifest(team, allowPublicUrls=True))
    wait_ready(cluster, team.namespace, "web", timeout=30)
    assert grants() == public
