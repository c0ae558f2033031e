"""AWS Batch job queues of a compute pool: one compute environment, priority 1.

Deleting one takes two steps that AWS enforces: disable it, wait, then delete it, and wait again
before the compute environment behind it may go. AWS ends every job still in a queue it deletes:
a queue an object moves away from is drained first (`drain_before_delete`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.batch_lifecycle import disable_then_delete, not_ours_or_settling
from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import AwsError, ErrorKind, call, call_idempotent
from scar_operator.naming import Owner
from scar_operator.reconciler import LongWait, Observation


@dataclass
class JobQueue:
    batch: Any
    name: str
    compute_environment_arn: str
    owner: Owner
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0
    # Jobs still waiting or running keep the queue (and its removal waits for them).
    drain_before_delete: bool = False

    @property
    def describe(self) -> str:
        return f"Batch job queue {self.name}"

    @property
    def _as_wanted(self) -> tuple[Hashable, ...]:
        return ("batch-queue-as-wanted", self.name, self.owner.key, self.compute_environment_arn)

    def _get(self) -> dict[str, Any] | None:
        found = call("DescribeJobQueues", lambda: self.batch.describe_job_queues(jobQueues=[self.name]))
        return next((q for q in found.get("jobQueues", []) if q.get("status") != "DELETED"), None)

    def _order(self) -> list[dict[str, Any]]:
        return [{"order": 1, "computeEnvironment": self.compute_environment_arn}]

    def observe(self) -> Observation:
        # Found as wanted by this member or another of the pool, until the slow-drift re-check.
        return self.facts.read_unless_fresh(self._as_wanted, self._observe_in_turn) or Observation(exists=True)

    def _observe_in_turn(self) -> Observation:
        found = self._get()
        if found is None:
            return Observation(exists=False)
        early = not_ours_or_settling(found, self.owner, "job queue")
        if early is not None:
            return early
        environments = [e.get("computeEnvironment", "") for e in found.get("computeEnvironmentOrder", [])]
        # Batch answers with the ARN; accept the bare name too.
        same_environment = len(environments) == 1 and (
            environments[0] == self.compute_environment_arn
            or self.compute_environment_arn.endswith("/" + environments[0]))
        in_sync = found.get("state") == "ENABLED" and same_environment and found.get("priority") == 1
        if in_sync and found.get("status") == "VALID":
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds)
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        with self.facts.turn(self._as_wanted):
            if self._get() is None:  # not made meanwhile by another member of the pool
                call_idempotent("CreateJobQueue", lambda: self.batch.create_job_queue(
                    jobQueueName=self.name, state="ENABLED", priority=1, computeEnvironmentOrder=self._order(),
                    tags=self.owner.tags()))
        return "waiting for the job queue to become VALID"

    def update(self) -> str | None:
        call("UpdateJobQueue", lambda: self.batch.update_job_queue(
            jobQueue=self.name, state="ENABLED", priority=1, computeEnvironmentOrder=self._order()))
        return "job queue update in progress"

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        found = self._get()
        if found is not None and self.drain_before_delete:
            unfinished = jobs_in_flight(self.batch, self.name)
            if unfinished:
                return LongWait(f"{unfinished} job(s) still waiting or running on it; it is removed once they "
                                f"end (AWS would end them with it)")
        return disable_then_delete(
            found, "job queue",
            disable=lambda: call("UpdateJobQueue", lambda: self.batch.update_job_queue(
                jobQueue=self.name, state="DISABLED")),
            delete=lambda: call_idempotent("DeleteJobQueue", lambda: self.batch.delete_job_queue(
                jobQueue=self.name)))


# Every status of a job that has not ended (SUCCEEDED and FAILED have).
UNFINISHED_JOB_STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def jobs_in_flight(batch: Any, queue: str) -> int:
    """How many jobs of `queue` have not ended (a first page each: any at all keeps the queue)."""
    def listed(state: str) -> int:
        found = call("ListJobs", lambda: batch.list_jobs(jobQueue=queue, jobStatus=state, maxResults=100))
        return len(found.get("jobSummaryList", []))

    return sum(listed(state) for state in UNFINISHED_JOB_STATES)


@dataclass
class SharedJobQueue:
    """A queue named in the spec: only checked for existence, never changed or deleted."""

    batch: Any
    reference: str

    @property
    def describe(self) -> str:
        return f"Batch job queue {self.reference} (shared)"

    def observe(self) -> Observation:
        _existing_queue(self.batch, self.reference)
        return Observation(exists=True)

    def create(self) -> str | None:
        return None

    def update(self) -> str | None:
        return None

    def delete(self) -> str | None:
        return None


def _existing_queue(batch: Any, reference: str) -> dict[str, Any]:
    found = call("DescribeJobQueues", lambda: batch.describe_job_queues(jobQueues=[reference]))
    queues = [q for q in found.get("jobQueues", []) if q.get("status") != "DELETED"]
    if not queues:
        raise AwsError(ErrorKind.TERMINAL, "JobQueueNotFound",
                       f"spec.jobQueue: there is no job queue {reference!r} in this account and region",
                       "DescribeJobQueues")
    queue: dict[str, Any] = queues[0]
    return queue


def shared_queue_platform(batch: Any, reference: str) -> str:
    """FARGATE or EC2: what the shared queue's compute environments run, so the job definition fits them."""
    arns = [e["computeEnvironment"] for e in _existing_queue(batch, reference).get("computeEnvironmentOrder", [])]
    if not arns:
        return "EC2"
    environments = call("DescribeComputeEnvironments",
                        lambda: batch.describe_compute_environments(computeEnvironments=arns))
    types = {(e.get("computeResources") or {}).get("type", "EC2") for e in environments.get("computeEnvironments", [])}
    return "FARGATE" if types and types <= {"FARGATE", "FARGATE_SPOT"} else "EC2"
