"""The kubernetes client, for the few writes and reads the operator makes outside kopf's handlers."""

from __future__ import annotations

import os
from typing import Any


def custom_objects_api() -> Any:
    """A CustomObjectsApi found where kopf finds the cluster: the pod's service account in a
    cluster, else the kubeconfig."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        api_client = client.ApiClient(configuration)
    except config.ConfigException:
        path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        api_client = config.new_client_from_config(config_file=path)  # type: ignore[no-untyped-call]
    return client.CustomObjectsApi(api_client)
