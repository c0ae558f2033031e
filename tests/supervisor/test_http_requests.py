"""An HTTP request through the function URL: the body is the input, the answer is the script's output."""

from __future__ import annotations

import base64
import json
from typing import Any

from lambda_supervisor.config import OutputTarget, SupervisorConfig
from lambda_supervisor.handler import lambda_handler
from lambda_supervisor.invoke import InvocationContext
from tests.supervisor.conftest import scratch_is_empty

PNG = bytes(range(256)) * 16  # any bytes, NUL and 0xff included


def url_event(body: bytes | None, content_type: str = "application/octet-stream", query: str = "",
              method: str = "POST") -> dict[str, Any]:
    """What Lambda passes for a request to a function URL (payload format 2.0), binary body in base64."""
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": query,
        "headers": {"Content-Type": content_type, "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": method, "path": "/", "protocol": "HTTP/1.1"}, "requestId": "r"},
        "isBase64Encoded": True,
    }
    if body is not None:
        event["body"] = base64.b64encode(body).decode()
    return event


def body_of(response: dict[str, Any]) -> bytes:
    assert response["isBase64Encoded"] is True
    return base64.b64decode(response["body"])


def call(event: dict[str, Any], request_id: str = "req-1", timeout: float = 30) -> dict[str, Any]:
    result: dict[str, Any] = lambda_handler(event, InvocationContext(timeout, aws_request_id=request_id))
    return result


def test_a_single_output_file_is_the_answer_with_its_content_type_and_is_uploaded_too(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    configure(SupervisorConfig(
        script='#!/bin/sh\nset -e\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/result.png"\necho "done" >&2\n',
        outputs=(OutputTarget(bucket, "out/"),)))

    response = call(url_event(PNG, "image/png"), "req-png")

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "image/png"
    assert response["headers"]["x-scar-request-id"] == "req-png"
    assert body_of(response) == PNG
    assert s3.get_object(Bucket=bucket, Key="out/req-png/result.png")["Body"].read() == PNG
    assert scratch_is_empty(s3_env)


def test_without_an_output_file_stdout_is_the_answer_and_stderr_only_goes_to_the_log(
    s3_env: dict[str, str], configure: Any,
) -> None:
    configure(SupervisorConfig(script=(
        '#!/bin/sh\necho "logged, not answered" >&2\n'
        'printf "%s %s %s %s" "$HTTP_METHOD" "$(basename "$INPUT_FILE_PATH")" "$HTTP_QUERY_STRING" '
        '"$(wc -c < "$INPUT_FILE_PATH")"\n')))

    response = call(url_event(b"hello", "text/plain", query="filename=note.txt&lang=en"))

    assert response["statusCode"] == 200
    assert response["headers"]["content-type"].startswith("text/plain")
    assert body_of(response) == b"POST note.txt filename=note.txt&lang=en 5"


def test_the_input_file_is_named_from_the_content_type_and_a_bodyless_request_has_none(
    s3_env: dict[str, str], configure: Any,
) -> None:
    configure(SupervisorConfig(script='#!/bin/sh\necho "${INPUT_FILE_PATH:-no input}"\n'))

    named = body_of(call(url_event(b"\xff\xd8jpeg", "image/jpeg")))
    assert named.decode().strip().endswith("/request.jpg")
    assert body_of(call(url_event(None, method="GET"))).decode().strip() == "no input"


def test_a_failing_script_answers_500_and_a_stopped_one_504_with_its_last_lines(
    s3_env: dict[str, str], configure: Any,
) -> None:
    configure(SupervisorConfig(script='#!/bin/sh\necho "cannot read the model" >&2\nexit 3\n'))
    failed = call(url_event(b"x"))
    assert failed["statusCode"] == 500
    assert b"exited with 3" in body_of(failed) and b"cannot read the model" in body_of(failed)

    configure(SupervisorConfig(script="#!/bin/sh\necho started >&2\nsleep 30\n", timeout_threshold_seconds=0.5))
    stopped = call(url_event(b"x"), timeout=2)
    assert stopped["statusCode"] == 504
    assert b"deadline" in body_of(stopped)
    assert scratch_is_empty(s3_env)


def test_a_rest_api_event_as_scar_api_gateway_sent_it_is_understood(
    s3_env: dict[str, str], configure: Any,
) -> None:
    configure(SupervisorConfig(script='#!/bin/sh\ncat "$INPUT_FILE_PATH"\necho; echo "$EVENT"\n'))
    event = {"resource": "/{proxy+}", "path": "/", "httpMethod": "POST", "headers": {"Content-Type": "text/plain"},
             "queryStringParameters": None, "requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "POST"},
             "body": "plain text body", "isBase64Encoded": False}

    response = call(event)

    text, event_seen = body_of(response).decode().split("\n", 1)
    assert text == "plain text body"
    # The script's EVENT is the request without its body (an environment variable must stay small).
    assert "body" not in json.loads(event_seen) and json.loads(event_seen)["httpMethod"] == "POST"
