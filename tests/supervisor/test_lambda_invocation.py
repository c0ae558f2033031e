"""A Lambda invocation: every S3 record is downloaded, the script runs, its outputs are uploaded."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from lambda_supervisor.config import OutputTarget, SupervisorConfig
from lambda_supervisor.events import s3_event
from lambda_supervisor.handler import lambda_handler
from lambda_supervisor.invoke import InvocationContext
from tests.supervisor.conftest import scratch_is_empty

SCAR_SCRIPT_VARIABLES = ["INPUT_FILE_PATH", "TMP_INPUT_DIR", "TMP_OUTPUT_DIR", "STORAGE_OBJECT_KEY", "STORAGE_BUCKET",
                         "EVENT", "REQUEST_ID", "SCAR_INPUT_FILE", "SCAR_OUTPUT_DIR"]
SEED_SPLIT_SCRIPT = (Path(__file__).parent / "seed_scripts" / "split-video.sh").read_text()


def keys_under(s3: Any, bucket: str, prefix: str) -> list[str]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def records(*events: dict[str, Any]) -> dict[str, Any]:
    return {"Records": [r for e in events for r in e["Records"]]}


def make_video(ffmpeg_bin: Path, path: Path, seconds: int) -> None:
    subprocess.run(
        [str(ffmpeg_bin / "ffmpeg"), "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=duration={seconds}:size=160x120:rate=10", "-c:v", "mpeg4", str(path)],
        check=True,
    )


def test_the_seed_split_script_writes_one_frame_per_second_under_the_request_id(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any, ffmpeg_bin: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", f"{ffmpeg_bin}:{s3_env.get('PATH', '/usr/bin:/bin')}")
    video = tmp_path / "seq1.avi"
    make_video(ffmpeg_bin, video, seconds=4)
    s3.upload_file(str(video), bucket, "scar-video/input/seq1.avi")
    configure(SupervisorConfig(script=SEED_SPLIT_SCRIPT,
                               outputs=(OutputTarget(bucket, "scar-video/split-images"),)))

    result = lambda_handler(s3_event(bucket, "scar-video/input/seq1.avi"), InvocationContext(60, "req-1"))

    frames = [f"scar-video/split-images/req-1/out00{i}.jpg" for i in range(1, 5)]
    assert keys_under(s3, bucket, "scar-video/split-images/") == frames
    assert sorted(result["records"][0]["outputs"]) == [f"s3://{bucket}/{k}" for k in frames]
    head = s3.head_object(Bucket=bucket, Key=frames[0])
    assert head["ContentType"] == "image/jpeg"
    assert s3.get_object(Bucket=bucket, Key=frames[0])["Body"].read()[:2] == b"\xff\xd8"  # a JPEG
    assert scratch_is_empty(s3_env)


def test_every_record_of_an_event_is_processed_each_under_its_own_request_id(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        s3.put_object(Bucket=bucket, Key=f"in/{name}", Body=name.encode())
    configure(SupervisorConfig(script='tr a-z A-Z < "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/upper.txt"',
                               outputs=(OutputTarget(bucket, "out"),)))
    event = records(*(s3_event(bucket, f"in/{n}") for n in ("a.txt", "b.txt", "c.txt")))

    result = lambda_handler(event, InvocationContext(60, "req"))

    assert [r["requestId"] for r in result["records"]] == ["req", "req-1", "req-2"]
    assert keys_under(s3, bucket, "out/") == ["out/req-1/upper.txt", "out/req-2/upper.txt", "out/req/upper.txt"]
    assert s3.get_object(Bucket=bucket, Key="out/req-2/upper.txt")["Body"].read() == b"C.TXT"


def test_sub_folders_are_kept_and_each_output_takes_only_its_suffixes(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/x.bin", Body=b"x")
    script = 'mkdir -p "$TMP_OUTPUT_DIR/deep/er" && echo r > "$TMP_OUTPUT_DIR/result.out" ' \
             '&& echo p > "$TMP_OUTPUT_DIR/deep/er/image.png" && echo l > "$TMP_OUTPUT_DIR/debug.log"'
    configure(SupervisorConfig(script=script, outputs=(
        OutputTarget(bucket, "results", (".out", ".png")),
        OutputTarget(bucket, "logs/", (".log",)),
    )))

    lambda_handler(s3_event(bucket, "in/x.bin"), InvocationContext(60, "r1"))

    assert keys_under(s3, bucket, "results/") == ["results/r1/deep/er/image.png", "results/r1/result.out"]
    assert keys_under(s3, bucket, "logs/") == ["logs/r1/debug.log"]
    assert s3.head_object(Bucket=bucket, Key="results/r1/deep/er/image.png")["ContentType"] == "image/png"


def test_the_flat_layout_writes_outputs_directly_under_the_prefix(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/x.bin", Body=b"x")
    configure(SupervisorConfig(script='echo done > "$TMP_OUTPUT_DIR/x.out"', layout="flat",
                               outputs=(OutputTarget(bucket, "flat"),)))

    lambda_handler(s3_event(bucket, "in/x.bin"), InvocationContext(60, "r1"))

    assert keys_under(s3, bucket, "flat/") == ["flat/x.out"]


def test_the_script_sees_the_variables_scar_scripts_expect_and_the_users_own(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/my file.txt", Body=b"hello")
    monkeypatch.setenv("MODEL", "yolov3-tiny")  # what the operator puts in the function's environment
    wanted = [*SCAR_SCRIPT_VARIABLES, "MODEL", "SCAR_SUPERVISOR_CONFIG"]
    script = textwrap.dedent(f"""\
        #!/usr/bin/env python3
        import json, os
        seen = {{name: os.environ.get(name) for name in {wanted!r}}}
        seen["input"] = open(os.environ["INPUT_FILE_PATH"]).read()
        json.dump(seen, open(os.path.join(os.environ["TMP_OUTPUT_DIR"], "env.json"), "w"))
    """)
    configure(SupervisorConfig(script=script, outputs=(OutputTarget(bucket, "out"),)))

    lambda_handler(s3_event(bucket, "in/my file.txt"), InvocationContext(60, "rq"))

    seen = json.loads(s3.get_object(Bucket=bucket, Key="out/rq/env.json")["Body"].read())
    assert seen["input"] == "hello"
    assert seen["STORAGE_OBJECT_KEY"] == "in/my file.txt"  # decoded from the event's 'in/my+file.txt'
    assert seen["STORAGE_BUCKET"] == bucket
    assert seen["REQUEST_ID"] == "rq"
    assert seen["MODEL"] == "yolov3-tiny"
    assert Path(seen["INPUT_FILE_PATH"]).name == "my file.txt"
    assert Path(seen["INPUT_FILE_PATH"]).parent == Path(seen["TMP_INPUT_DIR"])
    assert seen["SCAR_INPUT_FILE"] == seen["INPUT_FILE_PATH"]
    assert seen["SCAR_OUTPUT_DIR"] == seen["TMP_OUTPUT_DIR"]
    assert json.loads(seen["EVENT"])["Records"][0]["s3"]["object"]["key"] == "in/my+file.txt"
    assert seen["SCAR_SUPERVISOR_CONFIG"] is None  # the supervisor's own settings are not the script's business


def test_work_dirs_are_removed_after_every_record_so_a_warm_lambda_does_not_fill_tmp(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/big.bin", Body=b"\0" * 1_000_000)
    configure(SupervisorConfig(script='cp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/copy.bin"',
                               outputs=(OutputTarget(bucket, "out"),)))

    for attempt in range(3):
        lambda_handler(s3_event(bucket, "in/big.bin"), InvocationContext(60, f"warm-{attempt}"))
        assert scratch_is_empty(s3_env)


def test_a_record_that_is_not_from_s3_is_refused_with_its_index(s3_env: dict[str, str], configure: Any) -> None:
    from lambda_supervisor.events import EventError

    configure(SupervisorConfig(script="true"))
    with pytest.raises(EventError, match=r"Records\[1\]"):
        lambda_handler({"Records": [s3_event("b-1", "k")["Records"][0], {"sqs": {}}]}, InvocationContext(60))
