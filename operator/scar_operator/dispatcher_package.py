"""The dispatcher's zip: the supervisor package as Lambda's Python runtime loads it.

Built from the installed lambda_supervisor, byte for byte the same on every build (fixed times and
modes, sorted names), so that its CodeSha256 only changes when the code does and a re-check never
re-uploads it.
"""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path

import lambda_supervisor

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@functools.cache
def dispatcher_zip() -> bytes:
    package = Path(lambda_supervisor.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package.glob("*.py")):
            info = zipfile.ZipInfo(f"lambda_supervisor/{path.name}", date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()
