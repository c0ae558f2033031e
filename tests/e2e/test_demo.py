"""README's main command: `scar-operator demo` runs the seed pipeline to the end on a fresh machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.harness.images import supervisor_executables


def test_the_demo_runs_to_the_end_and_leaves_analysed_frames(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "scar_operator", "demo", "--output", str(tmp_path / "out"), "--seconds", "3",
         "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, check=False,
    )

    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-5000:]
    assert "0 Lambda functions, 0 compute environments, 0 job queues" in finished.stdout
    reports = sorted((tmp_path / "out" / "output").glob("*/*.out"))
    assert len(reports) == 3
    assert all("face: " in r.read_text() for r in reports)
    assert len(sorted((tmp_path / "out" / "output").glob("*/*.png"))) == 3
    # One frame posted to the function's URL (signed): the answer carries its detections.
    asked = finished.stdout.split("--http", 1)[1]
    assert "frame.jpg: Predicted in" in asked


def test_the_demo_runs_as_a_tenant_whose_resources_stay_in_its_own_account(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "scar_operator", "demo", "--account", "--output", str(tmp_path / "out"),
         "--seconds", "2", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, check=False,
    )

    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-5000:]
    out = finished.stdout
    assert "ScarAccount video-team is Ready: account 111111111111, serving scar-demo" in out
    assert "arn:aws:lambda:us-east-1:111111111111:function:" in out
    assert "arn:aws:batch:us-east-1:111111111111:job-queue/" in out
    assert "0 Lambda functions, 0 compute environments, 0 job queues" in out
    assert "the operator's own account 123456789012 holds 0 Lambda functions and 0 buckets" in out
    assert len(sorted((tmp_path / "out" / "output").glob("*/*.out"))) == 2


def test_the_demo_runs_from_images_that_are_not_pre_built(tmp_path: Path) -> None:
    """`--any-image`: the example's images are plain bases in a registry of their own (no Python, no
    supervisor), as SCAR's users name Docker Hub images; the operator assembles ECR images from them."""
    finished = subprocess.run(
        [sys.executable, "-m", "scar_operator", "demo", "--any-image", "--output", str(tmp_path / "out"),
         "--seconds", "2", "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "SCAR_SUPERVISOR_DIR": str(supervisor_executables())},
    )

    assert finished.returncode == 0, finished.stdout[-5000:] + finished.stderr[-5000:]
    out = finished.stdout
    assert re.search(r"it runs 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com/scar-images/127\.0\.0\.1-\d+/scar/"
                     r"darknet@sha256:[0-9a-f]{64}, assembled from 127\.0\.0\.1:\d+/scar/darknet:0\.1\.0", out)
    assert "/scar/ffmpeg-split@sha256:" in out
    assert "0 bucket triggers, 0 image repositories" in out
    assert len(sorted((tmp_path / "out" / "output").glob("*/*.out"))) == 2
