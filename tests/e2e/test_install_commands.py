"""README's install commands, run as a user types them: `kubectl` against a fresh API emulator.

The emulator admits CRDs only after the API server's own checks (crd_admission.py), so a CRD a
real cluster would refuse fails here, with the API server's message, before any user sees it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from scar_operator.local.kube_emulator import EmulatedCluster

from tests.harness.cluster import REPO

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="needs the kubectl binary (it is on the project's machines)")


def readme_install_commands() -> list[str]:
    """The first shell block under README's 'Install in a cluster' heading, one command a line."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Install in a cluster", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's install section has no ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[Path]:
    with EmulatedCluster(tmp_path / "kubeconfig") as cluster:
        yield cluster.kubeconfig_path


def run(command: str, kubeconfig: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return subprocess.run(["bash", "-c", command], cwd=REPO, env=environment, capture_output=True, text=True,
                          timeout=120, check=False)


def test_every_install_command_of_the_readme_works_as_written(kubeconfig: Path) -> None:
    commands = readme_install_commands()
    assert any("kubectl apply -k manifests/" in c for c in commands)
    outputs = {}
    for command in commands:
        result = run(command, kubeconfig)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        outputs[command] = result.stdout
    listing = next(out for command, out in outputs.items() if command.startswith("kubectl get"))
    # The API server renders the CRDs' printer columns for `kubectl get`.
    assert re.search(r"NAME\s+READY\s+REASON\s+FUNCTION\s+AGE", listing), listing
    assert "scar-lambda-darknet" in listing and "scar-batch-ffmpeg-split" in listing
    # Applying the operator again changes nothing and fails nothing (what a GitOps tool does on every sync).
    for command in (c for c in commands if c.startswith("kubectl apply") and "-k manifests/ " in f"{c} "):
        result = run(command, kubeconfig)
        assert result.returncode == 0, f"{command} (again)\n{result.stdout}{result.stderr}"
        assert " created" not in result.stdout, result.stdout


def test_the_pipeline_applied_again_is_unchanged(kubeconfig: Path) -> None:
    # A default the API server fills inside a list item (an input's suffix) would make every
    # client-side apply patch the whole list again, and a GitOps diff see drift forever.
    for command in ("kubectl apply -f crds/", "kubectl create namespace scar-demo",
                    "kubectl apply -k manifests/examples/video-process/"):
        assert run(command, kubeconfig).returncode == 0, command
    again = run("kubectl apply -k manifests/examples/video-process/", kubeconfig)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" unchanged") == 2, again.stdout

def test_the_crds_alone_install_with_client_side_and_server_side_apply(kubeconfig: Path) -> None:
    for command in ("kubectl apply -f crds/", "kubectl apply --server-side -f crds/"):
        result = run(command, kubeconfig)
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        assert "scarfunctions.scar.dev" in result.stdout and "scarbatchjobs.scar.dev" in result.stdout
        assert "Kustomization" not in result.stdout + result.stderr


def test_a_crd_the_api_server_refuses_is_refused_with_its_words(kubeconfig: Path, tmp_path: Path) -> None:
    crd = yaml.safe_load((REPO / "crds" / "scar.dev_scarfunctions.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    condition = schema["properties"]["status"]["properties"]["conditions"]["items"]
    condition["properties"]["lastTransitionTime"]["default"] = ""  # what the generator once wrote
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(crd))
    result = run(f"kubectl apply -f {path}", kubeconfig)
    assert result.returncode == 1
    assert ('The CustomResourceDefinition "scarfunctions.scar.dev" is invalid: '
            "spec.validation.openAPIV3Schema.properties[status].properties[conditions].items.properties"
            '[lastTransitionTime].default: Invalid value: "":  in body must be of type date-time: ""') in result.stderr


def test_a_default_holding_a_null_is_refused_on_create_as_the_api_server_refuses_it(kubeconfig: Path,
                                                                                     tmp_path: Path) -> None:
    # What the generator wrote for ScarAccount's limits until kube-apiserver v1.32 refused it.
    crd = yaml.safe_load((REPO / "crds" / "scar.dev_scaraccounts.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["limits"]["default"] = {"memory": None, "timeout": None}
    crd["metadata"]["name"] = "scaraccounts.scar.dev"
    path = tmp_path / "crd.yaml"
    path.write_text(yaml.safe_dump(crd))
    result = run(f"kubectl create -f {path}", kubeconfig)
    assert result.returncode == 1
    assert ("spec.validation.openAPIV3Schema.properties[spec].properties[limits].default.memory: "
            'Invalid value: "null": memory in body must be of type integer: "null"') in result.stderr


def test_a_manifest_with_a_field_the_crd_does_not_declare_is_refused(kubeconfig: Path, tmp_path: Path) -> None:
    assert run("kubectl apply -f crds/", kubeconfig).returncode == 0
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "scar.dev/v1alpha1", "kind": "ScarFunction", "metadata": {"name": "typo"},
        "spec": {"image": "registry.example/detector:1", "memroy": 1024},
    }))
    result = run(f"kubectl apply -f {path}", kubeconfig)
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.memroy"' in result.stderr
