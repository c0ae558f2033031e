"""How the tools that trust our status read it: kstatus (Flux, kubectl wait) and Argo CD.

kstatus's rules for a custom resource, as cli-utils computes them: an object being deleted is
Terminating; one whose status.observedGeneration lags metadata.generation is InProgress; a
`Reconciling=True` condition is InProgress and `Stalled=True` is Failed; and, as Flux's health
checks add for kinds with a Ready condition, `Ready=False` is InProgress. Otherwise Current.
"""

from __future__ import annotations

from typing import Any

import lupa

from tests.harness.cluster import REPO

_ARGOCD_HEALTH = (REPO / "manifests" / "argocd" / "health.lua").read_text()


def kstatus(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    if meta.get("deletionTimestamp"):
        return "Terminating"
    if "observedGeneration" in status and status["observedGeneration"] != meta.get("generation"):
        return "InProgress"
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if conditions.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if conditions.get("Stalled", {}).get("status") == "True":
        return "Failed"
    if conditions.get("Ready", {}).get("status") == "False":
        return "InProgress"
    return "Current"


def argocd_health(obj: dict[str, Any]) -> dict[str, str]:
    """What Argo CD shows, from the health check the README asks platform teams to install."""
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(_ARGOCD_HEALTH)
    return {"status": str(result["status"]), "message": str(result["message"] or "")}
