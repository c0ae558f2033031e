"""kubectl scar runs against the API emulator (or --kubeconfig) and the moto server, through the proxy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.aws import CREDENTIALS, REGION, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.scar import FUNCTIONS


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = cluster.create_namespace("cli")
    yield name
    cluster.delete_namespace(name)


@pytest.fixture
def user_env(cluster: Cluster, aws: EmulatedAws, namespace: str, monkeypatch: pytest.MonkeyPatch,
             tmp_path: Path) -> None:
    """A user's shell: a kubeconfig whose context namespace is the test's, AWS credentials, a region."""
    import yaml

    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = namespace
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": aws.proxy.url, "AWS_REGION": REGION,
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def bucket(aws: EmulatedAws) -> str:
    name = f"cli-{uuid.uuid4().hex[:10]}"
    aws.client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def function(cluster: Cluster, namespace: str, bucket: str) -> dict[str, Any]:
    """A ScarFunction as the operator leaves it: its spec, and the status fields the CLI reads."""
    body = {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "darknet"},
            "spec": {"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/darknet:1",
                     "input": [{"bucket": bucket, "prefix": "frames/"}],
                     "output": [{"bucket": bucket, "prefix": "results/"}]}}
    cluster.apply(FUNCTIONS, namespace, body)
    status = {"functionName": f"{namespace}-darknet", "logGroup": f"/aws/lambda/{namespace}-darknet",
              "region": REGION}
    cluster.custom.patch_namespaced_custom_object_status("scar.dev", "v1alpha1", namespace, FUNCTIONS, "darknet",
                                                         {"status": status})
    return {**body, "status": status}
