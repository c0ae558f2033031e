"""What cannot drift cheaply is read once per time to live, shared by every object that needs it."""

from __future__ import annotations

from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.s3_bucket import S3Bucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingS3:
    def __init__(self) -> None:
        self.heads = 0
        self.exists = True

    def head_bucket(self, Bucket: str) -> dict[str, Any]:  # noqa: N803 (boto3's parameter name)
        self.heads += 1
        if not self.exists:
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadBucket")
        return {}


def test_a_fact_is_fresh_for_its_time_to_live_then_read_again() -> None:
    clock = Clock()
    facts = ConfirmedFacts(ttl_seconds=600, clock=clock)
    assert not facts.fresh("bucket")
    facts.confirm("bucket")
    clock.now = 599
    assert facts.fresh("bucket")
    clock.now = 600
    assert not facts.fresh("bucket")
    facts.confirm("bucket")
    facts.forget("bucket")
    assert not facts.fresh("bucket")


def test_many_objects_on_one_bucket_read_its_existence_once() -> None:
    clock = Clock()
    facts = ConfirmedFacts(ttl_seconds=600, clock=clock)
    s3 = CountingS3()
    for _ in range(100):
        assert S3Bucket(s3, "shared", "us-east-1", facts=facts).observe().exists
    assert s3.heads == 1
    # A bucket removed by hand is seen (and made again) once the fact is old.
    s3.exists = False
    clock.now = 601
    assert not S3Bucket(s3, "shared", "us-east-1", facts=facts).observe().exists
    assert s3.heads == 2


def test_a_read_is_skipped_while_the_fact_is_fresh_and_made_in_turn_otherwise() -> None:
    facts = ConfirmedFacts(ttl_seconds=60)
    reads: list[str] = []

    def read() -> str:
        reads.append("read")
        facts.confirm("pool")
        return "seen"

    assert facts.read_unless_fresh("pool", read) == "seen"
    assert facts.read_unless_fresh("pool", read) is None  # confirmed by the first read
    assert reads == ["read"]
