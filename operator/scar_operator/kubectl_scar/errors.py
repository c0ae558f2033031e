"""The errors a user hits, each one line; exit codes follow the usual conventions."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2


class UserError(Exception):
    """Printed as `kubectl scar: <message>` and exit 1."""


def describe_aws_error(error: Exception, doing: str) -> UserError:
    """Turn botocore's errors into the one line a user needs."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(error, NoCredentialsError):
        return UserError(f"{doing}: no AWS credentials (set AWS_PROFILE, or run `aws configure`)")
    if isinstance(error, EndpointConnectionError):
        return UserError(f"{doing}: cannot reach AWS ({error})")
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("NoSuchBucket", "404") and "bucket" in doing:
            return UserError(f"{doing}: the bucket does not exist")
        if code in ("AccessDenied", "AccessDeniedException", "403"):
            return UserError(f"{doing}: access denied ({message or code})")
        return UserError(f"{doing}: {code}: {message}")
    return UserError(f"{doing}: {error}")
