"""The default network for a Fargate compute environment whose spec names no subnets. Read-only."""

from __future__ import annotations

from typing import Any

from scar_operator.aws.errors import AwsError, ErrorKind, call
from scar_operator.batch_desired import Network


def resolve_network(ec2: Any, subnets: list[str], security_groups: list[str]) -> Network:
    """The spec's subnets and groups; the default VPC's default subnets and group for what is absent."""
    if subnets and security_groups:
        return Network(tuple(subnets), tuple(security_groups))
    if subnets:
        described = call("DescribeSubnets", lambda: ec2.describe_subnets(SubnetIds=subnets))["Subnets"]
        vpc = described[0]["VpcId"]
    else:
        vpcs = call("DescribeVpcs", lambda: ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}]))
        if not vpcs.get("Vpcs"):
            raise AwsError(ErrorKind.TERMINAL, "NoDefaultVpc",
                           "spec.compute.subnets: this region has no default VPC; name the subnets to run in",
                           "DescribeVpcs")
        vpc = vpcs["Vpcs"][0]["VpcId"]
        found = call("DescribeSubnets", lambda: ec2.describe_subnets(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]))
        subnets = sorted(s["SubnetId"] for s in found.get("Subnets", []))
        if not subnets:
            raise AwsError(ErrorKind.TERMINAL, "NoDefaultSubnets",
                           f"spec.compute.subnets: the default VPC {vpc} has no default subnets; name the subnets",
                           "DescribeSubnets")
    if not security_groups:
        groups = call("DescribeSecurityGroups", lambda: ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]))
        security_groups = [g["GroupId"] for g in groups.get("SecurityGroups", [])][:1]
    return Network(tuple(subnets), tuple(security_groups))
