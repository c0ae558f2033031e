"""A function's HTTPS endpoint (a Lambda function URL), and the public grant an unauthenticated one needs.

A URL with AuthType NONE answers nobody until the function's resource policy lets anyone invoke
it: since October 2025 Lambda wants two statements for that, `lambda:InvokeFunctionUrl` limited
to URLs of auth type NONE, and `lambda:InvokeFunction` limited to calls that come through a URL.
A URL with AuthType AWS_IAM needs no statement: callers of the account are allowed by their own
IAM policies (other accounts need a statement the platform team adds).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scar_operator.aws.confirmed_facts import ConfirmedFacts
from scar_operator.aws.errors import call, call_idempotent, call_or_none
from scar_operator.aws.lambda_function import LambdaFunction
from scar_operator.reconciler import Observation

# Buffered: the whole response at once (up to 6 MB), what the supervisor's answer is.
INVOKE_MODE = "BUFFERED"
_CORS_DEFAULTS: dict[str, Any] = {"AllowOrigins": [], "AllowMethods": [], "AllowHeaders": [], "ExposeHeaders": [],
                                  "AllowCredentials": False, "MaxAge": 0}


def _cors_as_compared(cors: dict[str, Any] | None) -> dict[str, Any]:
    """Lambda leaves out what is empty: compare with every field present."""
    return {**_CORS_DEFAULTS, **{k: v for k, v in (cors or {}).items() if k in _CORS_DEFAULTS}}


def _fact_version(function: LambdaFunction | None) -> tuple[str, str] | None:
    return function.revision_seen if function is not None else None


@dataclass
class LambdaFunctionUrl:
    lambda_: Any
    function_name: str
    auth_type: str
    cors: dict[str, Any] | None
    # The function this pass made or read: a function made in this pass has no URL yet, and a URL
    # found as wanted is not read again until the slow-drift time or a new revision of the function.
    function: LambdaFunction | None = None
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0
    # The address, once this pass has read or made it (status.url).
    url: str | None = field(default=None, init=False)

    @property
    def describe(self) -> str:
        return f"function URL of {self.function_name}"

    @property
    def _fact(self) -> tuple[str, str]:
        # One fact per function, whatever settings it was confirmed with (they are in its value):
        # a change of auth type or CORS then never meets a confirmation of the old settings.
        return ("function-url", self.function_name)

    @property
    def _wanted(self) -> str:
        return json.dumps([self.auth_type, _cors_as_compared(self.cors)], sort_keys=True)

    def observe(self) -> Observation:
        if self.function is not None and self.function.created_now:
            return Observation(exists=False)
        version = _fact_version(self.function)
        remembered = self.facts.value(self._fact, version=version) if version is not None else None
        if isinstance(remembered, tuple) and remembered[0] == self._wanted:
            self.url = remembered[1]
            return Observation(exists=True, in_sync=True)
        found = call_or_none("GetFunctionUrlConfig",
                             lambda: self.lambda_.get_function_url_config(FunctionName=self.function_name))
        if found is None:
            return Observation(exists=False)
        self.url = str(found["FunctionUrl"])
        in_sync = (found.get("AuthType") == self.auth_type
                   and _cors_as_compared(found.get("Cors")) == _cors_as_compared(self.cors)
                   and str(found.get("InvokeMode") or INVOKE_MODE).upper() == INVOKE_MODE)
        if in_sync and version is not None:
            self.facts.confirm(self._fact, self.slow_drift_seconds, version=version, value=(self._wanted, self.url))
        return Observation(exists=True, in_sync=in_sync)

    def _settings(self) -> dict[str, Any]:
        return {"FunctionName": self.function_name, "AuthType": self.auth_type,
                "Cors": _cors_as_compared(self.cors), "InvokeMode": INVOKE_MODE}

    def create(self) -> str | None:
        made = call("CreateFunctionUrlConfig", lambda: self.lambda_.create_function_url_config(**self._settings()))
        self.url = str(made["FunctionUrl"])
        return None

    def update(self) -> str | None:
        self.facts.forget(self._fact)
        changed = call("UpdateFunctionUrlConfig", lambda: self.lambda_.update_function_url_config(**self._settings()))
        self.url = str(changed["FunctionUrl"])
        return None

    def delete(self) -> str | None:
        self.facts.forget(self._fact)
        call_idempotent("DeleteFunctionUrlConfig",
                        lambda: self.lambda_.delete_function_url_config(FunctionName=self.function_name))
        return None


@dataclass(frozen=True)
class _Grant:
    statement_id: str
    action: str
    condition: dict[str, dict[str, str]]
    extra: dict[str, Any]


# The two statements of a public URL, each limited so that it grants nothing else.
PUBLIC_GRANTS = (
    _Grant("scar-function-url-public", "lambda:InvokeFunctionUrl",
           {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}, {"FunctionUrlAuthType": "NONE"}),
    _Grant("scar-function-url-public-invoke", "lambda:InvokeFunction",
           {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}, {"InvokedViaFunctionUrl": True}),
)


def _held(grant: _Grant, statement: Mapping[str, Any]) -> bool:
    """The statement grants this, to everyone, with this limit and nothing else."""
    return bool(statement.get("Action") == grant.action and statement.get("Principal") in ("*", {"AWS": "*"})
                and statement.get("Condition") == grant.condition)


def opens_to_everyone(statements: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a function's policy statements (by Sid) hold both grants of a public URL, as wanted."""
    return all(g.statement_id in statements and _held(g, statements[g.statement_id]) for g in PUBLIC_GRANTS)


@dataclass
class PublicUrlAccess:
    """The resource-policy statements that open a NONE URL to everyone: both, or neither."""

    lambda_: Any
    function_name: str
    function: LambdaFunction | None = None
    facts: ConfirmedFacts = field(default_factory=lambda: ConfirmedFacts(ttl_seconds=0))
    slow_drift_seconds: float = 0.0

    @property
    def describe(self) -> str:
        return f"public access to the function URL of {self.function_name}"

    @property
    def _as_wanted(self) -> tuple[str, ...]:
        return ("public-url-access-as-wanted", self.function_name)

    def _statements(self) -> dict[str, dict[str, Any]]:
        policy = call_or_none("GetPolicy", lambda: self.lambda_.get_policy(FunctionName=self.function_name))
        statements = json.loads(policy["Policy"]).get("Statement", []) if policy is not None else []
        return {str(s.get("Sid")): s for s in statements}

    def observe(self) -> Observation:
        if self.function is not None and self.function.created_now:
            return Observation(exists=False)
        version = _fact_version(self.function)
        if version is not None and self.facts.fresh(self._as_wanted, version=version):
            return Observation(exists=True, in_sync=True)
        found = self._statements()
        if not any(g.statement_id in found for g in PUBLIC_GRANTS):
            return Observation(exists=False)
        in_sync = opens_to_everyone(found)
        if in_sync and version is not None:
            self.facts.confirm(self._as_wanted, self.slow_drift_seconds, version=version)
        return Observation(exists=True, in_sync=in_sync)

    def create(self) -> str | None:
        for grant in PUBLIC_GRANTS:
            call_idempotent("AddPermission", lambda g=grant: self.lambda_.add_permission(  # type: ignore[misc]
                FunctionName=self.function_name, StatementId=g.statement_id, Action=g.action, Principal="*",
                **g.extra))
        return None

    def update(self) -> str | None:
        self.delete()
        return self.create()

    def delete(self) -> str | None:
        self.facts.forget(self._as_wanted)
        for grant in PUBLIC_GRANTS:
            call_idempotent("RemovePermission", lambda g=grant: self.lambda_.remove_permission(  # type: ignore[misc]
                FunctionName=self.function_name, StatementId=g.statement_id))
        return None
