"""The CRDs' CEL rules (x-kubernetes-validations), evaluated as a real API server evaluates them.

A rule that does not compile makes the API server refuse the whole CRD, so every rule is compiled
here. Each rule refuses exactly what it says, transition rules only on updates; and the operator
refuses the same specs itself, for API servers that do not evaluate CEL.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from scar_operator import crdgen
from scar_operator.batchjob.spec import parse_batch_job_spec
from scar_operator.function import controller as function_controller
from scar_operator.local import structural
from scar_operator.models import SpecError, parse_function_spec
from scar_operator.settings import OperatorSettings

from tests.unit.test_crds import REPO, walk

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/scar:1"
SUBNETS = ["subnet-0123456789abcdef0"]


def schema_of(kind: str) -> dict[str, Any]:
    info = next(i for i in crdgen.KINDS if i.kind == kind)
    crd = yaml.safe_load(crdgen.crd_path(REPO / "crds", info).read_text())
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def stored(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server holds it: with the schema's defaults filled in."""
    body = {"apiVersion": "scar.dev/v1alpha1", "kind": kind, "metadata": {"name": "x"},
            "spec": {"image": IMAGE, **spec}}
    result: dict[str, Any] = structural.apply_defaults(body, schema_of(kind))
    return result


def violations(kind: str, spec: dict[str, Any], old_spec: dict[str, Any] | None = None) -> list[str]:
    old = stored(kind, old_spec) if old_spec is not None else None
    return [v.lstrip(".") for v in structural.rule_violations(stored(kind, spec), old, schema_of(kind), path="")]


@pytest.mark.parametrize("kind", [i.kind for i in crdgen.KINDS])
def test_every_rule_compiles_reads_only_self_and_old_self_and_explains_itself(kind: str) -> None:
    rules = [rule for _, node in walk(schema_of(kind)) for rule in node.get("x-kubernetes-validations", [])]
    assert rules
    for rule in rules:
        assert set(structural.compiled_rule(rule["rule"]).variables()) <= {"self", "oldSelf"}, rule
        assert rule["message"], rule


def test_a_rule_that_does_not_compile_is_an_error() -> None:
    with pytest.raises(ValueError, match="Syntax error"):
        structural.compiled_rule("self.type in [")


# (what is wrong, the spec, the field the API server names, words of the message)
REFUSED_ON_CREATE: list[tuple[str, dict[str, Any], str, str]] = [
    ("instance types on Fargate", {"compute": {"type": "FARGATE", "instanceTypes": ["m5.large"]}},
     "spec.compute", "instanceTypes apply to EC2 and SPOT only"),
    ("instance types on the default compute type", {"compute": {"instanceTypes": ["m5.large"]}},
     "spec.compute", "instanceTypes apply to EC2 and SPOT only"),
    ("a shared queue and managed compute", {"jobQueue": "shared", "compute": {"type": "FARGATE"}},
     "spec", "set either jobQueue"),
]


@pytest.mark.parametrize(("problem", "spec", "field", "words"), REFUSED_ON_CREATE,
                         ids=[p for p, _, _, _ in REFUSED_ON_CREATE])
def test_a_rule_refuses_a_batch_job_on_create_and_the_operator_agrees(
    problem: str, spec: dict[str, Any], field: str, words: str
) -> None:
    found = violations("ScarBatchJob", spec)
    assert [v for v in found if v.startswith(f"{field}: Invalid value") and words in v], found
    # An API server without CEL lets it through; the operator then refuses it, naming the field.
    with pytest.raises(SpecError, match=r"spec\.(compute|jobQueue)"):
        parse_batch_job_spec({"image": IMAGE, **spec})


@pytest.mark.parametrize(("kind", "spec"), [
    ("ScarBatchJob", {}),
    ("ScarBatchJob", {"compute": {"type": "EC2", "subnets": SUBNETS, "instanceTypes": ["g4dn.xlarge"]}}),
    ("ScarBatchJob", {"compute": {"type": "FARGATE_SPOT", "maxVcpus": 64}}),
    ("ScarBatchJob", {"jobQueue": "shared"}),
    ("ScarFunction", {}),
    ("ScarFunction", {"functionName": "detector"}),
])
def test_valid_specs_break_no_rule(kind: str, spec: dict[str, Any]) -> None:
    assert violations(kind, spec) == []


# (what changes, the kind, the stored spec, the new spec, the field the API server names)
REFUSED_ON_UPDATE: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("renaming the function", "ScarFunction", {"functionName": "a"}, {"functionName": "b"}, "spec.functionName"),
    ("naming a function whose name was derived", "ScarFunction", {}, {"functionName": "b"}, "spec"),
    ("dropping the function's name", "ScarFunction", {"functionName": "a"}, {}, "spec"),
]


@pytest.mark.parametrize(("change", "kind", "old", "new", "field"), REFUSED_ON_UPDATE,
                         ids=[c for c, _, _, _, _ in REFUSED_ON_UPDATE])
def test_a_transition_rule_refuses_the_change_on_update_only(
    change: str, kind: str, old: dict[str, Any], new: dict[str, Any], field: str
) -> None:
    found = violations(kind, new, old_spec=old)
    assert [v for v in found if v.startswith(f"{field}: Invalid value") and "immutable" in v], found
    assert violations(kind, new) == []  # the same spec is fine for a new object


def test_other_edits_pass_the_transition_rules() -> None:
    assert violations("ScarFunction", {"functionName": "a", "memory": 2048}, old_spec={"functionName": "a"}) == []
    assert violations("ScarBatchJob", {"compute": {"type": "EC2", "subnets": SUBNETS, "maxVcpus": 64}},
                      old_spec={"compute": {"type": "EC2", "subnets": SUBNETS}}) == []
    # A new compute type moves the object to the pool of its new class (AWS changes no environment).
    assert violations("ScarBatchJob", {"compute": {"type": "FARGATE_SPOT"}},
                      old_spec={"compute": {"type": "FARGATE"}}) == []


def test_without_cel_the_operator_refuses_a_new_function_name_itself() -> None:
    spec = {"image": IMAGE, "functionName": "renamed"}
    parse_function_spec(spec)  # a valid spec on its own
    clients: Any = SimpleNamespace(default_region="us-east-1")
    result = function_controller.reconcile(
        meta={"namespace": "video", "name": "detector"}, spec=spec,
        status={"functionName": "detector", "region": "us-east-1"}, clients=clients, settings=OperatorSettings(),
    )
    assert result.permanent is not None
    assert "spec.functionName: immutable once the function exists" in result.permanent
