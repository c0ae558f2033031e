"""The supervisor's configuration: the one contract between the operator and the supervisor.

The operator serialises it into a single environment variable of the Lambda function or the
Batch job definition; the supervisor parses it back. It is versioned so that an image built
with an older supervisor refuses a configuration it does not understand instead of guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CONFIG_ENV = "SCAR_SUPERVISOR_CONFIG"
SCHEMA_VERSION = 1

OutputLayout = Literal["requestId", "flat"]


class ConfigError(ValueError):
    """The configuration in the environment is missing or malformed."""


@dataclass(frozen=True)
class OutputTarget:
    """Where the supervisor uploads: files whose names end in one of `suffixes` (all when empty)."""

    bucket: str
    prefix: str = ""
    suffixes: tuple[str, ...] = ()

    def accepts(self, relative_path: str) -> bool:
        return not self.suffixes or relative_path.endswith(self.suffixes)


@dataclass(frozen=True)
class BatchTarget:
    """For the dispatcher: the queue and job definition that each record is submitted to."""

    job_queue: str
    job_definition: str
    job_name_prefix: str = "scar"


@dataclass(frozen=True)
class SupervisorConfig:
    script: str = ""
    outputs: tuple[OutputTarget, ...] = ()
    layout: OutputLayout = "requestId"
    # The script is stopped when this many seconds of the invocation remain, so uploads still fit.
    timeout_threshold_seconds: float = 10.0
    # Between TERM and KILL when the script is stopped.
    kill_grace_seconds: float = 2.0
    log_level: str = "INFO"
    batch: BatchTarget | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The compact form the operator writes into the environment (every byte counts there)."""
        document: dict[str, Any] = {"v": SCHEMA_VERSION}
        if self.script:
            document["script"] = self.script
        if self.outputs:
            document["outputs"] = [
                {"bucket": o.bucket, "prefix": o.prefix, **({"suffixes": list(o.suffixes)} if o.suffixes else {})}
                for o in self.outputs
            ]
        if self.layout != "requestId":
            document["layout"] = self.layout
        if self.timeout_threshold_seconds != SupervisorConfig.timeout_threshold_seconds:
            document["timeoutThreshold"] = self.timeout_threshold_seconds
        if self.kill_grace_seconds != SupervisorConfig.kill_grace_seconds:
            document["killGrace"] = self.kill_grace_seconds
        if self.log_level != "INFO":
            document["logLevel"] = self.log_level
        if self.batch is not None:
            document["batch"] = {
                "jobQueue": self.batch.job_queue,
                "jobDefinition": self.batch.job_definition,
                "jobNamePrefix": self.batch.job_name_prefix,
            }
        return json.dumps(document, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SupervisorConfig:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{CONFIG_ENV} is not valid JSON: {e}") from None
        if not isinstance(document, dict):
            raise ConfigError(f"{CONFIG_ENV} must be a JSON object")
        version = document.get("v")
        if version != SCHEMA_VERSION:
            raise ConfigError(
                f"{CONFIG_ENV} has schema version {version!r}; this supervisor understands {SCHEMA_VERSION}"
            )
        try:
            outputs = tuple(
                OutputTarget(
                    bucket=str(o["bucket"]),
                    prefix=str(o.get("prefix", "")),
                    suffixes=tuple(str(s) for s in o.get("suffixes", ())),
                )
                for o in document.get("outputs", ())
            )
            batch_doc = document.get("batch")
            batch = (
                BatchTarget(
                    job_queue=str(batch_doc["jobQueue"]),
                    job_definition=str(batch_doc["jobDefinition"]),
                    job_name_prefix=str(batch_doc.get("jobNamePrefix", "scar")),
                )
                if batch_doc
                else None
            )
            layout = document.get("layout", "requestId")
            if layout not in ("requestId", "flat"):
                raise ConfigError(f"{CONFIG_ENV}: layout must be 'requestId' or 'flat', not {layout!r}")
            return cls(
                script=str(document.get("script", "")),
                outputs=outputs,
                layout=layout,
                timeout_threshold_seconds=float(document.get("timeoutThreshold", 10.0)),
                kill_grace_seconds=float(document.get("killGrace", 2.0)),
                log_level=str(document.get("logLevel", "INFO")),
                batch=batch,
            )
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ConfigError):
                raise
            raise ConfigError(f"{CONFIG_ENV} is malformed: {e!r}") from None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SupervisorConfig:
        text = environ.get(CONFIG_ENV)
        if text is None:
            raise ConfigError(f"{CONFIG_ENV} is not set: this image was not configured by scar-operator")
        return cls.from_json(text)
