"""Spec-level helpers: manifests as a user writes them, and what a user waits for."""

from __future__ import annotations

import copy
from typing import Any

from tests.harness.cluster import Cluster
from tests.harness.waiting import wait_for

FUNCTIONS = "scarfunctions"
BATCH_JOBS = "scarbatchjobs"
SPLIT_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ffmpeg-split:1"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1"


def function_manifest(name: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "image": IMAGE,
        "script": 'echo hello > "$TMP_OUTPUT_DIR/out.txt"',
        "input": [{"bucket": "scar-it-video", "prefix": "frames/", "suffix": ".jpg"}],
        "output": [{"bucket": "scar-it-video", "prefix": "results/"}],
    }
    base.update(copy.deepcopy(spec))
    return {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": name}, "spec": base}


def batch_job_manifest(name: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "image": SPLIT_IMAGE,
        "script": 'ffmpeg -i "$INPUT_FILE_PATH" -vf fps=1 "$TMP_OUTPUT_DIR/out%03d.jpg"',
        "input": [{"bucket": "scar-it-video", "prefix": "videos/", "suffix": ".avi"}],
        "output": [{"bucket": "scar-it-video", "prefix": "frames/"}],
    }
    base.update(copy.deepcopy(spec))
    return {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarBatchJob", "metadata": {"name": name}, "spec": base}


def condition_of(obj: dict[str, Any], kind: str, status: str) -> dict[str, Any] | None:
    """The object's `kind` condition when it has `status` for the object's current generation."""
    st = obj.get("status") or {}
    # kstatus: a condition speaks for the current spec only once observedGeneration caught up.
    if st.get("observedGeneration") != (obj.get("metadata") or {}).get("generation"):
        return None
    found = next((c for c in st.get("conditions") or [] if c.get("type") == kind), None)
    return found if found and found.get("status") == status else None


def condition_is(cluster: Cluster, namespace: str, name: str, kind: str, status: str,
                 plural: str = FUNCTIONS) -> dict[str, Any] | None:
    return condition_of(cluster.get(plural, namespace, name) or {}, kind, status)


def wait_ready(cluster: Cluster, namespace: str, name: str, plural: str = FUNCTIONS,
               timeout: float = 60) -> dict[str, Any]:
    wait_for(lambda: condition_is(cluster, namespace, name, "Ready", "True", plural), timeout=timeout,
             what=f"{plural} {namespace}/{name} Ready=True")
    obj = cluster.get(plural, namespace, name)
    assert obj is not None
    return obj


def wait_stalled(cluster: Cluster, namespace: str, name: str, plural: str = FUNCTIONS,
                 timeout: float = 60) -> dict[str, Any]:
    result: dict[str, Any] = wait_for(
        lambda: condition_is(cluster, namespace, name, "Stalled", "True", plural), timeout=timeout,
        what=f"{plural} {namespace}/{name} Stalled=True",
    )
    return result


def wait_gone(cluster: Cluster, namespace: str, name: str, plural: str = FUNCTIONS, timeout: float = 60) -> None:
    wait_for(lambda: cluster.get(plural, namespace, name) is None, timeout=timeout,
             what=f"{plural} {namespace}/{name} to be deleted")


def events_about(cluster: Cluster, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Kubernetes Events posted about one object."""
    listing = cluster.core.list_namespaced_event(namespace).items
    return [(e.type, e.reason, e.message) for e in listing if e.involved_object.name == name]
