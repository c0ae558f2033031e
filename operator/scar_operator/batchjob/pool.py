"""Compute pools: ScarBatchJobs of one compute class share one compute environment and one queue.

AWS Batch allows 50 compute environments and 50 job queues per account and Region, and the quota
cannot be raised: one environment per object would cap a platform at 50 batch functions. Objects
whose compute settings are the same get the same pool instead. The class is everything that
decides which instances or tasks a job may land on:

- the compute type (FARGATE, FARGATE_SPOT, EC2, SPOT) and the allocation strategy it implies,
- the instance types (EC2/SPOT), the subnets and the security groups, as resolved (the default
  VPC's when the spec names none),
- whether the jobs need GPUs,

and, so that no pool is ever shared between teams, the identity the object acts as (its
ScarAccount, or the operator itself), the AWS account, the Region and the operator's cluster id.
`maxVcpus` is not part of the class: it sizes the pool (see `pool_capacity`).

Each member keeps its own job definition, roles, dispatcher and log groups, so data and
permissions stay per object: the pool only decides where jobs run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from scar_operator import naming
from scar_operator.batchjob.spec import Compute
from scar_operator.function.desired import Account

POOL_KIND = "ScarBatchPool"
# The team a pool of the operator's own identity (no ScarAccount) belongs to, in its name's hash.
OPERATOR_IDENTITY = "operator"
# The owner tag of a pool's resources is `ScarBatchPool/pools/<name>`: the name alone identifies
# the pool (its hash holds the team), so a member finds it by name whatever its status says.
_POOL_OWNER_SPACE = "pools"
# Room for `-instance` after the name in an IAM role name (64 characters).
_NAME_HASH_LENGTH = 12


@dataclass(frozen=True)
class ComputeClass:
    """What makes two objects' jobs interchangeable on one compute environment."""

    type: str
    allocation_strategy: str | None
    instance_types: tuple[str, ...]
    subnets: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    gpu: bool

    def describe(self) -> str:
        parts = [self.type]
        if self.instance_types:
            parts.append("/".join(self.instance_types))
        if self.gpu:
            parts.append("GPU")
        return " ".join(parts)


def allocation_strategy(compute_type: str) -> str | None:
    """The strategies that let instance types and subnets be updated in place (Fargate has none)."""
    return {"EC2": "BEST_FIT_PROGRESSIVE", "SPOT": "SPOT_CAPACITY_OPTIMIZED"}.get(compute_type)


def compute_class(compute: Compute, subnets: tuple[str, ...], security_group_ids: tuple[str, ...],
                  gpus: int) -> ComputeClass:
    return ComputeClass(
        type=compute.type,
        allocation_strategy=allocation_strategy(compute.type),
        instance_types=tuple(sorted(set(compute.instance_types))),
        subnets=tuple(sorted(set(subnets))),
        security_group_ids=tuple(sorted(set(security_group_ids))),
        gpu=gpus > 0,
    )


@dataclass(frozen=True)
class PoolIdentity:
    """One pool: a compute class within one team's account and Region."""

    name: str
    owner: naming.Owner
    compute: ComputeClass

    @property
    def instance_role_name(self) -> str:
        return f"{self.name}-instance"


def pool_identity(compute: ComputeClass, account: Account, acting_as: str | None, cluster: str) -> PoolIdentity:
    """A name that is a pure function of the class and the team: every member derives the same one,
    so a restart or a lost status finds the pool again."""
    team = acting_as or OPERATOR_IDENTITY
    key = json.dumps([cluster, team, account.partition, account.id, account.region, compute.type,
                      compute.allocation_strategy, compute.instance_types, compute.subnets,
                      compute.security_group_ids, compute.gpu])
    word = compute.type.lower().replace("_", "-")
    name = f"scar-pool-{word}-{naming.short_hash(key, length=_NAME_HASH_LENGTH)}"
    return PoolIdentity(name=name, owner=pool_owner(name, cluster), compute=compute)


def pool_owner(name: str, cluster: str) -> naming.Owner:
    """Who a pool's compute environment, queue and instance role belong to (their owner tags)."""
    return naming.Owner(POOL_KIND, _POOL_OWNER_SPACE, name, cluster)


@dataclass(frozen=True)
class PoolCapacity:
    """The pool's maxvCpus: what to set, and the range a member accepts as it is."""

    target: int
    # The least the members need now: below it, a pass raises the pool at once.
    least: int
    # Above it the pool is far larger than its members need and is brought down (None: not yet
    # known, because the operator has not seen every member since it started).
    most: int | None

    def fits(self, current: int) -> bool:
        return current >= self.least and (self.most is None or current <= self.most)


def _power_of_two_at_least(value: int) -> int:
    return 1 << max(value - 1, 0).bit_length()


def pool_capacity(member_vcpus: list[int], cap: int, all_members_known: bool) -> PoolCapacity:
    """The rule: the members' maxVcpus summed, capped at `cap` (SCAR_BATCH_POOL_MAX_VCPUS), and never
    below the largest member's own maxVcpus. It is set rounded up to a power of two, and lowered
    only once it is more than twice that (so four times what the members need): a bulk apply or
    delete of a hundred members resizes the environment a few times, not a hundred. Lowering
    waits until every member is known, so a restarted operator does not shrink a pool it has seen
    only part of.
    """
    largest = max(member_vcpus, default=1)
    ceiling = max(cap, largest)
    least = max(largest, min(cap, sum(member_vcpus)))
    target = min(_power_of_two_at_least(least), ceiling)
    return PoolCapacity(target=target, least=least, most=2 * target if all_members_known else None)
