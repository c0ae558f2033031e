"""The supervisor runs against the moto server the tests start, as it runs against S3 in a Lambda."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from lambda_supervisor import handler
from lambda_supervisor.config import CONFIG_ENV, SupervisorConfig
from tests.harness.aws import CREDENTIALS, REGION, EmulatedAws


@pytest.fixture
def s3_env(aws: EmulatedAws, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The standard AWS variables, pointing at moto, as a Lambda's environment would carry them.

    TMPDIR is the test's own, so that a test can see that nothing is left behind in it.
    """
    scratch = tmp_path / "lambda-tmp"
    scratch.mkdir()
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": aws.moto_url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
           "TMPDIR": str(scratch)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("tempfile.tempdir", None)  # re-read TMPDIR
    handler._client.cache_clear()  # a fresh client that sees the variables above
    return env


@pytest.fixture
def s3(aws: EmulatedAws) -> Any:
    return aws.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"data-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write the supervisor's configuration where the operator writes it: the function's environment."""
    def write(config: SupervisorConfig) -> SupervisorConfig:
        monkeypatch.setenv(CONFIG_ENV, config.to_json())
        return config
    return write


@pytest.fixture(scope="session")
def ffmpeg_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with `ffmpeg` in it: Debian's when installed, else the binary PyPI's imageio-ffmpeg ships."""
    directory = tmp_path_factory.mktemp("ffmpeg-bin")
    system = shutil.which("ffmpeg")
    if system is not None:
        (directory / "ffmpeg").symlink_to(system)
    else:
        import imageio_ffmpeg

        (directory / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    return directory


def scratch_is_empty(env: dict[str, str]) -> bool:
    return not os.listdir(env["TMPDIR"])
