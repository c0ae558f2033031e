"""Run a zip-packaged Lambda function as deployed: its code, its environment, its handler.

moto stores functions but runs none without Docker, and hands out no download link that
resolves here; so the zip to run is given, and proven to be the deployed one by Lambda's own
CodeSha256, then run in a child Python with the function's environment and the standard AWS
variables pointing at the emulator.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

_RUNNER = """
import importlib, json, sys
module, _, function = sys.argv[1].rpartition(".")
handler = getattr(importlib.import_module(module), function)
class Context:
    aws_request_id = sys.argv[2]
    def get_remaining_time_in_millis(self):
        return 60000
print(json.dumps(handler(json.load(sys.stdin), Context())))
"""


def invoke_zip_function(lambda_client: Any, name: str, package: bytes, event: dict[str, Any],
                        aws_env: dict[str, str], workdir: Path, request_id: str = "local-invoke") -> Any:
    config = lambda_client.get_function(FunctionName=name)["Configuration"]
    assert config["PackageType"] == "Zip", f"{name} is not a zip function"
    assert config["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode(), \
        f"{name} does not run this package"
    zipfile.ZipFile(io.BytesIO(package)).extractall(workdir)
    environment = {**aws_env, **(config.get("Environment") or {}).get("Variables", {}), "PYTHONPATH": str(workdir),
                   "PATH": "/usr/bin:/bin"}
    finished = subprocess.run([sys.executable, "-c", _RUNNER, config["Handler"], request_id], cwd=workdir,
                              input=json.dumps(event), capture_output=True, text=True, env=environment,
                              timeout=60, check=False)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.splitlines()[-1])
