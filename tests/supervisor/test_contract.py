"""The supervisor stands alone: its configuration is a versioned contract, and it imports no operator code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from lambda_supervisor.config import BatchTarget, ConfigError, OutputTarget, SupervisorConfig

PACKAGE = Path(__file__).resolve().parents[2] / "lambda_supervisor"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_a_configuration_survives_the_trip_through_the_environment() -> None:
    config = SupervisorConfig(
        script="#!/bin/bash\necho hi", outputs=(OutputTarget("out-bucket", "p/", (".png", ".out")),), layout="flat",
        timeout_threshold_seconds=5, kill_grace_seconds=1, log_level="DEBUG",
        batch=BatchTarget("queue", "definition", "split"),
    )

    assert SupervisorConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(("text", "reason"), [
    ('{"v": 2}', "schema version 2"),
    ("{}", "schema version None"),
    ("[1]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
    ('{"v": 1, "layout": "tree"}', "layout must be"),
    ('{"v": 1, "outputs": [{"prefix": "x"}]}', "malformed"),
])
def test_a_configuration_the_supervisor_does_not_understand_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        SupervisorConfig.from_json(text)


@pytest.mark.parametrize("module", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_supervisor_imports_only_the_standard_library_boto3_and_itself(module: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "lambda_supervisor", "__future__"}
    if module.name == "runtime.py":
        allowed.add("awslambdaric")  # AWS's runtime interface client: the Lambda loop of the executable
    assert imported_modules(module) <= allowed
