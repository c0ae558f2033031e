"""The cluster the tests run against: any kubeconfig, or the in-process API emulator."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from scar_operator import GROUP, VERSION
from scar_operator.local.kube_emulator import EmulatedCluster, cluster_in_own_process

REPO = Path(__file__).resolve().parents[2]


class Cluster:
    def __init__(self, kubeconfig: Path, emulated: bool) -> None:
        self.kubeconfig = kubeconfig
        self.emulated = emulated
        # The API emulator's process, when it runs in one of its own.
        self.server_pid: int | None = None
        self.api = config.new_client_from_config(str(kubeconfig))  # type: ignore[no-untyped-call]
        # The generated client declares `object` for custom objects, which are plain dicts here.
        self.custom: Any = client.CustomObjectsApi(self.api)
        self.core: Any = client.CoreV1Api(self.api)
        self.extensions = client.ApiextensionsV1Api(self.api)

    def install_crds(self) -> None:
        for path in sorted((REPO / "crds").glob("scar.dev_*.yaml")):
            crd = yaml.safe_load(path.read_text())
            try:
                self.extensions.create_custom_resource_definition(crd)
            except client.ApiException as e:
                if e.status != 409:
                    raise
                self.extensions.patch_custom_resource_definition(crd["metadata"]["name"], crd)

    def create_namespace(self, prefix: str, labels: dict[str, str] | None = None) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace({"metadata": {"name": name, "labels": {"scar.dev/test": "true", **(labels or {})}}})
        return name

    def label_namespace(self, name: str, labels: dict[str, str | None]) -> None:
        """Set (or, with None, remove) labels of a namespace, as `kubectl label ns` does."""
        self.core.patch_namespace(name, {"metadata": {"labels": labels}},
                                  _content_type="application/merge-patch+json")

    def delete_namespace(self, name: str) -> None:
        if not self.emulated:  # the emulator serves namespaces for kopf's discovery, not their deletion
            with contextlib.suppress(client.ApiException):
                self.core.delete_namespace(name)

    # --- the custom objects, as a user handles them with kubectl ---

    def apply(self, plural: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        """Create, or merge-patch the spec of an existing object (like `kubectl apply`)."""
        try:
            result: dict[str, Any] = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, body
            )
        except client.ApiException as e:
            if e.status != 409:
                raise
            result = self.custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, body["metadata"]["name"], {"spec": body["spec"]}
            )
        return result

    # --- cluster-scoped objects (ScarAccount), as a cluster administrator handles them ---

    def apply_cluster_object(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self.custom.create_cluster_custom_object(GROUP, VERSION, plural, body)
        except client.ApiException as e:
            if e.status != 409:
                raise
            result = self.custom.patch_cluster_custom_object(GROUP, VERSION, plural, body["metadata"]["name"],
                                                             {"spec": body["spec"]})
        return result

    def get_cluster_object(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.custom.get_cluster_custom_object(GROUP, VERSION, plural, name)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return result

    def delete_cluster_object(self, plural: str, name: str) -> None:
        with contextlib.suppress(client.ApiException):
            self.custom.delete_cluster_custom_object(GROUP, VERSION, plural, name)

    def patch_spec(self, plural: str, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name, {"spec": spec}
        )
        return result

    def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except client.ApiException as e:
            if e.status == 404:
                return None
            raise
        return result

    def delete(self, plural: str, namespace: str, name: str) -> None:
        with contextlib.suppress(client.ApiException):
            self.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)

    def condition(self, plural: str, namespace: str, name: str, kind: str) -> dict[str, Any] | None:
        obj = self.get(plural, namespace, name) or {}
        conditions = (obj.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == kind), None)


@contextlib.contextmanager
def open_cluster(kubeconfig: str | None, workdir: Path, own_process: bool = False) -> Iterator[Cluster]:
    """`kubeconfig`'s cluster, else the API emulator: in this process, or in one of its own
    (`own_process`, whose id is then the cluster's `server_pid`)."""
    if kubeconfig:
        yield Cluster(Path(kubeconfig), emulated=False)
        return
    if own_process:
        with cluster_in_own_process(workdir / "kubeconfig") as pid:
            cluster = Cluster(workdir / "kubeconfig", emulated=True)
            cluster.server_pid = pid
            yield cluster
        return
    with EmulatedCluster(workdir / "kubeconfig") as emulated:
        yield Cluster(emulated.kubeconfig_path, emulated=True)
