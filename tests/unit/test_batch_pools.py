"""Compute pools: which objects share one, how large it is, who its members are, and how a queue
that still holds jobs is left alone."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from scar_operator.aws.batch_compute_environment import ComputeEnvironment
from scar_operator.aws.batch_job_queue import UNFINISHED_JOB_STATES, JobQueue
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.instance_profile import InstanceProfile
from scar_operator.batchjob.desired import plan_pool
from scar_operator.batchjob.pool import ComputeClass, compute_class, pool_capacity, pool_identity
from scar_operator.batchjob.pool_members import PoolMembers
from scar_operator.batchjob.spec import Compute
from scar_operator.function.desired import Account
from scar_operator.naming import Owner
from scar_operator.outcome import from_outcome
from scar_operator.reconciler import InlineWait, LongWait, Observation, Outcome, teardown
from scar_operator.settings import OperatorSettings

ACCOUNT = Account("123456789012", "eu-west-1")
SUBNETS = ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
GROUPS = ("sg-0123456789abcdef0",)


def klass(gpus: int = 0, subnets: tuple[str, ...] = SUBNETS, **compute: Any) -> ComputeClass:
    return compute_class(Compute.model_validate(compute), subnets, GROUPS, gpus)


def pool(c: ComputeClass, team: str | None = None, account: Account = ACCOUNT, cluster: str = "") -> str:
    return pool_identity(c, account, team, cluster).name


# --- which objects share a pool ---


def test_the_same_compute_settings_give_the_same_pool_whatever_their_order_or_maxvcpus() -> None:
    first = klass(type="EC2", instanceTypes=["c5", "m5"], maxVcpus=4)
    second = klass(subnets=tuple(reversed(SUBNETS)), type="EC2", instanceTypes=["m5", "c5"], maxVcpus=64)
    assert pool(first) == pool(second)


@pytest.mark.parametrize(("what", "other"), [
    ("the compute type", lambda: pool(klass(type="FARGATE_SPOT"))),
    ("the subnets", lambda: pool(klass(subnets=SUBNETS[:1]))),
    ("GPUs", lambda: pool(klass(gpus=1, type="EC2"))),
    ("the team (ScarAccount)", lambda: pool(klass(), team="analytics")),
    ("the AWS account", lambda: pool(klass(), account=Account("210987654321", "eu-west-1"))),
    ("the Region", lambda: pool(klass(), account=Account("123456789012", "eu-central-1"))),
    ("the cluster", lambda: pool(klass(), cluster="staging")),
])
def test_a_pool_is_never_shared_across(what: str, other: Any) -> None:
    base = pool(klass()) if what != "GPUs" else pool(klass(type="EC2"))
    assert other() != base, what


def test_pool_names_fit_batch_and_iam_limits() -> None:
    identity = pool_identity(klass(type="FARGATE_SPOT"), ACCOUNT, "t" * 253, "c" * 63)
    assert identity.name.startswith("scar-pool-fargate-spot-") and len(identity.name) <= 128
    assert len(identity.instance_role_name) <= 64
    assert identity.owner.key == f"ScarBatchPool/pools/{identity.name}"


# --- how large a pool is ---


def test_a_pool_holds_its_members_maxvcpus_summed_as_a_power_of_two() -> None:
    capacity = pool_capacity([4, 4, 8], cap=256, all_members_known=True)
    assert (capacity.least, capacity.target, capacity.most) == (16, 16, 32)
    assert pool_capacity([4, 4, 4], cap=256, all_members_known=True).target == 16


def test_the_sum_is_capped_but_never_below_the_largest_member() -> None:
    assert pool_capacity([16] * 100, cap=256, all_members_known=True).target == 256
    alone = pool_capacity([1000, 4], cap=256, all_members_known=True)
    assert (alone.least, alone.target) == (1000, 1000)


def test_a_pool_grows_at_once_and_shrinks_only_when_four_times_too_large() -> None:
    capacity = pool_capacity([16, 16], cap=256, all_members_known=True)
    assert not capacity.fits(16)  # a member joined: raised now
    assert capacity.fits(32) and capacity.fits(64)  # a member left a pool of 64: left as it is
    assert not capacity.fits(128)  # far too large: brought down to 32


def test_a_pool_is_not_shrunk_before_every_member_is_known() -> None:
    capacity = pool_capacity([16], cap=256, all_members_known=False)
    assert capacity.most is None and capacity.fits(256)


# --- who is in a pool ---


def body(name: str, pool: str | None, generation: int = 1, observed: int | None = 1, deleting: bool = False,
         max_vcpus: int | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": "video", "name": name, "generation": generation}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T00:00:00Z"
    spec = {"compute": {"maxVcpus": max_vcpus}} if max_vcpus else {}
    return {"metadata": meta, "spec": spec, "status": {"computePool": pool, "observedGeneration": observed}}


def vcpus(members: PoolMembers, pool_name: str, excluding: tuple[str, str] | None = None) -> list[int]:
    return sorted(m.vcpus for m in members.members(pool_name, excluding))


def test_members_are_learned_from_passes_and_from_current_statuses() -> None:
    members = PoolMembers()
    members.joined("video", "a", "p1", 4)
    members.seen(body("b", "p1", max_vcpus=8))
    members.seen(body("c", "p2"))
    assert vcpus(members, "p1") == [4, 8] and vcpus(members, "p2") == [16]
    assert vcpus(members, "p1", excluding=("video", "a")) == [8]


def test_a_status_written_for_an_older_generation_does_not_move_a_member_back() -> None:
    members = PoolMembers()
    members.joined("video", "a", "new", 4)  # the pass of generation 2
    members.seen(body("a", "old", generation=2, observed=1))  # the watch, before that pass's status
    assert vcpus(members, "new") == [4] and vcpus(members, "old") == []


def test_a_member_being_deleted_or_gone_no_longer_counts() -> None:
    members = PoolMembers()
    members.seen(body("a", "p1"))
    members.seen(body("b", "p1"))
    members.seen(body("a", "p1", deleting=True))
    members.seen(body("b", "p1"), deleted=True)
    assert members.members("p1") == []


def test_a_current_status_without_a_pool_leaves_it() -> None:
    members = PoolMembers()
    members.joined("video", "a", "p1", 4)
    members.seen(body("a", None))  # now on a shared queue
    assert members.members("p1") == []


def test_the_listing_is_made_once_and_fills_only_what_the_watch_has_not_said() -> None:
    listed: list[int] = []

    def list_all() -> Iterable[Mapping[str, Any]]:
        listed.append(1)
        return [body("a", "stale"), body("b", "p1")]

    members = PoolMembers(list_all)
    members.joined("video", "a", "p1", 4)
    assert not members.all_known
    assert members.prime() and members.prime()
    assert listed == [1] and members.all_known
    assert vcpus(members, "p1") == [4, 16] and members.members("stale") == []


def test_a_failed_listing_decides_nothing_and_is_tried_again() -> None:
    answers: list[Exception | None] = [ConnectionError("refused"), None]

    def list_all() -> Iterable[Mapping[str, Any]]:
        failure = answers.pop(0)
        if failure is not None:
            raise failure
        return []

    members = PoolMembers(list_all)
    assert not members.prime() and not members.all_known
    assert members.prime() and members.all_known


# --- a queue that still holds jobs ---


class QueueWithJobs:
    """AWS Batch holding one ENABLED queue with `jobs` unfinished jobs in RUNNING."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.listed: list[str] = []

    def describe_job_queues(self, jobQueues: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"jobQueues": [{"jobQueueName": jobQueues[0], "state": "ENABLED", "status": "VALID",
                               "tags": OWNER.tags()}]}

    def list_jobs(self, jobQueue: str, jobStatus: str, maxResults: int) -> dict[str, Any]:  # noqa: N803
        self.listed.append(jobStatus)
        running = [{"jobId": str(i)} for i in range(self.jobs)] if jobStatus == "RUNNING" else []
        return {"jobSummaryList": running}

    def update_job_queue(self, **arguments: Any) -> dict[str, Any]:
        self.writes.append(("UpdateJobQueue", arguments))
        return {}


OWNER = Owner("ScarBatchPool", "pools", "scar-pool-fargate-0123456789ab")


def queue(batch: QueueWithJobs) -> JobQueue:
    return JobQueue(batch, OWNER.name, "arn:aws:batch:eu-west-1:123456789012:compute-environment/x", OWNER,
                    drain_before_delete=True)


def test_a_queue_left_behind_waits_for_its_unfinished_jobs_before_it_is_disabled() -> None:
    batch = QueueWithJobs(jobs=2)
    waiting = queue(batch).delete()
    assert isinstance(waiting, LongWait) and "2 job(s)" in waiting  # looked at again in minutes
    assert batch.writes == [] and batch.listed == list(UNFINISHED_JOB_STATES)

    batch.jobs = 0
    assert queue(batch).delete() == "disabling the job queue before deleting it"
    assert batch.writes == [("UpdateJobQueue", {"jobQueue": OWNER.name, "state": "DISABLED"})]


# --- a pool's instance profile, put in line by one member ---


class ProfileWithoutRole:
    """IAM holding the pool's instance profile without its role; like IAM, a second role is refused."""

    def __init__(self) -> None:
        self.roles: list[str] = []
        self.writes: list[str] = []
        self.reads = 0

    def get_instance_profile(self, InstanceProfileName: str) -> dict[str, Any]:  # noqa: N803
        self.reads += 1
        return {"InstanceProfile": {"InstanceProfileName": InstanceProfileName, "Tags": [
            {"Key": k, "Value": v} for k, v in OWNER.tags().items()], "Roles": [{"RoleName": r} for r in self.roles]}}

    def add_role_to_instance_profile(self, InstanceProfileName: str, RoleName: str) -> None:  # noqa: N803
        if self.roles:
            raise AssertionError("LimitExceeded: Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
        self.writes.append("AddRoleToInstanceProfile")
        self.roles.append(RoleName)


def test_members_that_found_the_pools_profile_without_its_role_add_it_once_in_turn() -> None:
    # Updates take turns on the profile (the race of two adds is IAM's quota refusal), and the one
    # whose turn comes second finds the first one's confirmation: no read, no write.
    iam, facts = ProfileWithoutRole(), ConfirmedFacts(ttl_seconds=600)
    profiles = [InstanceProfile(iam, "scar-pool-ec2-0123456789ab-instance", "scar-pool-ec2-0123456789ab-instance",
                                OWNER, facts=facts, slow_drift_seconds=600) for _ in range(2)]
    assert [p.observe().in_sync for p in profiles] == [False, False]  # both looked before either wrote
    assert [p.update() for p in profiles] == [None, None]
    assert iam.writes == ["AddRoleToInstanceProfile"]
    assert iam.reads == 3  # two looks, then the first update's look in turn


class EmptyBatch:
    """AWS Batch with no compute environment yet; like moto, a second one of the same name is refused."""

    def __init__(self) -> None:
        self.environments: list[dict[str, Any]] = []
        self.creates = 0

    def describe_compute_environments(self, computeEnvironments: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"computeEnvironments": self.environments}

    def create_compute_environment(self, **arguments: Any) -> dict[str, Any]:
        if self.environments:
            raise AssertionError("A compute environment already exists with the name")
        self.creates += 1
        self.environments.append({"computeEnvironmentName": arguments["computeEnvironmentName"],
                                  "status": "CREATING", "state": "ENABLED", "tags": arguments["tags"]})
        return {}


def test_members_that_found_the_pool_absent_at_once_make_it_once() -> None:
    batch, facts = EmptyBatch(), ConfirmedFacts(ttl_seconds=600)
    identity = pool_identity(klass(), ACCOUNT, None, "")
    plan = plan_pool(identity, ACCOUNT, pool_capacity([16], cap=256, all_members_known=True)).compute
    members = [ComputeEnvironment(batch, plan, ACCOUNT, identity.owner, facts=facts) for _ in range(2)]
    assert [m.observe().exists for m in members] == [False, False]  # both looked before either wrote
    assert [m.create() for m in members] == ["waiting for the compute environment to become VALID"] * 2
    assert batch.creates == 1


class DrainingQueue:
    """A queue whose removal waits for its jobs."""

    describe = "Batch job queue old"

    def observe(self) -> Observation:
        return Observation(exists=True)

    def delete(self) -> str | None:
        return LongWait("1 job(s) still waiting or running on it")


def test_a_long_wait_ends_the_pass_at_once_instead_of_being_polled_in_it() -> None:
    slept: list[float] = []
    outcome = teardown([DrainingQueue()], InlineWait(budget=2.0, sleep=slept.append))  # type: ignore[list-item]
    assert outcome.long_wait and outcome.waiting_on == "Batch job queue old: 1 job(s) still waiting or running on it"
    assert slept == []


def test_a_pass_waiting_long_comes_back_in_minutes() -> None:
    result = from_outcome(Outcome(waiting_on="Batch job queue old: 1 job(s)", long_wait=True), "", OperatorSettings())
    assert result.long_wait and result.retry_after == OperatorSettings().long_wait_seconds == 60
