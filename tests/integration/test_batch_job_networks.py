"""EC2 and SPOT compute without subnets run in the default VPC, as Fargate does; no default VPC is Stalled."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.harness.aws import CREDENTIALS, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_ready, wait_stalled

NO_DEFAULT_VPC_REGION = "ap-southeast-2"


@pytest.mark.parametrize("compute_type", ["EC2", "SPOT"])
def test_ec2_and_spot_without_subnets_use_the_default_vpc(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, compute_type: str,
) -> None:
    # SCAR's batch examples name no network at all: type, vCPUs and instance types only.
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "yolo", resources={"vcpus": 4, "memory": 12288, "gpus": 1},
        compute={"type": compute_type, "maxVcpus": 12, "instanceTypes": ["g4dn.xlarge"]}))
    status = wait_ready(cluster, namespace, "yolo", BATCH_JOBS)["status"]

    environment = aws.client("batch").describe_compute_environments(
        computeEnvironments=[status["computeEnvironmentArn"]])["computeEnvironments"][0]
    resources = environment["computeResources"]
    assert (resources["type"], resources["instanceTypes"]) == (compute_type, ["g4dn.xlarge"])
    ec2 = aws.client("ec2")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    default_subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default_vpc]},
                                                    {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert sorted(resources["subnets"]) == sorted(s["SubnetId"] for s in default_subnets)
    [group] = resources["securityGroupIds"]
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["GroupName"] == "default"


def test_a_region_without_a_default_vpc_is_stalled_naming_the_subnets_with_nothing_written(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess,
) -> None:
    regional = boto3.client("ec2", endpoint_url=aws.moto_url, region_name=NO_DEFAULT_VPC_REGION,
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
    for vpc in regional.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]:
        for subnet in regional.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]:
            regional.delete_subnet(SubnetId=subnet["SubnetId"])
        regional.delete_vpc(VpcId=vpc["VpcId"])
    mark = aws.proxy.mark()
    bucket = f"scar-it-novpc-{uuid.uuid4().hex[:8]}"
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "nowhere", region=NO_DEFAULT_VPC_REGION, compute={"type": "EC2"},
        input=[{"bucket": bucket, "prefix": "videos/"}], output=[{"bucket": bucket, "prefix": "frames/"}]))

    stalled = wait_stalled(cluster, namespace, "nowhere", BATCH_JOBS)
    assert stalled["message"].startswith(f"spec.compute.subnets: region {NO_DEFAULT_VPC_REGION} has no default VPC")
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []
