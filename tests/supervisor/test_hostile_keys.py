"""Whatever an S3 key holds, it never becomes a path outside the work dir nor part of a command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lambda_supervisor.config import OutputTarget, SupervisorConfig
from lambda_supervisor.events import s3_event
from lambda_supervisor.handler import lambda_handler
from lambda_supervisor.invoke import InvocationContext
from tests.supervisor.conftest import scratch_is_empty

HOSTILE_KEYS = [
    "in/../../../etc/passwd",
    "in/..",
    "in/with spaces and + plus.txt",
    "in/ünïcødé-文件.txt",
    "in/$(touch PWNED).txt",
    "in/`touch PWNED`; touch PWNED & echo .txt",
    "in/'quotes\" and \\backslash.txt",
    "in/tab\tand *glob? [chars].txt",
    "in/-rf",
    "in/" + "x" * 300,
]

# Seed scripts use their variables unquoted; expansion results are never parsed again by the shell.
COPY_SCRIPT = """\
echo "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/where"
cat "$INPUT_FILE_PATH" > "$TMP_OUTPUT_DIR/copy"
ls -d $INPUT_FILE_PATH > /dev/null 2>&1 || true
find "$PWD" -name PWNED > "$TMP_OUTPUT_DIR/pwned"
"""


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_a_hostile_key_is_downloaded_inside_the_work_dir_and_runs_no_command(
    key: str, s3_env: dict[str, str], s3: Any, bucket: str, configure: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    s3.put_object(Bucket=bucket, Key=key, Body=b"payload")
    configure(SupervisorConfig(script=COPY_SCRIPT, outputs=(OutputTarget(bucket, "out"),)))

    result = lambda_handler(s3_event(bucket, key), InvocationContext(60, "r"))

    assert s3.get_object(Bucket=bucket, Key="out/r/copy")["Body"].read() == b"payload"
    where = Path(s3.get_object(Bucket=bucket, Key="out/r/where")["Body"].read().decode().rstrip("\n"))
    assert where.parent.parent.parent == Path(s3_env["TMPDIR"]).resolve()  # <tmp>/scar-*/input/<name>
    assert where.parent.name == "input"
    assert len(where.name.encode()) <= 255
    assert result["records"][0]["input"] == f"s3://{bucket}/{key}"
    executed = s3.get_object(Bucket=bucket, Key="out/r/pwned")["Body"].read()
    assert executed == b"", "a key's shell metacharacters were executed"
    assert not list(tmp_path.rglob("PWNED"))
    assert scratch_is_empty(s3_env)


def test_the_event_keeps_the_key_as_s3_sent_it(s3_env: dict[str, str], s3: Any, bucket: str, configure: Any) -> None:
    key = "in/$(id) ü.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    configure(SupervisorConfig(script='printf %s "$EVENT" > "$TMP_OUTPUT_DIR/event.json"',
                               outputs=(OutputTarget(bucket, "out"),)))

    lambda_handler(s3_event(bucket, key), InvocationContext(60, "r"))

    event = json.loads(s3.get_object(Bucket=bucket, Key="out/r/event.json")["Body"].read())
    assert event["Records"][0]["s3"]["object"]["key"] == "in/%24%28id%29+%C3%BC.txt"
