"""The API emulator's watch starts where the client's list ended, as the API server's does, and
costs nothing to the requests made while it is open."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from scar_operator.local.kube_emulator import EmulatedCluster, cluster_in_own_process

REPO = Path(__file__).resolve().parents[2]


def test_a_watch_from_a_lists_resource_version_does_not_replay_what_the_list_returned(tmp_path: Path) -> None:
    with EmulatedCluster(tmp_path / "kubeconfig") as cluster:
        api = config.new_client_from_config(str(cluster.kubeconfig_path))  # type: ignore[no-untyped-call]
        crd = yaml.safe_load((REPO / "crds" / "scar.dev_scarfunctions.yaml").read_text())
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
        custom: Any = client.CustomObjectsApi(api)
        body: dict[str, Any] = {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "seen"},
                "spec": {"image": "registry.example/detector:1"}}
        custom.create_namespaced_custom_object("scar.dev", "v1alpha1", "default", "scarfunctions", body)
        listed = custom.list_namespaced_custom_object("scar.dev", "v1alpha1", "default", "scarfunctions")
        since = listed["metadata"]["resourceVersion"]
        assert [i["metadata"]["name"] for i in listed["items"]] == ["seen"]

        url = (f"{cluster.url}/apis/scar.dev/v1alpha1/namespaces/default/scarfunctions"
               f"?watch=true&resourceVersion={since}")
        with urllib.request.urlopen(url, timeout=10) as stream:  # noqa: S310 (the emulator on loopback)
            body["metadata"]["name"] = "new"
            custom.create_namespaced_custom_object("scar.dev", "v1alpha1", "default", "scarfunctions", body)
            first = json.loads(stream.readline())
        # The first event is the object made after the list, not a replay of the listed one.
        assert (first["type"], first["object"]["metadata"]["name"]) == ("ADDED", "new")



def test_an_open_watch_is_not_matched_again_by_every_later_request(tmp_path: Path) -> None:
    # kmock matches each request by walking the requests in flight: a watch left there for its
    # whole life would be walked by every request of a bulk apply.
    with EmulatedCluster(tmp_path / "kubeconfig") as cluster:
        assert cluster.emulator is not None
        api = config.new_client_from_config(str(cluster.kubeconfig_path))  # type: ignore[no-untyped-call]
        crd = yaml.safe_load((REPO / "crds" / "scar.dev_scarfunctions.yaml").read_text())
        client.ApiextensionsV1Api(api).create_custom_resource_definition(crd)
        custom: Any = client.CustomObjectsApi(api)
        url = f"{cluster.url}/apis/scar.dev/v1alpha1/namespaces/default/scarfunctions?watch=true"
        with urllib.request.urlopen(url, timeout=10) as stream:  # noqa: S310 (the emulator on loopback)
            body = {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "seen"},
                    "spec": {"image": "registry.example/detector:1"}}
            custom.create_namespaced_custom_object("scar.dev", "v1alpha1", "default", "scarfunctions", body)
            assert json.loads(stream.readline())["object"]["metadata"]["name"] == "seen"
            assert list(cluster.emulator._requests) == []


def test_the_emulator_in_a_process_of_its_own_serves_the_kubeconfig_it_wrote(tmp_path: Path) -> None:
    with cluster_in_own_process(tmp_path / "kubeconfig") as pid:
        assert pid != os.getpid()
        api = config.new_client_from_config(str(tmp_path / "kubeconfig"))  # type: ignore[no-untyped-call]
        core: Any = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "elsewhere"}})
        names = [n.metadata.name for n in core.list_namespace().items]
        assert "elsewhere" in names
