"""convert: a SCAR function definition (either format) printed as ScarFunction / ScarBatchJob manifests.

What has no counterpart is reported, never dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scar_operator.kubectl_scar.errors import UserError

# SCAR keys this converter carries over (the rest are reported).
_CARRIED = {"name", "image", "container", "init_script", "script", "execution_mode", "memory", "timeout",
            "environment", "input", "output", "s3", "region", "log_level", "supervisor", "storage_providers",
            "architectures", "ephemeral_storage"}


@dataclass
class Conversion:
    manifests: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _location(path: str) -> dict[str, str]:
    bucket, _, prefix = path.strip("/").partition("/")
    return {"bucket": bucket, "prefix": f"{prefix}/" if prefix else ""}


def _script(value: str, base: Path, where: str, result: Conversion) -> str:
    path = base / value
    if path.is_file():
        return path.read_text()
    result.dropped.append(f"{where}: init_script {value!r} was not found next to the definition; "
                          f"put its text in spec.script")
    return ""


def _function(definition: dict[str, Any], base: Path, result: Conversion) -> None:
    name = str(definition.get("name", "function"))
    where = f"function {name}"
    container = definition.get("container") or {}
    image = container.get("image") or definition.get("image")
    if not image:
        raise UserError(f"{where}: no image")
    spec: dict[str, Any] = {"image": image}
    script = definition.get("init_script") or definition.get("script")
    text = _script(str(script), base, where, result) if script else ""
    if text:
        spec["script"] = text
    variables = (container.get("environment") or {}).get("Variables") or definition.get("environment") or {}
    if isinstance(variables, dict) and "Variables" in variables:
        variables = variables["Variables"]
    if variables:
        spec["environment"] = {str(k): str(v) for k, v in variables.items()}
    batch = str(definition.get("execution_mode", "lambda")).lower() == "batch"
    if definition.get("memory"):
        if batch:
            spec["resources"] = {"memory": int(definition["memory"])}
        else:
            spec["memory"] = int(definition["memory"])
    if definition.get("timeout") and not batch:
        spec["timeout"] = int(definition["timeout"])
    if definition.get("region"):
        spec["region"] = definition["region"]
    inputs, outputs = [], []
    for entry in definition.get("input") or []:
        if entry.get("storage_provider", "s3").startswith("s3"):
            inputs.append(_location(str(entry["path"])))
        else:
            result.dropped.append(f"{where}: input on {entry.get('storage_provider')!r} (only S3 is supported)")
    for entry in definition.get("output") or []:
        if entry.get("storage_provider", "s3").startswith("s3"):
            location = _location(str(entry["path"]))
            suffixes = entry.get("suffix") or []
            outputs.append({**location, **({"suffixes": list(suffixes)} if suffixes else {})})
        else:
            result.dropped.append(f"{where}: output on {entry.get('storage_provider')!r} (only S3 is supported)")
    s3 = definition.get("s3") or {}
    if s3.get("input_bucket"):
        inputs.append({"bucket": s3["input_bucket"], "prefix": _folder(s3.get("input_folder"))})
    if s3.get("output_bucket"):
        outputs.append({"bucket": s3["output_bucket"], "prefix": _folder(s3.get("output_folder"))})
    if inputs:
        spec["input"] = inputs
    if outputs:
        spec["output"] = outputs
    for key in sorted(set(definition) - _CARRIED):
        result.dropped.append(f"{where}: {key} has no counterpart")
    kind = "ScarBatchJob" if batch else "ScarFunction"
    result.manifests.append({"apiVersion": "scar.dev/v1alpha1", "kind": kind, "metadata": {"name": _k8s_name(name)},
                             "spec": spec})


def _folder(value: Any) -> str:
    return f"{str(value).strip('/')}/" if value else ""


def _k8s_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower()).strip("-")[:253]


def convert(path: Path) -> Conversion:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"{path}: {e}") from None
    functions = (document or {}).get("functions")
    if not isinstance(functions, dict):
        raise UserError(f"{path}: not a SCAR definition (no 'functions:' map)")
    result = Conversion()
    if "aws" in functions:  # the current format: functions: aws: - lambda: {...}
        for entry in functions["aws"] or []:
            definition = dict(entry.get("lambda") or {})
            for key in sorted(set(entry) - {"lambda"}):
                result.dropped.append(f"function {definition.get('name', '?')}: {key} has no counterpart")
            _function(definition, path.parent, result)
        for provider in sorted(set(functions) - {"aws"}):
            result.dropped.append(f"functions on {provider!r}: only AWS is supported")
    else:  # the old format: functions: NAME: {...}
        for name, definition in functions.items():
            _function({"name": name, **(definition or {})}, path.parent, result)
    return result


def render(conversion: Conversion) -> str:
    return yaml.safe_dump_all(conversion.manifests, sort_keys=False)


def spec_problems(conversion: Conversion) -> list[str]:
    """What the operator would refuse in the converted specs (e.g. an output that retriggers the input)."""
    from scar_operator.batch_models import parse_batch_job_spec
    from scar_operator.models import SpecError, parse_function_spec

    problems = []
    for manifest in conversion.manifests:
        parse = parse_batch_job_spec if manifest["kind"] == "ScarBatchJob" else parse_function_spec
        try:
            parse(manifest["spec"])
        except SpecError as e:
            problems.append(f"{manifest['kind']} {manifest['metadata']['name']}: needs an edit before it applies: {e}")
    return problems
