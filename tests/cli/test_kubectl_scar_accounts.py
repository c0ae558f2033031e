"""kubectl scar acts as its namespace's ScarAccount, as the operator does, or says why it cannot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scar_operator.kubectl_scar.main import main

from tests.harness.aws import REGION, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.scar import FUNCTIONS

TEAM_ACCOUNT = "111111111111"


@pytest.fixture
def team(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A ScarAccount that selects the test's namespace and assumes a role of account 111111111111."""
    name = f"cli-team-{uuid.uuid4().hex[:6]}"
    cluster.core.patch_namespace(namespace, {"metadata": {"labels": {"scar.dev/team": name}}})
    cluster.apply_cluster_object("scaraccounts", {
        "apiVersion": "scar.dev/v1alpha1", "kind": "ScarAccount", "metadata": {"name": name},
        "spec": {"namespaceSelector": {"matchLabels": {"scar.dev/team": name}},
                 "assumeRoleArn": f"arn:aws:iam::{TEAM_ACCOUNT}:role/scar-tenant/{name}"}})
    yield name
    cluster.delete_cluster_object("scaraccounts", name)


@pytest.mark.usefixtures("user_env")
def test_put_lands_in_the_bucket_of_the_account_the_namespace_acts_as(
        capsys: pytest.CaptureFixture[str], cluster: Cluster, aws: EmulatedAws, namespace: str, team: str,
        tmp_path: Path) -> None:
    bucket = f"cli-team-{uuid.uuid4().hex[:8]}"
    aws.client_in(TEAM_ACCOUNT, "s3").create_bucket(Bucket=bucket)
    cluster.apply(FUNCTIONS, namespace, {
        "apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "detect"},
        "spec": {"image": f"{TEAM_ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/detect:1",
                 "input": [{"bucket": bucket, "prefix": "in/"}], "output": [{"bucket": bucket, "prefix": "out/"}]}})
    (tmp_path / "frame.jpg").write_bytes(b"jpg")

    assert main(["put", "detect", str(tmp_path / "frame.jpg")]) == 0, capsys.readouterr().err
    listed = aws.client_in(TEAM_ACCOUNT, "s3").list_objects_v2(Bucket=bucket, Prefix="in/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["in/frame.jpg"]
    assumed = [c.form() for c in aws.proxy.calls_since(0) if c.operation == "AssumeRole"]
    assert {"RoleArn": f"arn:aws:iam::{TEAM_ACCOUNT}:role/scar-tenant/{team}",
            "RoleSessionName": f"scar-operator-{team}"}.items() <= assumed[-1].items()


@pytest.mark.usefixtures("user_env")
def test_a_namespace_two_accounts_select_is_refused_naming_both(
        capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, team: str) -> None:
    clash = f"{team}-clash"
    cluster.apply_cluster_object("scaraccounts", {
        "apiVersion": "scar.dev/v1alpha1", "kind": "ScarAccount", "metadata": {"name": clash},
        "spec": {"namespaceSelector": {"matchLabels": {"scar.dev/team": team}}}})
    cluster.apply(FUNCTIONS, namespace, {
        "apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "detect"},
        "spec": {"image": "x", "input": [{"bucket": "some-bucket"}]}})
    try:
        code = main(["ls", "detect"])
        err: Any = capsys.readouterr().err
        assert code != 0
        assert "more than one ScarAccount" in err and repr(team) in err and repr(clash) in err
    finally:
        cluster.delete_cluster_object("scaraccounts", clash)
