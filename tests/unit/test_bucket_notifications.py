"""The bucket-notification client changes only its own entries in the bucket's configuration."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scar_operator.aws import s3_notification
from scar_operator.aws.errors import AwsError, ErrorKind
from scar_operator.aws.s3_notification import BucketNotifications
from scar_operator.function.desired import NotificationEntry

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:mine"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:theirs"


@pytest.fixture(autouse=True)
def fresh_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no bucket written or read by this process (the turns are per process)."""
    monkeypatch.setattr(s3_notification, "_write_turns", {})
    monkeypatch.setattr(s3_notification, "_shared_reads", {})


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="shared-bucket")
        for arn in (FUNCTION, OTHER):
            function_s3_may_invoke(arn.rsplit(":", 1)[-1], "shared-bucket")
        yield client


def function_s3_may_invoke(name: str, bucket: str) -> None:
    """What S3 checks before it stores a notification: the function exists and lets S3 invoke it."""
    role = boto3.client("iam", region_name="us-east-1").create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = boto3.client("lambda", region_name="us-east-1")
    lambda_.create_function(FunctionName=name, Role=role, PackageType="Image",
                            Code={"ImageUri": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:1"})
    lambda_.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{bucket}")


def entries(s3: Any) -> list[str]:
    configuration = s3.get_bucket_notification_configuration(Bucket="shared-bucket")
    return sorted(e["Id"] for e in configuration.get("LambdaFunctionConfigurations", []))


def test_writes_keep_entries_of_other_owners(s3: Any) -> None:
    s3.put_bucket_notification_configuration(Bucket="shared-bucket", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"Id": "theirs", "LambdaFunctionArn": OTHER, "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "x/"}]}}}],
    })
    entry = NotificationEntry("scar-abc-1", FUNCTION, "in/", "")
    mine = BucketNotifications(s3, "shared-bucket", "scar-abc-", (entry,))
    assert mine.observe().exists is False
    mine.create()
    assert entries(s3) == ["scar-abc-1", "theirs"]
    seen = mine.observe()
    assert seen.exists and seen.in_sync

    moved = BucketNotifications(s3, "shared-bucket", "scar-abc-", (NotificationEntry("scar-abc-2", FUNCTION, "new/",
                                                                                     ".avi"),))
    assert moved.observe().in_sync is False
    moved.update()
    assert entries(s3) == ["scar-abc-2", "theirs"]

    moved.delete()
    assert entries(s3) == ["theirs"]


def test_deleting_from_a_bucket_that_is_gone_is_done(s3: Any) -> None:
    gone = BucketNotifications(s3, "no-such-bucket-here", "scar-abc-", ())
    assert gone.observe().exists is False
    assert gone.delete() is None


def someone_elses(s3: Any, prefix: str, suffix: str = "", events: tuple[str, ...] = ("s3:ObjectCreated:*",)) -> None:
    rules = [{"Name": name, "Value": value} for name, value in (("prefix", prefix), ("suffix", suffix)) if value]
    s3.put_bucket_notification_configuration(Bucket="shared-bucket", NotificationConfiguration={
        "QueueConfigurations": [{"Id": "their-queue", "QueueArn": "arn:aws:sqs:us-east-1:123456789012:q",
                                 "Events": list(events), "Filter": {"Key": {"FilterRules": rules}}}],
    })


@pytest.mark.parametrize(("theirs", "mine"), [
    (("in/", "", ("s3:ObjectCreated:*",)), ("in/", "")),
    (("in/", "", ("s3:ObjectCreated:Put",)), ("in/videos/", ".avi")),
    (("", ".avi", ("s3:ObjectCreated:*",)), ("in/", "")),
    (("in/v", ".avi", ("s3:ObjectCreated:*",)), ("in/", "s/clip.avi")),
])
def test_a_trigger_that_overlaps_another_entry_is_refused_naming_both_before_any_write(
    s3: Any, theirs: tuple[str, str, tuple[str, ...]], mine: tuple[str, str]
) -> None:
    someone_elses(s3, theirs[0], theirs[1], theirs[2])
    trigger = BucketNotifications(s3, "shared-bucket", "scar-abc-", (NotificationEntry("scar-abc-1", FUNCTION, *mine),))
    with pytest.raises(AwsError) as refused:
        trigger.create()
    assert refused.value.kind is ErrorKind.TERMINAL
    assert refused.value.message.startswith(f"spec.input: the trigger on s3://shared-bucket/{mine[0]}*{mine[1]} ")
    assert "'their-queue'" in refused.value.message and "arn:aws:sqs" in refused.value.message
    configuration = s3.get_bucket_notification_configuration(Bucket="shared-bucket")
    assert "LambdaFunctionConfigurations" not in configuration  # nothing was written


@pytest.mark.parametrize(("theirs", "mine"), [
    (("in/", ".jpg", ("s3:ObjectCreated:*",)), ("in/", ".avi")),       # same prefix, other suffixes
    (("out/", "", ("s3:ObjectCreated:*",)), ("in/", "")),               # other prefixes
    (("in/", "", ("s3:ObjectRemoved:*",)), ("in/", "")),                # other events
])
def test_triggers_beside_another_entry_are_accepted(
    s3: Any, theirs: tuple[str, str, tuple[str, ...]], mine: tuple[str, str]
) -> None:
    someone_elses(s3, theirs[0], theirs[1], theirs[2])
    BucketNotifications(s3, "shared-bucket", "scar-abc-", (NotificationEntry("scar-abc-1", FUNCTION, *mine),)).create()
    assert entries(s3) == ["scar-abc-1"]


class HeldFirstRead:
    """An S3 client whose first read of the configuration waits until `release` is set, and
    which counts the configuration calls."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.release = threading.Event()
        self.calls: list[str] = []

    def get_bucket_notification_configuration(self, **kwargs: Any) -> Any:
        self.calls.append("Get")
        if self.calls.count("Get") == 1:
            assert self.release.wait(10)
        return self.s3.get_bucket_notification_configuration(**kwargs)

    def put_bucket_notification_configuration(self, **kwargs: Any) -> Any:
        self.calls.append("Put")
        return self.s3.put_bucket_notification_configuration(**kwargs)


def test_changes_queued_while_the_bucket_is_written_go_together_in_the_next_write(s3: Any) -> None:
    client = HeldFirstRead(s3)
    owners = [BucketNotifications(client, "shared-bucket", f"scar-{n}-",
                                  (NotificationEntry(f"scar-{n}-1", FUNCTION, f"in-{n}/", ""),)) for n in range(5)]
    owners.append(BucketNotifications(client, "shared-bucket", "scar-late-",
                                      (NotificationEntry("scar-late-1", OTHER, "in-3/", ""),)))
    errors: dict[str, BaseException] = {}

    def write(owner: BucketNotifications) -> None:
        try:
            owner.create()
        except AwsError as e:
            errors[owner.id_prefix] = e

    first = threading.Thread(target=write, args=(owners[0],))
    first.start()
    deadline = time.monotonic() + 10
    while "Get" not in client.calls:  # the first writer holds the bucket's turn
        assert time.monotonic() < deadline
        time.sleep(0.01)
    others = []
    for owner in owners[1:]:  # queued one after the other, the overlapping one last
        others.append(threading.Thread(target=write, args=(owner,)))
        others[-1].start()
        while len(s3_notification._write_turn("shared-bucket").queued) < len(others):
            assert time.monotonic() < deadline
            time.sleep(0.01)
    client.release.set()
    for thread in [first, *others]:
        thread.join(10)

    # The first write alone, then the five queued behind it in one read and one write; the one
    # that overlaps an entry of the same batch is refused on its own, the others are written.
    assert client.calls == ["Get", "Put", "Get", "Put"]
    assert entries(s3) == [f"scar-{n}-1" for n in range(5)]
    assert list(errors) == ["scar-late-"]
    assert "overlaps the bucket's notification 'scar-3-1'" in str(errors["scar-late-"])


class CountedReads:
    """A client that counts the configuration calls."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3
        self.calls: list[str] = []

    def get_bucket_notification_configuration(self, **kwargs: Any) -> Any:
        self.calls.append("Get")
        return self.s3.get_bucket_notification_configuration(**kwargs)

    def put_bucket_notification_configuration(self, **kwargs: Any) -> Any:
        self.calls.append("Put")
        return self.s3.put_bucket_notification_configuration(**kwargs)


def test_one_read_a_second_answers_every_object_reading_the_bucket(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(s3_notification, "_clock", lambda: now[0])
    client = CountedReads(s3)

    def owner(n: int) -> BucketNotifications:
        return BucketNotifications(client, "shared-bucket", f"scar-{n}-",
                                   (NotificationEntry(f"scar-{n}-1", FUNCTION, f"in-{n}/", ""),))

    assert [owner(n).observe().exists for n in range(6)] == [False] * 6
    assert client.calls == ["Get"]

    now[0] += 1.0  # a second later the bucket is read again
    assert not owner(0).observe().exists
    assert client.calls == ["Get", "Get"]

    # What a write of this operator wrote is the answer from then on, without a read back.
    owner(0).create()
    assert owner(0).observe().exists and owner(0).observe().in_sync
    assert client.calls == ["Get", "Get", "Get", "Put"]
    now[0] += 1.0
    assert owner(0).observe().in_sync
    assert client.calls == ["Get", "Get", "Get", "Put", "Get"]

