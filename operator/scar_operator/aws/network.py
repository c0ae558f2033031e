"""The default network for a compute environment whose spec names no subnets (as SCAR's examples
name none): the default VPC's default subnets and its default security group. Read-only.

Without a default VPC (or default subnets) the spec must name the network: a SpecError naming
the field, so that the object is Stalled before anything is written."""

from __future__ import annotations

from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call
from scar_operator.batchjob.desired import Network
from scar_operator.models import SpecError


def resolve_network(ec2: Any, subnets: list[str], security_groups: list[str],
                    facts: ConfirmedFacts | None = None, ttl_seconds: float = 0.0) -> Network:
    """The spec's subnets and groups; the default VPC's default subnets and group for what is absent.

    What was resolved is remembered in `facts` for `ttl_seconds` (the slow-drift re-check): every
    member of a compute pool resolves the same default network, and it changes only by hand."""
    if subnets and security_groups:
        return Network(tuple(subnets), tuple(security_groups))
    fact = ("resolved-network", ec2.meta.region_name, tuple(subnets), tuple(security_groups))
    known = facts.value(fact) if facts is not None else None
    if isinstance(known, Network):
        return known
    network = _resolve(ec2, subnets, security_groups)
    if facts is not None:
        facts.confirm(fact, ttl_seconds, value=network)
    return network


def _resolve(ec2: Any, subnets: list[str], security_groups: list[str]) -> Network:
    if subnets:
        described = call("DescribeSubnets", lambda: ec2.describe_subnets(SubnetIds=subnets))["Subnets"]
        vpc = described[0]["VpcId"]
    else:
        vpcs = call("DescribeVpcs", lambda: ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}]))
        if not vpcs.get("Vpcs"):
            raise SpecError(f"spec.compute.subnets: region {ec2.meta.region_name} has no default VPC; name the "
                            f"subnets to run in (or create a default VPC: aws ec2 create-default-vpc)")
        vpc = vpcs["Vpcs"][0]["VpcId"]
        found = call("DescribeSubnets", lambda: ec2.describe_subnets(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}, {"Name": "default-for-az", "Values": ["true"]}]))
        subnets = sorted(s["SubnetId"] for s in found.get("Subnets", []))
        if not subnets:
            raise SpecError(f"spec.compute.subnets: the default VPC {vpc} of region {ec2.meta.region_name} has no "
                            f"default subnets; name the subnets to run in")
    if not security_groups:
        groups = call("DescribeSecurityGroups", lambda: ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]))
        security_groups = [g["GroupId"] for g in groups.get("SecurityGroups", [])][:1]
    return Network(tuple(subnets), tuple(security_groups))
