"""kubectl scar convert: SCAR definitions become manifests the API server accepts, or an error naming the field.

Every manifest convert prints is sent to the API server (the emulator, or --kubeconfig's) as a
server-side dry run: admitted, never stored.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from scar_operator.kubectl_scar.main import main

from tests.harness.cluster import REPO, Cluster

SEEDS = sorted((REPO.parent / "shared" / "seeds").glob("*.yaml"))
PLURALS = {"ScarFunction": "scarfunctions", "ScarBatchJob": "scarbatchjobs"}


def convert(capsys: pytest.CaptureFixture[str], tmp_path: Path, definition: str,
            files: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]], str]:
    path = tmp_path / "scar.yaml"
    path.write_text(textwrap.dedent(definition))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    return run_convert(capsys, path)


def run_convert(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["convert", "-f", str(path)])
    captured = capsys.readouterr()
    return code, [m for m in yaml.safe_load_all(captured.out) if m], captured.err


def accepted_by_the_api_server(cluster: Cluster, namespace: str, manifests: list[dict[str, Any]]) -> None:
    """A server-side dry run of each: the API server admits it, and stores nothing."""
    for manifest in manifests:
        plural = PLURALS[manifest["kind"]]
        admitted = cluster.custom.create_namespaced_custom_object("scar.dev", "v1alpha1", namespace, plural,
                                                                  manifest, dry_run="All")
        assert admitted["spec"]["image"] == manifest["spec"]["image"]
        with pytest.raises(client.ApiException) as stored:
            cluster.custom.get_namespaced_custom_object("scar.dev", "v1alpha1", namespace, plural,
                                                        manifest["metadata"]["name"])
        assert stored.value.status == 404


@pytest.fixture
def namespace(cluster: Cluster) -> Any:
    name = cluster.create_namespace("convert")
    yield name
    cluster.delete_namespace(name)


@pytest.mark.parametrize("seed", SEEDS, ids=[p.name for p in SEEDS])
def test_every_seed_converts_to_what_the_api_server_accepts_or_fails_naming_the_field(
    capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, seed: Path,
) -> None:
    if seed.suffix != ".yaml":
        pytest.skip("not a definition")
    code, manifests, err = run_convert(capsys, seed)

    # The init scripts are files that are not in seeds/: reported, not silently dropped.
    assert "init_script" in err and "not carried over" in err
    if "batch-ffmpeg" in seed.name:
        # The old seed reads the whole bucket it writes to: a trigger loop, refused naming the output.
        assert code == 1 and manifests == []
        assert "output[0]" in err and "trigger the function again" in err
        return
    assert code == 0, err
    accepted_by_the_api_server(cluster, namespace, manifests)
    kinds = sorted(m["kind"] for m in manifests)
    if "video-process" in seed.name:
        assert kinds == ["ScarBatchJob", "ScarFunction"]
        split = next(m for m in manifests if m["kind"] == "ScarBatchJob")
        assert split["spec"]["input"] == [{"bucket": "scar-video", "prefix": "input/"}]
        assert split["spec"]["output"] == [{"bucket": "scar-video", "prefix": "split-images/"}]
        # SCAR's Batch defaults where the definition is silent.
        assert split["spec"]["resources"] == {"vcpus": 1, "memory": 1024}
        assert split["spec"]["compute"] == {"type": "EC2", "maxVcpus": 2}
    else:
        assert kinds == ["ScarFunction"]
        assert manifests[0]["spec"]["memory"] == 3008


def test_the_batch_block_becomes_resources_and_compute_and_lambda_memory_stays_out(
    capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, tmp_path: Path,
) -> None:
    # SCAR's av-workflow shape: Lambda memory 128 beside a GPU batch block (a sibling of `lambda:`).
    code, manifests, err = convert(capsys, tmp_path, """
        functions:
          aws:
          - lambda:
              name: av-yolov3
              container: {image: grycap/yolov3:opencv-cudnn}
              init_script: yolo.sh
              execution_mode: batch
              memory: 128
              input: [{storage_provider: s3, path: av-workflow/video}]
              output: [{storage_provider: s3, path: av-workflow/result}]
            batch:
              vcpus: 4
              memory: 12288
              enable_gpu: true
              compute_resources:
                type: SPOT
                min_v_cpus: 2
                max_v_cpus: 12
                instance_types: [g3s.xlarge]
                subnets: [subnet-0123456789abcdef0]
                security_group_ids: [sg-0123456789abcdef0]
        """, files={"yolo.sh": "#!/bin/sh\nyolo \"$INPUT_FILE_PATH\"\n"})

    assert code == 0, err
    [job] = manifests
    assert job["kind"] == "ScarBatchJob"
    assert job["spec"]["script"].startswith("#!/bin/sh")
    assert job["spec"]["resources"] == {"vcpus": 4, "memory": 12288, "gpus": 1}
    assert job["spec"]["compute"] == {"type": "SPOT", "maxVcpus": 12, "instanceTypes": ["g3s.xlarge"],
                                      "subnets": ["subnet-0123456789abcdef0"],
                                      "securityGroupIds": ["sg-0123456789abcdef0"]}
    assert "memory 128 sizes the Lambda function" in err
    assert "min_v_cpus 2" in err
    accepted_by_the_api_server(cluster, namespace, manifests)


@pytest.mark.parametrize("definition", [
    pytest.param("""
        functions:
          scar-darknet-api:
            image: grycap/darknet
            memory: 2048
            api_gateway:
              name: darknet
        """, id="old format"),
    pytest.param("""
        functions:
          aws:
          - lambda:
              name: scar-darknet-api
              container: {image: grycap/darknet}
              memory: 2048
            api_gateway:
              name: darknet
        """, id="current format"),
])
def test_api_gateway_becomes_a_signed_function_url_and_says_so(
    capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, tmp_path: Path, definition: str,
) -> None:
    code, manifests, err = convert(capsys, tmp_path, definition)

    assert code == 0, err
    [function] = manifests
    assert function["kind"] == "ScarFunction"
    assert function["spec"]["http"] == {"authType": "AWS_IAM"}
    assert function["spec"]["memory"] == 2048
    assert "api_gateway" in err and "SigV4" in err and "authType: NONE" in err
    accepted_by_the_api_server(cluster, namespace, manifests)


def test_a_public_api_stays_public_when_the_definition_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    code, manifests, err = convert(capsys, tmp_path, """
        functions:
          cow: {image: grycap/cowsay, api_gateway: {name: cow, authorization_type: NONE}}
        """)
    assert code == 0, err
    assert manifests[0]["spec"]["http"] == {"authType": "NONE"}
    assert "public" in err


def test_lambda_batch_is_said_plainly_to_be_lambda_only(
    capsys: pytest.CaptureFixture[str], cluster: Cluster, namespace: str, tmp_path: Path,
) -> None:
    code, manifests, err = convert(capsys, tmp_path, """
        functions:
          scar-mrbayes-lambda-batch:
            image: grycap/mrbayes
            execution_mode: lambda-batch
            time: 30
            environment: {ITERATIONS: "10000"}
            s3: {input_bucket: scar-mrbayes}
        """)

    assert code == 0, err
    [function] = manifests
    assert function["kind"] == "ScarFunction"
    assert function["spec"]["timeout"] == 30
    assert function["spec"]["environment"] == {"ITERATIONS": "10000"}
    assert "lambda-batch: produced a Lambda-only ScarFunction" in err
    accepted_by_the_api_server(cluster, namespace, manifests)


@pytest.mark.parametrize(("definition", "field"), [
    pytest.param("""
        functions:
          aws:
          - lambda:
              name: example
              container: {image: "<DockerHub repo/image>"}
        """, "spec.image", id="an example's image"),
    pytest.param("""
        functions:
          aws:
          - lambda:
              name: example
              container: {image: grycap/cowsay}
              input: [{storage_provider: s3, path: "<my-bucket>/input"}]
        """, "spec.input[0].bucket", id="an example's bucket"),
])
def test_a_placeholder_left_from_an_example_is_an_error_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, definition: str, field: str,
) -> None:
    code, manifests, err = convert(capsys, tmp_path, definition)
    assert code == 1 and manifests == []
    assert f"{field}: " in err and "placeholder" in err


def test_a_value_the_api_server_would_refuse_fails_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    code, manifests, err = convert(capsys, tmp_path, """
        functions:
          big: {image: grycap/cowsay, memory: 20480}
        """)
    assert code == 1 and manifests == []
    assert "spec.memory" in err
