"""put, ls and get: S3 transfers with progress, multipart and parallel for big files."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from boto3.s3.transfer import TransferConfig
from tqdm import tqdm

from scar_operator.kubectl_scar.errors import UserError, describe_aws_error
from scar_operator.kubectl_scar.targets import Location

# Files over 8 MiB go in 8 MiB parts, 8 at a time.
TRANSFER = TransferConfig(multipart_threshold=8 * 2**20, multipart_chunksize=8 * 2**20, max_concurrency=8)


def _files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """(file, its key relative to the target prefix); a directory keeps its own name and sub-folders."""
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                yield file, f"{path.name}/{file.relative_to(path).as_posix()}"
        elif path.is_file():
            yield path, path.name
        else:
            raise UserError(f"{path}: no such file or directory")


def _bar(total: int, label: str, stream: TextIO | None) -> tqdm:
    # Resolved per call, not at import: the caller (or a test) may have replaced sys.stderr since.
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label, file=stream or sys.stderr,
                leave=True,
                dynamic_ncols=True, mininterval=0.2)


def put(s3: Any, target: Location, paths: list[Path], stream: TextIO | None = None) -> list[str]:
    uploaded = []
    for file, relative in _files(paths):
        key = target.key(relative)
        with _bar(file.stat().st_size, relative, stream) as bar:
            try:
                s3.upload_file(str(file), target.bucket, key, Config=TRANSFER, Callback=bar.update)
            except Exception as e:
                raise describe_aws_error(e, f"uploading {file} to s3://{target.bucket}/{key}") from None
        uploaded.append(f"s3://{target.bucket}/{key}")
    return uploaded


def _objects(s3: Any, location: Location) -> list[dict[str, Any]]:
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.prefix)
        return [o for page in pages for o in page.get("Contents", [])]
    except Exception as e:
        raise describe_aws_error(e, f"listing bucket {location}") from None


def request_id_of(location: Location, key: str, layout: str) -> str:
    relative = key[len(location.prefix):].lstrip("/")
    return relative.split("/", 1)[0] if layout == "requestId" and "/" in relative else ""


def listing(s3: Any, outputs: list[Location], layout: str, request_id: str | None = None) -> dict[str, list[Any]]:
    """Outputs grouped by request id (empty id with the flat layout)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for location in outputs:
        for obj in _objects(s3, location):
            rid = request_id_of(location, obj["Key"], layout)
            if request_id and rid != request_id:
                continue
            groups[rid].append({"bucket": location.bucket, "key": obj["Key"], "size": obj["Size"],
                                "lastModified": obj["LastModified"].isoformat()})
    return dict(sorted(groups.items(), key=lambda item: min(o["lastModified"] for o in item[1])))


def print_listing(groups: dict[str, list[Any]], as_json: bool, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if as_json:
        json.dump([{"requestId": rid, "files": files} for rid, files in groups.items()], out, indent=2)
        out.write("\n")
        return
    if not groups:
        out.write("no outputs yet\n")
    for rid, files in groups.items():
        out.write(f"{rid or '(flat layout)'}  {len(files)} files, {sum(f['size'] for f in files)} bytes\n")
        for f in files:
            out.write(f"  {f['lastModified'][:19]}  {f['size']:>12}  s3://{f['bucket']}/{f['key']}\n")


def get(s3: Any, outputs: list[Location], layout: str, directory: Path, request_id: str | None = None,
        stream: TextIO | None = None) -> list[Path]:
    written = []
    for files in listing(s3, outputs, layout, request_id).values():
        for f in files:
            location = next(o for o in outputs if o.bucket == f["bucket"] and f["key"].startswith(o.prefix))
            relative = f["key"][len(location.prefix):].lstrip("/")
            target = (directory / relative).resolve()
            if directory.resolve() not in target.parents:
                raise UserError(f"refusing to write {f['key']} outside {directory}")
            target.parent.mkdir(parents=True, exist_ok=True)
            with _bar(f["size"], relative, stream) as bar:
                try:
                    s3.download_file(f["bucket"], f["key"], str(target), Config=TRANSFER, Callback=bar.update)
                except Exception as e:
                    raise describe_aws_error(e, f"downloading s3://{f['bucket']}/{f['key']}") from None
            written.append(target)
    return written
