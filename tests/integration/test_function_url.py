"""spec.http: a function URL made, answered over real HTTP (signed and unsigned), changed and torn down.

The local runtime serves the URLs moto records on loopback; requests carry the URL's host name in
the Host header and, for AWS_IAM, a SigV4 signature over it, as they would to AWS.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scar_operator.kubectl_scar.http_invoke import ENDPOINT_ENV, signed_headers
from scar_operator.kubectl_scar.main import main as kubectl_scar
from scar_operator.local.runtime import LocalRuntime

from tests.harness.aws import CREDENTIALS, REGION, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import FUNCTIONS, function_manifest, wait_gone, wait_ready

# Answers with the upper-cased body on stdout, and writes nothing: stdout is the answer.
UPPER = '#!/bin/sh\ntr a-z A-Z < "$INPUT_FILE_PATH"\n'


@pytest.fixture
def runtime(aws: EmulatedAws) -> Iterator[LocalRuntime]:
    local = LocalRuntime(aws_env=aws.operator_env()).start()
    yield local
    local.stop()


def post(runtime: LocalRuntime, url: str, body: bytes, *, sign: bool,
         secret: str = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]) -> tuple[int, bytes]:
    """A real HTTP POST to the runtime's loopback server, addressed (Host) and signed for the function URL."""
    from botocore.credentials import Credentials

    credentials = Credentials(CREDENTIALS["AWS_ACCESS_KEY_ID"], secret, CREDENTIALS["AWS_SESSION_TOKEN"])
    headers = signed_headers(url, "POST", body, "text/plain", credentials if sign else None, REGION)
    request = urllib.request.Request(  # noqa: S310 (the runtime's loopback http server)
        runtime.function_url_endpoint + (urlsplit(url).path or "/"), data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as e:
        return int(e.code), bytes(e.read())


def statement_ids(aws: EmulatedAws, function: str) -> set[str]:
    try:
        policy = aws.client("lambda").get_policy(FunctionName=function)["Policy"]
    except aws.client("lambda").exceptions.ResourceNotFoundException:
        return set()
    return {s["Sid"] for s in json.loads(policy)["Statement"]}


def test_an_iam_url_answers_signed_headerss_only_then_opens_to_everyone_then_goes_away(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, runtime: LocalRuntime,
) -> None:
    cors = {"allowOrigins": ["https://example.com"], "allowMethods": ["POST"], "maxAge": 300}
    cluster.apply(FUNCTIONS, namespace, function_manifest("web", script=UPPER, http={"cors": cors}))
    status = wait_ready(cluster, namespace, "web")["status"]
    url, name = status["url"], status["functionName"]
    assert url.startswith("https://") and status["urlAuthType"] == "AWS_IAM"
    held = aws.client("lambda").get_function_url_config(FunctionName=name)
    assert (held["AuthType"], held["Cors"]["AllowOrigins"], held["Cors"]["MaxAge"]) == (
        "AWS_IAM", ["https://example.com"], 300)
    assert not statement_ids(aws, name) & {"scar-function-url-public", "scar-function-url-public-invoke"}

    assert post(runtime, url, b"hello", sign=True) == (200, b"HELLO")
    assert post(runtime, url, b"hello", sign=False)[0] == 403
    assert post(runtime, url, b"hello", sign=True, secret="not-the-secret")[0] == 403

    # Opened to everyone: the URL's auth type changes and both public statements are added.
    cluster.patch_spec(FUNCTIONS, namespace, "web", {"http": {"authType": "NONE"}})
    status = wait_ready(cluster, namespace, "web")["status"]
    assert status["urlAuthType"] == "NONE" and status["url"] == url
    assert {"scar-function-url-public", "scar-function-url-public-invoke"} <= statement_ids(aws, name)
    assert post(runtime, url, b"anyone", sign=False) == (200, b"ANYONE")

    # No http any more: the public statements go, then the URL.
    cluster.patch_spec(FUNCTIONS, namespace, "web", {"http": None})
    status = wait_ready(cluster, namespace, "web")["status"]
    assert "url" not in status and "urlAuthType" not in status
    with pytest.raises(aws.client("lambda").exceptions.ResourceNotFoundException):
        aws.client("lambda").get_function_url_config(FunctionName=name)
    assert not statement_ids(aws, name) & {"scar-function-url-public", "scar-function-url-public-invoke"}
    assert post(runtime, url, b"hello", sign=True)[0] == 404


def test_kubectl_scar_invoke_http_posts_a_file_and_writes_the_answer(
    cluster: Cluster, aws: EmulatedAws, namespace: str, operator: OperatorProcess, runtime: LocalRuntime,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = "scar-it-video"
    script = '#!/bin/sh\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/answer-$(basename "$INPUT_FILE_PATH")"\n'
    cluster.apply(FUNCTIONS, namespace, function_manifest("web-file", script=script, http={}))
    wait_ready(cluster, namespace, "web-file")
    for variable, value in {**aws.operator_env(), "KUBECONFIG": str(cluster.kubeconfig),
                            ENDPOINT_ENV: runtime.function_url_endpoint}.items():
        monkeypatch.setenv(variable, value)
    image = tmp_path / "frame.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg \x00\x01")
    answer = tmp_path / "answer.jpg"

    code = kubectl_scar(["invoke", "web-file", str(image), "--http", "-n", namespace, "-o", str(answer)])

    assert code == 0, capsys.readouterr().err
    assert answer.read_bytes() == image.read_bytes()
    request_id = capsys.readouterr().err.strip().rsplit(" ", 1)[-1]
    # The one output file is the answer, and it is uploaded under output/<request-id>/ as well.
    uploaded = aws.client("s3").get_object(Bucket=bucket, Key=f"results/{request_id}/answer-frame.jpg")
    assert uploaded["Body"].read() == image.read_bytes()

    # Without spec.http there is nothing to post to, and the CLI says so.
    cluster.apply(FUNCTIONS, namespace, function_manifest("no-url", input=[]))
    wait_ready(cluster, namespace, "no-url")
    assert kubectl_scar(["invoke", "no-url", str(image), "--http", "-n", namespace]) == 1
    assert "add spec.http" in capsys.readouterr().err
    cluster.delete(FUNCTIONS, namespace, "no-url")
    wait_gone(cluster, namespace, "no-url")
