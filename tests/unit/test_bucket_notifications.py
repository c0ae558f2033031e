"""The bucket-notification client changes only its own entries in the bucket's configuration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from scar_operator.aws.s3_notification import BucketNotifications
from scar_operator.desired import NotificationEntry

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:mine"
OTHER = "arn:aws:lambda:us-east-1:123456789012:function:theirs"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="shared-bucket")
        yield client


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
