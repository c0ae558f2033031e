"""The Argo CD health check (Lua) reads ScarFunction and ScarBatchJob status as kstatus does."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.harness.cluster import REPO
from tests.harness.readers import argocd_health as health


def scar_object(generation: int = 2, observed: int | None = 2, deleting: bool = False,
                **conditions: tuple[str, str, str]) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction",
                           "metadata": {"name": "darknet", "generation": generation}}
    if deleting:
        obj["metadata"]["deletionTimestamp"] = "2026-11-25T10:00:00Z"
    if observed is not None or conditions:
        obj["status"] = {"conditions": [{"type": t, "status": s, "reason": r, "message": m}
                                        for t, (s, r, m) in conditions.items()]}
        if observed is not None:
            obj["status"]["observedGeneration"] = observed
    return obj


@pytest.mark.parametrize(("obj", "status", "message"), [
    (scar_object(Ready=("True", "Available", "function is active"), Stalled=("False", "", "")),
     "Healthy", "function is active"),
    (scar_object(Ready=("False", "Progressing", "function is Pending"), Stalled=("False", "", "")),
     "Progressing", "function is Pending"),
    (scar_object(observed=1, Ready=("True", "Available", "old spec was fine")),
     "Progressing", "Waiting for the operator to act on the latest spec"),
    (scar_object(Ready=("False", "InvalidSpec", "spec.memory: too big"), Stalled=("True", "InvalidSpec",
                                                                                 "spec.memory: too big")),
     "Degraded", "spec.memory: too big"),
    (scar_object(deleting=True, Ready=("True", "Available", "active")), "Progressing",
     "Deleting: the operator is removing the AWS side"),
    (scar_object(observed=None), "Progressing", "Waiting for the operator"),
], ids=["ready", "progressing", "behind-the-spec", "stalled", "deleting", "new"])
def test_health_follows_the_conditions(obj: dict[str, Any], status: str, message: str) -> None:
    assert health(obj) == {"status": status, "message": message}


def test_the_argocd_configmap_patch_carries_the_same_script_for_both_kinds() -> None:
    patch = yaml.safe_load((REPO / "manifests" / "argocd" / "argocd-cm-patch.yaml").read_text())
    for kind in ("ScarFunction", "ScarBatchJob"):
        script = (REPO / "manifests" / "argocd" / "health.lua").read_text()
        assert patch["data"][f"resource.customizations.health.scar.dev_{kind}"].strip() == script.strip()
