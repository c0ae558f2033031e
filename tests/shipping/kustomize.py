"""`kubectl kustomize`, or, where no kubectl is installed (a fresh CI machine), a renderer for the
few kustomization fields this repository uses, which refuses any other field rather than guess."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def render(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=True)
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    return render_without_kubectl(directory)


def render_without_kubectl(directory: Path) -> list[dict[str, Any]]:
    # kustomize reads the first of these names; crds/ uses `Kustomization` so `kubectl apply -f` skips it.
    path = next(directory / n for n in ("kustomization.yaml", "kustomization.yml", "Kustomization")
                if (directory / n).is_file())
    kustomization = yaml.safe_load(path.read_text())
    unknown = set(kustomization) - SUPPORTED
    if unknown:
        raise NotImplementedError(f"{directory}: kustomization fields {sorted(unknown)} need real kustomize")
    documents: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        if path.is_dir():
            documents.extend(render_without_kubectl(path))
        else:
            documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    namespace = kustomization.get("namespace")
    images = {i["name"]: i for i in kustomization.get("images", [])}
    for document in documents:
        if namespace and document["kind"] not in CLUSTER_SCOPED:
            document["metadata"]["namespace"] = namespace
        if namespace and document["kind"] == "ClusterRoleBinding":
            for subject in document.get("subjects", []):
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = namespace
        for container in document.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            image = images.get(container["image"])
            if image:
                container["image"] = f"{image['newName']}:{image['newTag']}"
    return documents
