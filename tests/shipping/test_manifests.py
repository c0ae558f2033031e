"""What a platform team applies with `kubectl apply -k manifests/` is valid and right the first time."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.harness.cluster import REPO
from tests.shipping.kustomize import render, render_without_kubectl

MANIFESTS = REPO / "manifests"
EXAMPLES = sorted((MANIFESTS / "examples").rglob("*.yaml"))
KUBERNETES = "1.30.0"  # the oldest minor with every field used here (CEL on CRDs, seccomp in pod spec)


def crds() -> dict[str, dict[str, Any]]:
    found = {}
    for path in (REPO / "crds").glob("scar.dev_*.yaml"):
        crd = yaml.safe_load(path.read_text())
        found[crd["spec"]["names"]["kind"]] = crd
    return found


def validate_custom_object(document: dict[str, Any]) -> None:
    crd = crds()[document["kind"]]
    version = next(v for v in crd["spec"]["versions"] if v["name"] == document["apiVersion"].split("/")[1])
    jsonschema.validate(document, version["schema"]["openAPIV3Schema"])


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render(MANIFESTS)


def by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def test_every_rendered_built_in_object_is_valid_for_kubernetes(rendered: list[dict[str, Any]]) -> None:
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds == sorted(["Namespace", "CustomResourceDefinition", "CustomResourceDefinition",
                            "CustomResourceDefinition", "ServiceAccount",
                            "ClusterRole", "ClusterRoleBinding", "Deployment"])
    for document in rendered:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_renderer_ci_uses_without_kubectl_agrees_with_kubectl() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl here to compare with; CI renders with the fallback")
    def key(d: dict[str, Any]) -> str:
        return f"{d['kind']}/{d['metadata'].get('namespace', '')}/{d['metadata']['name']}"
    kubectl = {key(d): d for d in render(MANIFESTS)}
    fallback = {key(d): d for d in render_without_kubectl(MANIFESTS)}
    assert kubectl == fallback


@pytest.mark.parametrize("example", EXAMPLES, ids=[str(p.relative_to(MANIFESTS)) for p in EXAMPLES])
def test_every_example_is_valid_against_its_crd(example: Path) -> None:
    for document in yaml.safe_load_all(example.read_text()):
        if document and document.get("kind") != "Kustomization":
            validate_custom_object(document)


def test_the_deployment_runs_non_root_read_only_with_probes_and_limits(rendered: list[dict[str, Any]]) -> None:
    [deployment] = by_kind(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert deployment["metadata"]["namespace"] == "scar-system"
    assert pod["serviceAccountName"] == "scar-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["image"] == "ghcr.io/scar-operator/scar-operator:0.1.0"
    assert deployment["spec"]["strategy"] == {"type": "Recreate"} and "--standalone" in container["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["args"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]


def empty_values(node: Any, path: str = "") -> list[str]:
    """Fields set to "" or null (a list may hold "": RBAC's core API group is one)."""
    if isinstance(node, dict):
        found: list[str] = []
        for key, value in node.items():
            found += [f"{path}.{key}"] if value is None or value == "" else empty_values(value, f"{path}.{key}")
        return found
    if isinstance(node, list):
        return [found for index, value in enumerate(node) for found in empty_values(value, f"{path}[{index}]")]
    return []


def test_no_built_in_object_holds_an_empty_value_the_api_server_would_drop(rendered: list[dict[str, Any]]) -> None:
    # kube-apiserver stores `env: [{name: X, value: ""}]` as `{name: X}`: every client-side apply then
    # writes the value again and says `configured`, and a GitOps tool never sees the Deployment in sync.
    for document in rendered:
        if document["kind"] != "CustomResourceDefinition":
            assert empty_values(document) == [], f"{document['kind']} {document['metadata']['name']}"


def test_the_service_account_carries_the_irsa_annotation(rendered: list[dict[str, Any]]) -> None:
    [account] = by_kind(rendered, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")


def test_rbac_grants_only_what_the_operator_touches(rendered: list[dict[str, Any]]) -> None:
    [role] = by_kind(rendered, "ClusterRole")
    grants = {(group, resource): set(rule["verbs"])
              for rule in role["rules"] for group in rule["apiGroups"] for resource in rule["resources"]}
    assert grants == {
        ("scar.dev", "scarfunctions"): {"get", "list", "watch", "patch"},
        ("scar.dev", "scarbatchjobs"): {"get", "list", "watch", "patch"},
        ("scar.dev", "scarfunctions/status"): {"get", "patch"},
        ("scar.dev", "scarbatchjobs/status"): {"get", "patch"},
        # Read, with kopf's bookkeeping annotations and the status the only writes.
        ("scar.dev", "scaraccounts"): {"get", "list", "watch", "patch"},
        ("scar.dev", "scaraccounts/status"): {"get", "patch"},
        ("", "events"): {"create"},
        ("events.k8s.io", "events"): {"create"},
        ("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"},
        ("", "namespaces"): {"list", "watch"},
        # spec.imagePullSecrets, read one by one in the object's namespace; never listed.
        ("", "secrets"): {"get"},
    }
    [binding] = by_kind(rendered, "ClusterRoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "scar-operator", "namespace": "scar-system"}]
