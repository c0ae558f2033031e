"""invoke --http: send a file to the function's URL and write the answer (SCAR's `scar invoke -db`).

An AWS_IAM URL gets the request signed with SigV4 (service `lambda`, the function's region), with
the credentials the other commands use (the namespace's ScarAccount role, or your own). The
request goes to the URL in status.url; SCAR_FUNCTION_URL_ENDPOINT sends it elsewhere (the local
runtime's loopback server) while the Host header and the signature still name the URL.
"""

from __future__ import annotations

import mimetypes
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from scar_operator.kubectl_scar.errors import UserError
from scar_operator.kubectl_scar.targets import Target

ENDPOINT_ENV = "SCAR_FUNCTION_URL_ENDPOINT"
TIMEOUT_MARGIN_SECONDS = 30


def url_of(target: Target) -> tuple[str, str]:
    """The function's URL and its auth type, from the object's status."""
    url = target.status.get("url")
    if not url:
        if not target.spec.get("http"):
            raise UserError(f"{target.kind} {target.namespace}/{target.name} has no URL: add spec.http "
                            f"(a function URL) to invoke it over HTTP")
        raise UserError(f"{target.kind} {target.namespace}/{target.name} has no URL yet (is it Ready?)")
    return str(url), str(target.status.get("urlAuthType") or "AWS_IAM")


def signed_headers(url: str, method: str, body: bytes, content_type: str | None, credentials: Any,
                   region: str) -> dict[str, str]:
    """The headers of a SigV4-signed request to `url` (credentials: botocore's, None for an unsigned one)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    headers = {"Content-Type": content_type} if content_type else {}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    if credentials is not None:
        SigV4Auth(credentials, "lambda", region).add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = urlsplit(url).netloc
    return headers


def invoke_http(session: Any, target: Target, file: Path | None, output: BinaryIO | None = None,
                endpoint: str | None = None) -> int:
    """POST the file (GET without one); the answer's body goes to `output`. 0 when the answer is 2xx.

    `endpoint`: where to connect instead of the URL's host (default: $SCAR_FUNCTION_URL_ENDPOINT)."""
    url, auth_type = url_of(target)
    body = file.read_bytes() if file is not None else b""
    # The file's name travels with it: the supervisor names the input file after it.
    full = url.rstrip("/") + "/" + (f"?{urlencode({'filename': file.name})}" if file is not None else "")
    content_type = (mimetypes.guess_type(file.name)[0] or "application/octet-stream") if file is not None else None
    credentials = None
    if auth_type == "AWS_IAM":
        found = session.get_credentials()
        if found is None:
            raise UserError("invoke --http: the URL takes signed requests (AuthType AWS_IAM) and there are no AWS "
                            "credentials (set AWS_PROFILE, or run `aws configure`)")
        credentials = found.get_frozen_credentials()
    region = target.region or session.region_name or "us-east-1"
    headers = signed_headers(full, "POST" if file is not None else "GET", body, content_type, credentials, region)
    endpoint = endpoint or os.environ.get(ENDPOINT_ENV)
    parts = urlsplit(full)
    send_to = (endpoint.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")) if endpoint else full
    request = urllib.request.Request(send_to, data=body if file is not None else None, headers=headers,  # noqa: S310
                                     method="POST" if file is not None else "GET")
    timeout = float(target.spec.get("timeout") or 300) + TIMEOUT_MARGIN_SECONDS
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the function's own URL)
            status, answer = response.status, response.read()
            request_id = response.headers.get("x-scar-request-id")
    except urllib.error.HTTPError as e:
        status, answer, request_id = e.code, e.read(), e.headers.get("x-scar-request-id")
    except OSError as e:
        raise UserError(f"invoke --http: cannot reach {send_to}: {e}") from None
    out = output or sys.stdout.buffer
    out.write(answer)
    out.flush()
    if not 200 <= status < 300:
        why = "the URL refused the request" if status in (401, 403) else "the function answered"
        print(f"kubectl scar invoke: {why} with HTTP {status}" + (f" (request {request_id})" if request_id else ""),
              file=sys.stderr)
        return 1
    if request_id:
        print(f"kubectl scar invoke: request {request_id}", file=sys.stderr)
    return 0
