"""convert: a SCAR function definition (either format) printed as ScarFunction / ScarBatchJob manifests.

What has no counterpart is reported, never dropped in silence; what the API server or the
operator would refuse (a placeholder left from an example, a value out of range, a trigger loop)
is an error naming the field, and nothing is printed.

The mapping, SCAR → this project:
- `container.image` / `image` → `image`; `init_script` (a file next to the definition) / `script`
  → `script`; `environment` (or `container.environment.Variables`) → `environment`;
- `memory`, `timeout` (or `time`), `ephemeral_storage`, `architectures` → the function's own
  fields (Lambda only: in SCAR they size the Lambda function, never the Batch jobs);
- `input` / `output` (storage paths `bucket/folder`, output `suffix` lists) and the old `s3:`
  block → `input` / `output`;
- `execution_mode: batch` → a ScarBatchJob whose `resources` and `compute` come from the `batch:`
  block (`vcpus`, `memory`, `enable_gpu`, `compute_resources.type`, `max_v_cpus`,
  `instance_types`, `subnets`, `security_group_ids`), with SCAR's defaults where it is silent
  (1 vCPU, 1024 MiB, EC2 up to 2 vCPUs; instance types left to AWS instead of SCAR's m3.medium);
- `execution_mode: lambda-batch` → a Lambda-only ScarFunction, said on stderr (events that do
  not fit Lambda are not sent to Batch: write a ScarBatchJob for those);
- `api_gateway` → `http` (a function URL), AWS_IAM unless the definition asks for NONE.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scar_operator.kubectl_scar.errors import UserError

# Keys of a function that are carried over (any other one is reported).
_CARRIED = {"name", "image", "container", "init_script", "script", "execution_mode", "memory", "timeout", "time",
            "environment", "input", "output", "s3", "region", "architectures", "ephemeral_storage", "batch",
            "api_gateway"}
# SCAR's defaults for Batch, used where a definition's `batch:` block is silent.
SCAR_BATCH_DEFAULTS = {"vcpus": 1, "memory": 1024, "type": "EC2", "max_v_cpus": 2}
_PLACEHOLDER = re.compile(r"<[^<>]+>")


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


def _folder(value: Any) -> str:
    return f"{str(value).strip('/')}/" if value else ""


def _k8s_name(name: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower()).strip("-")[:253]


def _storage(definition: dict[str, Any], where: str, result: Conversion) -> tuple[list[Any], list[Any]]:
    inputs: list[Any] = []
    outputs: list[Any] = []
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
    return inputs, outputs


def _lambda_sizes(definition: dict[str, Any], spec: dict[str, Any]) -> None:
    if definition.get("memory"):
        spec["memory"] = int(definition["memory"])
    timeout = definition.get("timeout") or definition.get("time")
    if timeout:
        spec["timeout"] = int(timeout)
    if definition.get("ephemeral_storage"):
        spec["ephemeralStorage"] = int(definition["ephemeral_storage"])
    architectures = definition.get("architectures") or []
    if architectures:
        spec["architecture"] = str(architectures[0])


def _batch(definition: dict[str, Any], spec: dict[str, Any], where: str, result: Conversion) -> None:
    """SCAR's `batch:` block as the job's resources and its compute environment."""
    block = dict(definition.get("batch") or {})
    compute_block = dict(block.get("compute_resources") or {})
    gpus = 1 if block.get("enable_gpu") else 0
    resources: dict[str, Any] = {"vcpus": block.get("vcpus", SCAR_BATCH_DEFAULTS["vcpus"]),
                                 "memory": int(block.get("memory", SCAR_BATCH_DEFAULTS["memory"]))}
    if gpus:
        resources["gpus"] = gpus
    spec["resources"] = resources
    compute_type = str(compute_block.get("type") or compute_block.get("comp_type") or SCAR_BATCH_DEFAULTS["type"])
    compute: dict[str, Any] = {"type": compute_type,
                               "maxVcpus": int(compute_block.get("max_v_cpus", SCAR_BATCH_DEFAULTS["max_v_cpus"]))}
    for scar_key, ours in (("instance_types", "instanceTypes"), ("subnets", "subnets"),
                           ("security_group_ids", "securityGroupIds")):
        values = [str(v) for v in compute_block.get(scar_key) or [] if str(v)]
        if values:
            compute[ours] = values
    spec["compute"] = compute
    if definition.get("memory"):
        result.dropped.append(f"{where}: memory {definition['memory']} sizes the Lambda function in SCAR; the Batch "
                              f"jobs take batch.memory ({resources['memory']} MiB)")
    for key in ("min_v_cpus", "desired_v_cpus"):
        if compute_block.get(key):
            result.dropped.append(f"{where}: batch.compute_resources.{key} {compute_block[key]}: the compute "
                                  f"environment scales from 0 vCPUs")
    if "instance_types" not in compute_block and compute_type in ("EC2", "SPOT"):
        result.dropped.append(f"{where}: batch.compute_resources.instance_types: SCAR's default m3.medium is left "
                              f"out; AWS picks instance types ('optimal')")
    for key in sorted(set(block) - {"vcpus", "memory", "enable_gpu", "compute_resources"}):
        result.dropped.append(f"{where}: batch.{key} has no counterpart")
    for key in sorted(set(compute_block) - {"type", "comp_type", "max_v_cpus", "min_v_cpus", "desired_v_cpus",
                                            "instance_types", "subnets", "security_group_ids"}):
        result.dropped.append(f"{where}: batch.compute_resources.{key} has no counterpart")


def _http(api: dict[str, Any], where: str, result: Conversion) -> dict[str, Any]:
    """SCAR's API Gateway endpoint as a function URL."""
    asked = str(api.get("authorization_type") or "").upper()
    if asked == "NONE":
        result.dropped.append(f"{where}: api_gateway.authorization_type NONE: the function URL is public "
                              f"(under a ScarAccount it needs allowPublicUrls)")
        return {"authType": "NONE"}
    if not asked:
        result.dropped.append(f"{where}: api_gateway: SCAR's API was public; the function URL takes SigV4-signed "
                              f"requests (AWS_IAM; `kubectl scar invoke --http` signs them). Set "
                              f"spec.http.authType: NONE for a public one")
    for key in sorted(set(api) - {"name", "authorization_type"}):
        result.dropped.append(f"{where}: api_gateway.{key} has no counterpart (a function URL has one route, "
                              f"every method)")
    return {"authType": "AWS_IAM"}


def _function(definition: dict[str, Any], base: Path, result: Conversion) -> None:
    name = str(definition.get("name", "function"))
    where = f"function {name}"
    container = definition.get("container") or {}
    image = container.get("image") or definition.get("image")
    if not image:
        raise UserError(f"{where}: container.image: missing (the image the function runs)")
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
    mode = str(definition.get("execution_mode", "lambda")).lower()
    batch = mode == "batch"
    if batch:
        _batch(definition, spec, where, result)
        for key in ("timeout", "time", "ephemeral_storage", "architectures"):
            if definition.get(key):
                result.dropped.append(f"{where}: {key} sizes the Lambda function in SCAR; a ScarBatchJob's jobs "
                                      f"take spec.timeout (default 900 s) and the image's architecture")
    else:
        _lambda_sizes(definition, spec)
        if mode == "lambda-batch":
            result.dropped.append(f"{where}: execution_mode lambda-batch: produced a Lambda-only ScarFunction; events "
                                  f"that do not fit Lambda are not sent to Batch (write a ScarBatchJob for those)")
            if definition.get("batch"):
                result.dropped.append(f"{where}: batch: only used by lambda-batch's Batch side, which is not made")
        elif mode != "lambda":
            raise UserError(f"{where}: execution_mode: {mode!r} is not one of lambda, batch, lambda-batch")
    if definition.get("region"):
        spec["region"] = definition["region"]
    inputs, outputs = _storage(definition, where, result)
    if inputs:
        spec["input"] = inputs
    if outputs:
        spec["output"] = outputs
    if definition.get("api_gateway") is not None:
        if batch:
            result.dropped.append(f"{where}: api_gateway: a ScarBatchJob has no HTTP endpoint")
        else:
            spec["http"] = _http(dict(definition.get("api_gateway") or {}), where, result)
    for key in sorted(set(definition) - _CARRIED):
        result.dropped.append(f"{where}: {key} has no counterpart")
    placeholder = next(_placeholders(spec, "spec"), None)
    if placeholder is not None:
        field_name, value = placeholder
        raise UserError(f"{where}: {field_name}: {value!r} is a placeholder left from an example; put the real "
                        f"value in the definition")
    kind = "ScarBatchJob" if batch else "ScarFunction"
    result.manifests.append({"apiVersion": "scar.dev/v1alpha1", "kind": kind, "metadata": {"name": _k8s_name(name)},
                             "spec": spec})


def _placeholders(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of the spec that still holds an example's `<...>` placeholder, with its field."""
    if isinstance(value, str):
        if _PLACEHOLDER.search(value) and not path.endswith(".script"):
            yield path, value
    elif isinstance(value, dict):
        for key, inner in value.items():
            yield from _placeholders(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _placeholders(inner, f"{path}[{index}]")


def convert(path: Path) -> Conversion:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"{path}: {e}") from None
    functions = (document or {}).get("functions") if isinstance(document, dict) else None
    if not isinstance(functions, dict):
        raise UserError(f"{path}: not a SCAR definition (no 'functions:' map)")
    result = Conversion()
    if "aws" in functions:  # the current format: functions: aws: - lambda: {...}, batch: {...}, api_gateway: {...}
        for entry in functions["aws"] or []:
            definition = dict(entry.get("lambda") or {})
            for key in ("batch", "api_gateway"):  # siblings of `lambda:` in this format
                if key in entry:
                    definition[key] = entry[key]
            for key in sorted(set(entry) - {"lambda", "batch", "api_gateway"}):
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
    """What the API server or the operator would refuse in the converted specs, each naming its field."""
    from scar_operator.batchjob.spec import parse_batch_job_spec
    from scar_operator.models import SpecError, parse_function_spec

    problems = []
    for manifest in conversion.manifests:
        parse = parse_batch_job_spec if manifest["kind"] == "ScarBatchJob" else parse_function_spec
        try:
            parse(manifest["spec"])
        except SpecError as e:
            problems.append(f"{manifest['kind']} {manifest['metadata']['name']}: {e}")
    return problems
