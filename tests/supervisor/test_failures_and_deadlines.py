"""A failing or overrunning script fails the invocation, after its outputs are uploaded."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lambda_supervisor.config import OutputTarget, SupervisorConfig
from lambda_supervisor.events import s3_event
from lambda_supervisor.handler import lambda_handler
from lambda_supervisor.invoke import InvocationContext
from lambda_supervisor.supervisor import ScriptFailedError, stop_margin
from tests.harness.waiting import wait_for
from tests.supervisor.conftest import scratch_is_empty


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers until reaped by its parent (init here): read its state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1].startswith("Z")


def test_a_non_zero_exit_uploads_what_exists_then_fails_with_the_last_lines(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/x", Body=b"x")
    script = """\
echo partial > "$TMP_OUTPUT_DIR/partial.out"
for i in $(seq 1 30); do echo "progress line $i"; done
echo "model file not found: /opt/yolo.weights" >&2
exit 3
"""
    configure(SupervisorConfig(script=script, outputs=(OutputTarget(bucket, "out"),)))

    with pytest.raises(ScriptFailedError) as failure:
        lambda_handler(s3_event(bucket, "in/x"), InvocationContext(60, "r"))

    message = str(failure.value)
    assert "exited with 3" in message
    assert f"s3://{bucket}/in/x" in message
    assert "model file not found: /opt/yolo.weights" in message
    assert "progress line 30" in message
    assert "progress line 1\n" not in message  # only the tail, not the whole log
    assert s3.get_object(Bucket=bucket, Key="out/r/partial.out")["Body"].read() == b"partial\n"
    assert scratch_is_empty(s3_env)


def test_one_failed_record_does_not_stop_the_others(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    for name in ("good", "bad"):
        s3.put_object(Bucket=bucket, Key=f"in/{name}", Body=name.encode())
    script = 'grep -q good "$INPUT_FILE_PATH" || exit 1\ncp "$INPUT_FILE_PATH" "$TMP_OUTPUT_DIR/ok"'
    configure(SupervisorConfig(script=script, outputs=(OutputTarget(bucket, "out"),)))
    event = {"Records": [*s3_event(bucket, "in/bad")["Records"], *s3_event(bucket, "in/good")["Records"]]}

    with pytest.raises(ScriptFailedError, match="in/bad") as failure:
        lambda_handler(event, InvocationContext(60, "r"))

    assert "in/good" not in str(failure.value)
    assert s3.get_object(Bucket=bucket, Key="out/r-1/ok")["Body"].read() == b"good"


def test_a_script_that_outlives_the_deadline_is_stopped_with_its_children_and_its_outputs_kept(
    s3_env: dict[str, str], s3: Any, bucket: str, configure: Any,
) -> None:
    s3.put_object(Bucket=bucket, Key="in/x", Body=b"x")
    # The child ignores TERM, so only the KILL after the grace stops it.
    script = """\
echo early > "$TMP_OUTPUT_DIR/early.out"
sh -c 'trap "" TERM; echo $$ > "$TMP_OUTPUT_DIR/child.pid"; while :; do sleep 1; done' &
while [ ! -s "$TMP_OUTPUT_DIR/child.pid" ]; do sleep 0.05; done
echo "working"
sleep 600
"""
    configure(SupervisorConfig(script=script, outputs=(OutputTarget(bucket, "out"),), timeout_threshold_seconds=2,
                               kill_grace_seconds=0.5))

    with pytest.raises(ScriptFailedError, match="timed out") as failure:
        lambda_handler(s3_event(bucket, "in/x"), InvocationContext(timeout_seconds=6, aws_request_id="r"))

    assert "working" in str(failure.value)
    assert s3.get_object(Bucket=bucket, Key="out/r/early.out")["Body"].read() == b"early\n"
    child = int(s3.get_object(Bucket=bucket, Key="out/r/child.pid")["Body"].read())
    wait_for(lambda: process_is_gone(child), timeout=5, what=f"the script's child {child} to be stopped")
    assert scratch_is_empty(s3_env)


@pytest.mark.parametrize(("remaining", "threshold", "margin"), [(300, 10, 10), (6, 10, 3), (1, 10, 0.5)])
def test_a_short_timeout_still_leaves_the_script_half_of_the_time(remaining: float, threshold: float,
                                                                   margin: float) -> None:
    assert stop_margin(remaining, threshold) == margin
