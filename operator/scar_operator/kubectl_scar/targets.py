"""What a function's name stands for: its object in the cluster, and from it the buckets and prefixes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from scar_operator import GROUP, VERSION
from scar_operator.kubectl_scar.accounts import AccountRole, account_role
from scar_operator.kubectl_scar.errors import UserError

PLURALS = (("ScarFunction", "scarfunctions"), ("ScarBatchJob", "scarbatchjobs"))


@dataclass(frozen=True)
class Location:
    bucket: str
    prefix: str
    # An input's suffix filter: only keys ending so trigger the function.
    suffix: str = ""

    def key(self, relative: str) -> str:
        base = self.prefix if not self.prefix or self.prefix.endswith("/") else self.prefix + "/"
        return base + relative

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    namespace: str
    spec: dict[str, Any]
    status: dict[str, Any]
    # The role of the namespace's ScarAccount, which the commands assume (None: the user's own identity).
    role: AccountRole | None = None

    @property
    def region(self) -> str | None:
        return self.status.get("region") or self.spec.get("region")

    def inputs(self) -> list[Location]:
        return [Location(i["bucket"], i.get("prefix", ""), i.get("suffix", "")) for i in self.spec.get("input", [])]

    def outputs(self) -> list[Location]:
        return [Location(o["bucket"], o.get("prefix", "")) for o in self.spec.get("output", [])]

    def first_input(self) -> Location:
        inputs = self.inputs()
        if not inputs:
            raise UserError(f"{self.kind} {self.namespace}/{self.name} has no input configured")
        return inputs[0]

    def outputs_or_fail(self) -> list[Location]:
        outputs = self.outputs()
        if not outputs:
            raise UserError(f"{self.kind} {self.namespace}/{self.name} has no output configured")
        return outputs

    @property
    def layout(self) -> str:
        return str(self.spec.get("outputLayout", "requestId"))


def load_kube(context: str | None) -> tuple[Any, str]:
    """The API client and the namespace of the kubeconfig's current (or given) context."""
    from kubernetes import config

    # Read KUBECONFIG now: the client's own default was fixed when it was imported.
    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    try:
        contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except config.ConfigException as e:
        raise UserError(f"no usable kubeconfig: {e}") from None
    chosen = next((c for c in contexts if c["name"] == context), None) if context else active
    if chosen is None:
        raise UserError(f"no context named {context!r} in the kubeconfig")
    api = config.new_client_from_config(config_file=path, context=chosen["name"])  # type: ignore[no-untyped-call]
    return api, str(chosen.get("context", {}).get("namespace") or "default")


def find(api: Any, namespace: str, name: str, use_account: bool = True) -> Target:
    from kubernetes import client

    custom: Any = client.CustomObjectsApi(api)
    for kind, plural in PLURALS:
        try:
            found = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except client.ApiException as e:
            if e.status == 404:
                continue
            raise UserError(f"cannot read {plural} {namespace}/{name}: {e.reason}") from None
        except Exception as e:  # the API server is unreachable
            raise UserError(f"cannot reach the cluster: {e}") from None
        role = account_role(api, namespace) if use_account else None
        return Target(kind, name, namespace, dict(found.get("spec") or {}), dict(found.get("status") or {}), role)
    raise UserError(f"no ScarFunction or ScarBatchJob named {name!r} in namespace {namespace}")
