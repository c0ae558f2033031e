"""S3 transfers: streamed to and from disk, with bounded memory, outputs in parallel."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

# boto3 moves big objects in 8 MiB parts, a few at a time: memory stays near concurrency x part
# size whatever the object's size, and a 1 GB input never sits in memory.
TRANSFER = TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=4,
                          use_threads=True)
UPLOAD_WORKERS = 8


@dataclass(frozen=True)
class Upload:
    path: Path
    bucket: str
    key: str

    @property
    def content_type(self) -> str:
        guessed, _ = mimetypes.guess_type(self.path.name)
        return guessed or "application/octet-stream"


def download(s3: Any, bucket: str, key: str, destination: Path) -> int:
    s3.download_file(bucket, key, str(destination), Config=TRANSFER)
    return destination.stat().st_size


def upload_all(s3: Any, uploads: Sequence[Upload]) -> list[str]:
    """Upload in parallel; every upload is tried, then the first failure (if any) is raised."""
    def one(upload: Upload) -> str:
        s3.upload_file(str(upload.path), upload.bucket, upload.key, Config=TRANSFER,
                       ExtraArgs={"ContentType": upload.content_type})
        return f"s3://{upload.bucket}/{upload.key}"

    if not uploads:
        return []
    with ThreadPoolExecutor(max_workers=min(UPLOAD_WORKERS, len(uploads))) as pool:
        futures = [pool.submit(one, u) for u in uploads]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return [f.result() for f in futures]
