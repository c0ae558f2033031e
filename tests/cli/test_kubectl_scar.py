"""kubectl scar: SCAR's data commands by function name, and one clear line for each error."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from scar_operator.kubectl_scar.main import main

from tests.harness.aws import EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.scar import FUNCTIONS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def put_outputs(aws: EmulatedAws, bucket: str, files: dict[str, bytes]) -> None:
    for key, body in files.items():
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


@pytest.mark.usefixtures("user_env")
def test_put_uploads_files_and_directories_under_the_functions_input(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any], bucket: str, tmp_path: Path,
) -> None:
    (tmp_path / "video.avi").write_bytes(b"v" * 100)
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"a")
    (folder / "sub" / "b.jpg").write_bytes(b"b")

    code, out, err = run(capsys, "put", "darknet", str(tmp_path / "video.avi"), str(folder))

    assert code == 0, err
    assert out.split() == [f"s3://{bucket}/frames/video.avi", f"s3://{bucket}/frames/batch/a.jpg",
                           f"s3://{bucket}/frames/batch/sub/b.jpg"]
    assert aws.client("s3").get_object(Bucket=bucket, Key="frames/batch/sub/b.jpg")["Body"].read() == b"b"


@pytest.mark.usefixtures("user_env")
def test_put_says_when_a_file_will_not_trigger_the_function(
    capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, function: dict[str, Any], bucket: str,
    tmp_path: Path,
) -> None:
    cluster.patch_spec(FUNCTIONS, namespace, "darknet", {"input": [{"bucket": bucket, "prefix": "frames/",
                                                                    "suffix": ".jpg"}]})
    (tmp_path / "frame.jpg").write_bytes(b"j")
    (tmp_path / "clip.mp4").write_bytes(b"m")

    code, out, err = run(capsys, "put", "darknet", str(tmp_path / "frame.jpg"), str(tmp_path / "clip.mp4"))

    assert code == 0  # both are uploaded: storing a file there may be what the user wants
    assert out.split() == [f"s3://{bucket}/frames/frame.jpg", f"s3://{bucket}/frames/clip.mp4"]
    notes = [line for line in err.splitlines() if "kubectl scar put: note:" in line]
    assert notes == [f"kubectl scar put: note: s3://{bucket}/frames/clip.mp4 does not end in '.jpg', "
                     f"so it does not trigger ScarFunction darknet"]


@pytest.mark.usefixtures("user_env")
def test_a_large_file_goes_up_in_parallel_parts_with_a_progress_bar(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any], bucket: str, tmp_path: Path,
) -> None:
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        f.truncate(40 * 2**20)
    mark = aws.proxy.mark()

    code, _, err = run(capsys, "put", "darknet", "-p", str(big))

    assert code == 0
    assert "big.bin" in err and "100%" in err and "40.0M" in err
    parts = [c for c in aws.proxy.calls_since(mark) if c.operation == "UploadPart"]
    assert len(parts) == 5  # 8 MiB parts
    assert aws.client("s3").head_object(Bucket=bucket, Key="frames/big.bin")["ContentLength"] == 40 * 2**20


@pytest.mark.usefixtures("user_env")
def test_ls_groups_outputs_by_request_id_with_sizes_and_json(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any], bucket: str,
) -> None:
    put_outputs(aws, bucket, {"results/r1/out001.out": b"12345", "results/r1/out001.png": b"12",
                              "results/r2/out002.out": b"1"})

    code, out, _ = run(capsys, "ls", "darknet")
    assert code == 0
    assert "r1  2 files, 7 bytes" in out and "r2  1 files, 1 bytes" in out
    assert f"s3://{bucket}/results/r1/out001.png" in out

    code, out, _ = run(capsys, "ls", "darknet", "--json", "--request-id", "r1")
    listed = json.loads(out)
    assert [g["requestId"] for g in listed] == ["r1"]
    assert sorted((f["key"], f["size"]) for f in listed[0]["files"]) == [
        ("results/r1/out001.out", 5), ("results/r1/out001.png", 2)]


@pytest.mark.usefixtures("user_env")
def test_get_downloads_the_outputs_keeping_their_folders(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any], bucket: str, tmp_path: Path,
) -> None:
    put_outputs(aws, bucket, {"results/r1/out001.out": b"face", "results/r1/deep/x.png": b"png",
                              "results/r2/out002.out": b"none"})

    code, _, err = run(capsys, "get", "darknet", "-o", str(tmp_path / "dl"), "--request-id", "r1")

    assert code == 0 and "2 files" in err
    assert (tmp_path / "dl" / "r1" / "out001.out").read_bytes() == b"face"
    assert (tmp_path / "dl" / "r1" / "deep" / "x.png").read_bytes() == b"png"
    assert not (tmp_path / "dl" / "r2").exists()


@pytest.mark.usefixtures("user_env")
def test_logs_prints_the_functions_log_lines_filtered_by_request_id(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any],
) -> None:
    logs = aws.client("logs")
    group = function["status"]["logGroup"]
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/11/25/[$LATEST]abc")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="2026/11/25/[$LATEST]abc", logEvents=[
        {"timestamp": now, "message": '{"phase": "download", "requestId": "req-1"}'},
        {"timestamp": now + 1, "message": '{"phase": "download", "requestId": "req-2"}'},
    ])

    code, out, _ = run(capsys, "logs", "darknet")
    assert code == 0 and "req-1" in out and "req-2" in out

    code, out, _ = run(capsys, "logs", "darknet", "--request-id", "req-2")
    assert code == 0 and "req-2" in out and "req-1" not in out


@pytest.mark.usefixtures("user_env")
def test_invoke_uploads_the_file_and_runs_the_function_on_it(
    capsys: pytest.CaptureFixture[str], aws: EmulatedAws, function: dict[str, Any], bucket: str, tmp_path: Path,
) -> None:
    role = aws.client("iam").create_role(RoleName=f"r-{bucket}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    aws.client("lambda").create_function(FunctionName=function["status"]["functionName"], Role=role,
                                          PackageType="Image", Code={"ImageUri": function["spec"]["image"]})
    frame = tmp_path / "frame 1.jpg"
    frame.write_bytes(b"jpeg")
    mark = aws.proxy.mark()

    code, out, _ = run(capsys, "invoke", "darknet", str(frame))

    assert code == 0, out
    assert aws.client("s3").get_object(Bucket=bucket, Key="frames/frame 1.jpg")["Body"].read() == b"jpeg"
    [call] = [c for c in aws.proxy.calls_since(mark) if c.operation == "Invoke"]
    assert call.path.endswith(f"/functions/{function['status']['functionName']}/invocations")
    sent = json.loads(call.body)
    assert sent["Records"][0]["s3"]["object"]["key"] == "frames/frame+1.jpg"  # URL-encoded, as S3 sends it
    assert out.strip()  # the function's answer is shown


@pytest.mark.usefixtures("user_env")
@pytest.mark.parametrize(("argv", "message"), [
    (["ls", "nosuch"], "no ScarFunction or ScarBatchJob named 'nosuch'"),
    (["ls", "darknet", "--context", "nowhere"], "no context named 'nowhere'"),
    (["put", "darknet", "/nonexistent/file"], "/nonexistent/file: no such file or directory"),
    (["ls", "darknet", "-b", "no-such-bucket-at-all/x"], "the bucket does not exist"),
])
def test_errors_are_one_clear_line(capsys: pytest.CaptureFixture[str], function: dict[str, Any], argv: list[str],
                                   message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("kubectl scar: ") and message in err, err


@pytest.mark.usefixtures("user_env")
def test_a_function_without_outputs_says_so(capsys: pytest.CaptureFixture[str], cluster: Any,
                                            namespace: str) -> None:
    cluster.apply("scarfunctions", namespace, {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction",
                                               "metadata": {"name": "mute"}, "spec": {"image": "i:1"}})
    code, _, err = run(capsys, "get", "mute")
    assert code == 1 and "has no output configured" in err


@pytest.mark.usefixtures("user_env")
def test_access_denied_is_named(capsys: pytest.CaptureFixture[str], aws: EmulatedAws,
                                function: dict[str, Any]) -> None:
    aws.proxy.inject("s3", "ListObjectsV2", "AccessDenied", "User is not authorized to list", status=403)
    code, _, err = run(capsys, "ls", "darknet")
    aws.proxy.clear_faults()
    assert code == 1 and "access denied" in err


@pytest.mark.usefixtures("user_env")
def test_missing_credentials_are_named(capsys: pytest.CaptureFixture[str], function: dict[str, Any],
                                       monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = run(capsys, "ls", "darknet")
    assert code == 1 and "no AWS credentials" in err
