"""ScarBatchJob: a bad spec is refused by the schema, or Stalled naming the field; no AWS write either way."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, batch_job_manifest, wait_stalled

IN = {"bucket": "scar-it-bad", "prefix": "videos/"}

# (what is wrong, spec changes, the field the error must name)
REFUSED_BY_THE_SCHEMA: list[tuple[str, dict[str, Any], str]] = [
    ("no retries at all", {"retries": 0}, "spec.retries"),
    ("more attempts than Batch allows", {"retries": 11}, "spec.retries"),
    ("a timeout under Batch's 60 s minimum", {"timeout": 30}, "spec.timeout"),
    ("a compute type Batch lacks", {"compute": {"type": "LAMBDA"}}, "spec.compute.type"),
    ("no vCPUs for the environment", {"compute": {"maxVcpus": 0}}, "spec.compute.maxVcpus"),
    ("a subnet id that is not one", {"compute": {"type": "EC2", "subnets": ["subnet-xyz"]}}, "spec.compute.subnets"),
    ("negative GPUs", {"resources": {"gpus": -1}}, "spec.resources.gpus"),
    ("a queue name with spaces", {"jobQueue": "my queue"}, "spec.jobQueue"),
    ("a job role ARN of a user", {"jobRoleArn": "arn:aws:iam::123456789012:user/bob"}, "spec.jobRoleArn"),
    # The schema's CEL rules (the API server evaluates them; tests/unit/test_crd_rules.py shows that
    # the operator refuses the same specs itself where an API server does not).
    ("both a shared queue and managed compute", {"jobQueue": "shared", "compute": {"type": "FARGATE"}}, "jobQueue"),
    ("instance types on Fargate", {"compute": {"type": "FARGATE", "instanceTypes": ["m5.large"]}},
     "instanceTypes"),
]

STALLED_BY_THE_OPERATOR: list[tuple[str, dict[str, Any], str]] = [
    ("GPUs on Fargate", {"resources": {"gpus": 1}}, "spec.resources.gpus"),
    ("a memory Fargate does not pair with 1 vCPU", {"resources": {"vcpus": 1, "memory": 1024}},
     "spec.resources.memory"),
    ("a vCPU count Fargate does not offer", {"resources": {"vcpus": 3, "memory": 8192}}, "spec.resources.vcpus"),
    ("fractional vCPUs on EC2",
     {"resources": {"vcpus": 0.5, "memory": 1024}, "compute": {"type": "EC2", "subnets": ["subnet-12345678"]}},
     "spec.resources.vcpus"),
    ("an output under an input of the same bucket (a trigger loop)",
     {"input": [IN], "output": [{"bucket": "scar-it-bad", "prefix": "videos/frames/"}]}, "output[0]"),
    ("a variable Batch reserves", {"environment": {"AWS_BATCH_JOB_ID": "x"}}, "spec.environment"),
    ("a variable the dispatcher sets", {"environment": {"SCAR_EVENT": "{}"}}, "spec.environment"),
    ("a script over the 24 KiB job definition limit", {"script": "echo " + "x" * 25000}, "spec.script"),
    ("a shared queue that does not exist", {"jobQueue": "no-such-queue"}, "spec.jobQueue"),
]

CASES = REFUSED_BY_THE_SCHEMA + STALLED_BY_THE_OPERATOR


@pytest.mark.parametrize(("problem", "changes", "field"), CASES, ids=[p for p, _, _ in CASES])
def test_a_bad_spec_is_refused_naming_the_field_and_costs_nothing(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess,
    problem: str, changes: dict[str, Any], field: str,
) -> None:
    mark = aws.proxy.mark()
    manifest = batch_job_manifest("bad", **{"input": [IN], "output": [{"bucket": "scar-it-bad-out"}], **changes})
    try:
        cluster.apply(BATCH_JOBS, namespace, manifest)
    except ApiException as e:
        assert e.status == 422
        assert field.removeprefix("spec.").split(".")[-1] in str(e.body), e.body
        refused_by_schema = True
    else:
        stalled = wait_stalled(cluster, namespace, "bad", BATCH_JOBS)
        assert field in stalled["message"], stalled["message"]
        refused_by_schema = False
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []
    if (problem, changes, field) in REFUSED_BY_THE_SCHEMA and not refused_by_schema:
        pytest.fail(f"the CRD schema should have refused {problem}")
    if (problem, changes, field) in STALLED_BY_THE_OPERATOR and refused_by_schema:
        pytest.fail(f"the operator, not the schema, was expected to catch {problem}")
