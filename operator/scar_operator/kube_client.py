"""The kubernetes client, for the few writes and reads the operator makes outside kopf's handlers."""

from __future__ import annotations

import functools
import json
import os
from typing import Any, cast


@functools.cache
def _api_client() -> Any:
    """One ApiClient found where kopf finds the cluster: the pod's service account in a cluster,
    else the kubeconfig. Shared: it holds a connection pool."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        return client.ApiClient(configuration)
    except config.ConfigException:
        path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        return config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]


def custom_objects_api() -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(_api_client())


def read_secret(namespace: str, name: str) -> dict[str, Any] | None:
    """The Secret as the API server returns it (data base64-encoded), or None when there is none."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        response = client.CoreV1Api(_api_client()).read_namespaced_secret(name, namespace, _preload_content=False)
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    loaded = json.loads(cast(bytes, response.data))
    return loaded if isinstance(loaded, dict) else None
