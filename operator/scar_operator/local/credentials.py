"""Credentials of an assumed role, for the emulated side: the demo's user, the runtime's invocations.

moto maps an assumed role's credentials to the role's account, so acting as a role of account
111111111111 reaches that account's resources, as in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3


@dataclass(frozen=True)
class RoleCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str

    def environment(self) -> dict[str, str]:
        """What a child process reads its credentials from."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "AWS_SESSION_TOKEN": self.session_token}

    def session(self, region: str | None) -> boto3.Session:
        return boto3.Session(aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key,
                             aws_session_token=self.session_token, region_name=region)


def assume_role(sts: Any, role_arn: str, external_id: str | None, session_name: str) -> RoleCredentials:
    """One STS AssumeRole (`sts` is a boto3 STS client; the external id only when the role asks for one)."""
    optional = {"ExternalId": external_id} if external_id else {}
    got = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, **optional)["Credentials"]
    return RoleCredentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])
