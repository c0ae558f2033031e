"""Checks a SigV4-signed request as a function URL with AuthType AWS_IAM does, for the local runtime.

The signature is computed again with botocore's own signer from the headers the request says it
signed and the secret of its access key; a request that is unsigned, signed for another service
or region, too old, or whose signature differs is refused, as Lambda refuses it (403).
Only the access keys the runtime was given are known: a key it cannot look up is refused.
"""

from __future__ import annotations

import datetime
import hmac
import re
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request,"
    r"\s*SignedHeaders=(?P<signed>[^,]+),\s*Signature=(?P<signature>[0-9a-f]{64})$")
# AWS refuses a request signed more than 15 minutes from its own clock.
MAX_SKEW = datetime.timedelta(minutes=15)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"


def refusal(method: str, url: str, headers: Mapping[str, str], body: bytes, secrets: Mapping[str, str],
            region: str, now: datetime.datetime | None = None) -> str | None:
    """Why the request is refused, or None when its signature holds. `headers`: names in lower case."""
    match = _AUTHORIZATION.match(headers.get("authorization", ""))
    if match is None:
        return "Missing or malformed Authorization header (AWS_IAM function URLs take SigV4-signed requests)"
    if match["service"] != "lambda" or match["region"] != region:
        return f"Credential should be scoped to region {region!r} and service 'lambda'"
    secret = secrets.get(match["key"])
    if secret is None:
        return "The security token included in the request is invalid"
    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.datetime.strptime(stamp, _TIMESTAMP).replace(tzinfo=datetime.UTC)
    except ValueError:
        return "X-Amz-Date is missing or malformed"
    current = now or datetime.datetime.now(datetime.UTC)
    if abs(current - signed_at) > MAX_SKEW or not stamp.startswith(match["date"]):
        return "Signature expired (or its date differs from its scope)"
    names = match["signed"].split(";")
    if "host" not in names:
        return "SignedHeaders must include host"
    request = AWSRequest(method=method, url=url, data=body, headers={n: headers.get(n, "") for n in names})
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(match["key"], secret, headers.get("x-amz-security-token")), "lambda", region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided"
    return None
