"""Lambda functions: container images (ScarFunction) and zip packages (a ScarBatchJob's dispatcher).

AWS's rules shape this client: a function is Pending after create and InProgress after an
update, no write may happen meanwhile, and configuration and code are never updated in the same
pass (the second call would fail with ResourceConflictException).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.errors import AwsError, ErrorKind, call, call_create, call_idempotent, call_or_none
from scar_operator.naming import OWNER_TAG, Owner
from scar_operator.reconciler import Made, Observation, Settling


@dataclass(frozen=True)
class FunctionSettings:
    name: str
    image: str
    role_arn: str
    memory: int
    timeout: int
    ephemeral_storage: int
    architecture: str
    environment: dict[str, str]
    description: str = ""
    # A zip package (Python runtime) instead of an image: the dispatcher.
    zip_file: bytes = b""
    runtime: str = ""
    handler: str = ""

    @property
    def is_zip(self) -> bool:
        return bool(self.zip_file)

    @property
    def code_sha256(self) -> str:
        """What Lambda reports as CodeSha256 for a zip: the base64 of its SHA-256."""
        return base64.b64encode(hashlib.sha256(self.zip_file).digest()).decode()

    def configuration(self) -> dict[str, Any]:
        """The arguments UpdateFunctionConfiguration and CreateFunction share."""
        runtime = {"Runtime": self.runtime, "Handler": self.handler} if self.is_zip else {}
        return {**runtime,
            "FunctionName": self.name,
            "Role": self.role_arn,
            "MemorySize": self.memory,
            "Timeout": self.timeout,
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "Environment": {"Variables": dict(self.environment)},
            "Description": self.description[:256],
        }


@dataclass
class LambdaFunction:
    lambda_: Any
    settings: FunctionSettings
    owner: Owner
    # Which revision of the function this pass's read found (RevisionId, LastModified): what
    # depends on the function (its invoke permissions) trusts an earlier confirmation only while
    # the function is the same one. A recreated function differs in both, and on AWS every change
    # of the function's policy gives it a new RevisionId too.
    revision_seen: tuple[str, str] | None = field(default=None, init=False)
    # Made by this pass: it has no resource policy yet, so nothing need read one.
    created_now: bool = field(default=False, init=False)
    # The last observe's read, for the update that follows it.
    _found: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def describe(self) -> str:
        return f"Lambda function {self.settings.name}"

    def _get(self) -> dict[str, Any] | None:
        found: dict[str, Any] | None = call_or_none(
            "GetFunction", lambda: self.lambda_.get_function(FunctionName=self.settings.name)
        )
        return found

    def observe(self) -> Observation:
        found = self._found = self._get()
        if found is None:
            return Observation(exists=False)
        owner = (found.get("Tags") or {}).get(OWNER_TAG)
        if owner != self.owner.key:
            return Observation(exists=True, foreign_owner=owner or "no scar-operator owner tag")
        config = found["Configuration"]
        self.revision_seen = (str(config.get("RevisionId") or ""), str(config.get("LastModified") or ""))
        settling = _settling(config)
        if settling is not None:
            return Observation(exists=True, settling=settling)
        in_sync = not self._configuration_drift(config) and not self._code_drift(found)
        if in_sync and config.get("State") == "Failed":
            raise AwsError(ErrorKind.TERMINAL, str(config.get("StateReasonCode") or "FunctionFailed"),
                           self._failure(config), "GetFunction")
        return Observation(exists=True, in_sync=in_sync)

    def _failure(self, config: dict[str, Any]) -> str:
        """Why Lambda gave up on the function, and for an image it cannot use, which field to fix."""
        code = str(config.get("StateReasonCode") or "")
        message = f"{self.describe} is Failed: {config.get('StateReason') or code or 'no reason given'}"
        if "Image" in code:  # ImageAccessDenied, ImageDeleted, InvalidImage
            message = (f"spec.image: {message}; Lambda pulls only from ECR in the function's account and region, "
                       f"and the repository must let Lambda read it")
        return message

    def _configuration_drift(self, config: dict[str, Any]) -> list[str]:
        s = self.settings
        actual_env = (config.get("Environment") or {}).get("Variables") or {}
        checks = {
            "Role": config.get("Role") == s.role_arn,
            "MemorySize": config.get("MemorySize") == s.memory,
            "Timeout": config.get("Timeout") == s.timeout,
            "EphemeralStorage": (config.get("EphemeralStorage") or {}).get("Size", 512) == s.ephemeral_storage,
            "Environment": actual_env == s.environment,
        }
        if s.is_zip:
            checks["Runtime"] = config.get("Runtime") == s.runtime
            checks["Handler"] = config.get("Handler") == s.handler
        return [name for name, same in checks.items() if not same]

    def _code_drift(self, found: dict[str, Any]) -> list[str]:
        s = self.settings
        code = (
            found["Configuration"].get("CodeSha256") == s.code_sha256
            if s.is_zip
            else (found.get("Code") or {}).get("ImageUri") == s.image
        )
        checks = {
            "Code": code,
            "Architectures": found["Configuration"].get("Architectures", ["x86_64"]) == [s.architecture],
        }
        return [name for name, same in checks.items() if not same]

    def create(self) -> str | None:
        self.created_now = call_idempotent("CreateFunction", self._create_function)
        return self._pending()

    def create_if_absent(self) -> Made | None:
        if not call_create("CreateFunction", self._create_function):
            return None
        self.created_now = True
        return Made(self._pending())

    def _create_function(self) -> Any:
        s = self.settings
        return self.lambda_.create_function(
            **s.configuration(),
            PackageType="Zip" if s.is_zip else "Image",
            Code={"ZipFile": s.zip_file} if s.is_zip else {"ImageUri": s.image},
            Architectures=[s.architecture],
            Tags=self.owner.tags(),
        )

    @staticmethod
    def _pending() -> Settling:
        # Pending for a while: its permission and triggers can be made meanwhile; Ready waits for Active.
        return Settling("waiting for the new function to become Active")

    def update(self) -> str | None:
        # What observe just read, which found it out of line: not read again.
        found, self._found = self._found, None
        found = found or self._get()
        if found is None:
            return self.create()
        config = found["Configuration"]
        if self._configuration_drift(config):
            call(
                "UpdateFunctionConfiguration",
                lambda: self.lambda_.update_function_configuration(**self.settings.configuration()),
            )
            return "configuration update in progress"
        if self._code_drift(found):
            call(
                "UpdateFunctionCode",
                lambda: self.lambda_.update_function_code(
                    FunctionName=self.settings.name,
                    Architectures=[self.settings.architecture],
                    **self._code_argument(),
                ),
            )
            return "code update in progress"
        return None

    def _code_argument(self) -> dict[str, Any]:
        s = self.settings
        return {"ZipFile": s.zip_file} if s.is_zip else {"ImageUri": s.image}

    def delete(self) -> str | None:
        call_idempotent("DeleteFunction", lambda: self.lambda_.delete_function(FunctionName=self.settings.name))
        return None


def _settling(config: dict[str, Any]) -> str | None:
    if config.get("State") == "Pending":
        return "function is Pending"
    if config.get("LastUpdateStatus") == "InProgress":
        return "function update is InProgress"
    return None
