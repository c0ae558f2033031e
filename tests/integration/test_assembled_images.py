"""Any image, as SCAR allows: an object names an image of any registry, and the operator runs an
ECR image assembled from it (its layers unchanged, plus the supervisor) in the object's account.

The registries are real: Debian's docker-registry as the source (TLS, a password), and another
behind the emulated ECR's registry API; skopeo reads what was pushed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scar_operator.images.pull_secrets import Credentials
from scar_operator.images.registry import Manifest, Repository
from scar_operator.local.ecr_registry import EcrRegistryFront, ecr_registry_front
from scar_operator.local.registry_process import RunningRegistry, docker_registry
from scar_operator.local.registry_tokens import TokenService, token_service
from scar_operator.local.tls import LoopbackCertificate, loopback_certificate

from tests.harness.aws import REGION, EmulatedAws
from tests.harness.cluster import Cluster
from tests.harness.images import (
    Blob,
    can_chroot,
    image_blobs,
    push_layout,
    rootfs_layer,
    skopeo,
    supervisor_executables,
    unpack,
    write_layout,
)
from tests.harness.lambda_runtime_api import runtime_api
from tests.harness.operator_process import OperatorProcess
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, batch_job_manifest, function_manifest, wait_ready, wait_stalled
from tests.harness.waiting import wait_for

ACCOUNT = "123456789012"
READER = ("reader", "registry-password")
ECR_LOGIN = f"AWS:{ACCOUNT}-auth-token"
ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
# Runs with /bin/sh's builtins only: the base image has nothing else.
SCRIPT = 'read -r line < "$INPUT_FILE_PATH"; echo "seen: $line" > "$TMP_OUTPUT_DIR/seen.txt"'
BUCKET = "scar-it-images"
CHROOT = shutil.which("chroot") or "chroot"


@dataclass
class Registries:
    source: RunningRegistry
    front: EcrRegistryFront
    certificate: LoopbackCertificate
    supervisors: Path
    workdir: Path

    def push_base(self, repository: str, tag: str, images: dict[str, tuple[Blob, list[Blob]]]) -> str:
        """Push a base image to the source registry as a user would; returns the tag's digest."""
        folder = self.workdir / f"layout-{repository.replace('/', '-')}-{tag}-{len(list(self.workdir.iterdir()))}"
        top = write_layout(folder, tag, images)
        push_layout(folder, tag, f"{self.source.host}/{repository}:{tag}", ":".join(READER))
        return top.digest

    def ecr_reference(self, image_uri: str) -> str:
        """The same image through the registry API of the emulated ECR."""
        return image_uri.replace(ECR_HOST, self.front.url.removeprefix("https://"))


@pytest.fixture(scope="module")
def registries(aws: EmulatedAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registries]:
    folder = tmp_path_factory.mktemp("registries")
    certificate = loopback_certificate(folder / "tls")
    with (docker_registry(tls=certificate, user=READER) as source, docker_registry() as store,
          ecr_registry_front(store.host, certificate) as front):
        yield Registries(source, front, certificate, supervisor_executables(), folder)


@pytest.fixture
def operator_env(registries: Registries) -> dict[str, str]:
    return {"REQUESTS_CA_BUNDLE": str(registries.certificate.certificate),
            "SCAR_SUPERVISOR_DIR": str(registries.supervisors)}


@pytest.fixture
def base(registries: Registries, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(reference, digest) of a private base image with no Python, for amd64 and arm64."""
    repository = f"tools/{request.node.name.split('[')[0][-40:].strip('_').replace('_', '-')}"
    layer = rootfs_layer()
    digest = registries.push_base(repository, "1", {
        "amd64": image_blobs(layer, "amd64"), "arm64": image_blobs(layer, "arm64")})
    return f"{registries.source.host}/{repository}:1", digest


@pytest.fixture(autouse=True)
def registry_secret(cluster: Cluster, namespace: str, registries: Registries) -> None:
    """The Secret every test's objects name: the source registry's reader."""
    pull_secret(cluster, namespace, "registry", registries.source.host, READER)


def pull_secret(cluster: Cluster, namespace: str, name: str, host: str, user: tuple[str, str]) -> None:
    config = {"auths": {host: {"auth": base64.b64encode(":".join(user).encode()).decode()}}}
    cluster.core.create_namespaced_secret(namespace, {
        "metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}})


def private_function(name: str, image: str, **spec: Any) -> dict[str, Any]:
    return function_manifest(name, image=image, imagePullSecrets=[{"name": "registry"}], script=SCRIPT,
                             input=[{"bucket": BUCKET, "prefix": f"{name}/in/"}],
                             output=[{"bucket": BUCKET, "prefix": f"{name}/out/"}], **spec)


def inspect(registries: Registries, image_uri: str, *what: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(skopeo("inspect", *what, "--tls-verify=false", "--creds", ECR_LOGIN,
                                              f"docker://{registries.ecr_reference(image_uri)}"))
    return found


def test_a_function_runs_an_ecr_image_assembled_from_a_private_registrys_image(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess,
) -> None:
    reference, index_digest = base
    cluster.apply(FUNCTIONS, namespace, private_function("detect", reference))
    status = wait_ready(cluster, namespace, "detect")["status"]

    image_uri = status["imageUri"]
    repository = f"scar-images/{registries.source.host.replace(':', '-')}/tools/" + reference.split("/tools/")[1][:-2]
    assert image_uri.startswith(f"{ECR_HOST}/{repository}@sha256:")
    assert status["image"]["base"] == reference
    assert status["image"]["repository"] == repository
    # Under the multi-arch index, the amd64 image (the function's x86_64) was taken.
    source = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", "--creds", ":".join(READER),
                               f"docker://{reference}"))
    [amd64] = [m for m in source["manifests"] if m["platform"]["architecture"] == "amd64"]
    assert status["image"]["baseDigest"] == amd64["digest"] != index_digest
    lam = aws.client("lambda")
    assert lam.get_function(FunctionName=status["functionName"])["Code"]["ImageUri"] == image_uri

    # What was pushed: the base's layer unchanged, the supervisor's on top, a command that runs it.
    pushed = inspect(registries, image_uri, "--raw")
    base_manifest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", "--creds", ":".join(READER),
                                      f"docker://{reference.rsplit(':', 1)[0]}@{amd64['digest']}"))
    assert pushed["layers"][:-1] == base_manifest["layers"]
    assert len(pushed["layers"]) == len(base_manifest["layers"]) + 1
    config = inspect(registries, image_uri, "--config")["config"]
    assert config["Cmd"] == ["/opt/scar/bin/scar-supervisor", "lambda"]
    assert not config.get("Entrypoint")
    assert config["Labels"]["dev.scar.base-digest"] == amd64["digest"]
    ecr = aws.client("ecr")
    [tagged] = ecr.list_images(repositoryName=repository, filter={"tagStatus": "TAGGED"})["imageIds"]
    assert tagged["imageDigest"] == image_uri.rsplit("@", 1)[1]


def test_objects_of_one_base_share_one_image_and_its_repository_goes_with_the_last(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess,
) -> None:
    reference, _ = base
    pushed_before = len(registries.front.blobs_pushed)
    cluster.apply(FUNCTIONS, namespace, private_function("first", reference))
    first = wait_ready(cluster, namespace, "first")["status"]
    pushed_first = registries.front.blobs_pushed[pushed_before:]
    cluster.apply(FUNCTIONS, namespace, private_function("second", reference))
    cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
        "split", image=reference, imagePullSecrets=[{"name": "registry"}], script=SCRIPT,
        input=[{"bucket": BUCKET, "prefix": "split/in/"}], output=[{"bucket": BUCKET, "prefix": "split/out/"}]))
    second = wait_ready(cluster, namespace, "second")["status"]
    split = wait_ready(cluster, namespace, "split", BATCH_JOBS)["status"]

    # One image (same digest) for all three; its blobs were pushed once: the base layer, the
    # supervisor's and the config, by the first object only.
    assert first["imageUri"] == second["imageUri"] == split["imageUri"]
    assert len(pushed_first) == 3
    assert registries.front.blobs_pushed[pushed_before + 3:] == []
    definition = aws.client("batch").describe_job_definitions(
        jobDefinitionName=split["jobDefinitionName"], status="ACTIVE")["jobDefinitions"][0]["containerProperties"]
    assert definition["image"] == split["imageUri"]
    assert definition["command"] == ["/opt/scar/bin/scar-supervisor", "batch"]

    ecr = aws.client("ecr")
    repository = first["image"]["repository"]
    tags = {i["imageTag"] for i in ecr.list_images(repositoryName=repository)["imageIds"]}
    assert tags == {first["image"]["tag"], second["image"]["tag"], split["image"]["tag"]}
    cluster.delete(FUNCTIONS, namespace, "first")
    wait_for(lambda: cluster.get(FUNCTIONS, namespace, "first") is None, timeout=30, what="first deleted")
    left = {i["imageTag"] for i in ecr.list_images(repositoryName=repository)["imageIds"]}
    assert left == {second["image"]["tag"], split["image"]["tag"]}
    for plural, name in ((FUNCTIONS, "second"), (BATCH_JOBS, "split")):
        cluster.delete(plural, namespace, name)
        wait_for(lambda p=plural, n=name: cluster.get(p, namespace, n) is None,  # type: ignore[misc]
                 timeout=60, what=f"{name} deleted")
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert repository not in names


def test_a_tag_moved_to_a_new_base_rolls_the_function_at_the_slow_drift_recheck(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess,
) -> None:
    reference, _ = base
    cluster.apply(FUNCTIONS, namespace, private_function("rolling", reference))
    before = wait_ready(cluster, namespace, "rolling")["status"]
    repository = reference.split("/", 1)[1].rsplit(":", 1)[0]
    registries.push_base(repository, "1", {"amd64": image_blobs(rootfs_layer({"/etc/version": b"2\n"}))})
    lam = aws.client("lambda")

    def rolled() -> str | None:
        uri = str(lam.get_function(FunctionName=before["functionName"])["Code"]["ImageUri"])
        return uri if uri != before["imageUri"] else None

    # The operator runs with a 2 s resync, so its slow-drift re-check comes every 8 s.
    new_uri = wait_for(rolled, timeout=60, what="the function to run the image of the moved tag")
    # The pass that rolled it reports it as it ends.
    wait_for(lambda: (cluster.get(FUNCTIONS, namespace, "rolling") or {}).get("status", {}).get("imageUri") == new_uri,
             timeout=30, what="the status to show the new image")
    after = wait_ready(cluster, namespace, "rolling")["status"]
    assert after["image"]["baseDigest"] != before["image"]["baseDigest"]
    assert after["image"]["tag"] == before["image"]["tag"]


BAD_IMAGES = [
    pytest.param({"imagePullSecrets": [{"name": "absent"}]}, "spec.imagePullSecrets[0]", "no Secret",
                 id="a pull secret that does not exist"),
    pytest.param({"imagePullSecrets": [{"name": "wrong-password"}]}, "spec.image", "401",
                 id="credentials the registry refuses"),
    pytest.param({"imagePullSecrets": []}, "spec.image", "401", id="no credentials for a private registry"),
    pytest.param({"image": "{host}/tools/never-pushed:1"}, "spec.image", "404", id="an image the registry lacks"),
    pytest.param({"architecture": "arm64"}, "spec.image", "arm64", id="no supervisor for the platform"),
]


@pytest.mark.parametrize(("changes", "field", "said"), BAD_IMAGES)
def test_an_image_that_cannot_be_read_is_stalled_naming_the_field_and_makes_nothing(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess, changes: dict[str, Any], field: str, said: str,
) -> None:
    reference, _ = base
    pull_secret(cluster, namespace, "wrong-password", registries.source.host, (READER[0], "not-it"))
    changes = {k: v.format(host=registries.source.host) if isinstance(v, str) else v for k, v in changes.items()}
    mark = aws.proxy.mark()
    cluster.apply(FUNCTIONS, namespace, private_function("bad", reference) | {"spec": {
        **private_function("bad", reference)["spec"], **changes}})
    stalled = wait_stalled(cluster, namespace, "bad")
    assert stalled["reason"] == "InvalidSpec"
    assert stalled["message"].startswith(field) and said in stalled["message"], stalled["message"]
    assert [str(c) for c in aws.proxy.calls_since(mark) if not c.is_read] == []


@pytest.mark.skipif(not can_chroot(), reason="chroot needs root")
def test_the_assembled_image_runs_without_python_as_lambda_and_as_a_batch_job(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess, tmp_path: Path,
) -> None:
    reference, _ = base
    cluster.apply(FUNCTIONS, namespace, private_function("runs", reference))
    status = wait_ready(cluster, namespace, "runs")["status"]
    root = tmp_path / "root"
    config = unpack(registries.ecr_reference(status["imageUri"]), ECR_LOGIN, root)
    assert not list(root.glob("usr/bin/python*")) and not list(root.glob("usr/local/bin/python*"))
    # What every container runtime gives a container, and chroot does not.
    (root / "dev").mkdir(exist_ok=True)
    os.mknod(root / "dev" / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="runs/in/hello.txt", Body=b"hello from s3\n")
    function = aws.client("lambda").get_function_configuration(FunctionName=status["functionName"])
    environment = {
        **function["Environment"]["Variables"], "PATH": "/usr/bin:/bin", "AWS_ENDPOINT_URL": aws.moto_url,
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    record = {"s3": {"bucket": {"name": BUCKET}, "object": {"key": "runs/in/hello.txt"}}, "awsRegion": REGION,
              "eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}

    # As Lambda runs it: the image's command, with the runtime API in the environment.
    with runtime_api() as api:
        process = subprocess.Popen([CHROOT, str(root), *config["config"]["Cmd"]],
                                   env={**environment, "AWS_LAMBDA_RUNTIME_API": api.address,
                                        "AWS_LAMBDA_FUNCTION_NAME": "standin", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
                                        "_HANDLER": "lambda_supervisor.handler.lambda_handler"})
        try:
            answer = api.invoke({"Records": [record]})
        finally:
            # TERM, which the executable's launcher passes on to the Python it started (a KILL
            # would leave that one running, polling a runtime API that is gone).
            process.terminate()
            process.wait(timeout=30)
    assert answer.ok, answer.body
    [record_summary] = answer.body["records"]
    outputs = s3.list_objects_v2(Bucket=BUCKET, Prefix="runs/out/")["Contents"]
    [seen] = [o["Key"] for o in outputs if o["Key"].endswith("seen.txt")]
    assert s3.get_object(Bucket=BUCKET, Key=seen)["Body"].read() == b"seen: hello from s3\n", record_summary

    # As Batch runs it: the job definition's command, with the event the dispatcher passes.
    job = subprocess.run([CHROOT, str(root), "/opt/scar/bin/scar-supervisor", "batch"], capture_output=True,
                         text=True, timeout=120, check=False,
                         env={**environment, "SCAR_EVENT": json.dumps({"Records": [record]}),
                              "AWS_BATCH_JOB_ID": "job-in-chroot"})
    assert job.returncode == 0, job.stderr
    assert s3.get_object(Bucket=BUCKET, Key="runs/out/job-in-chroot/seen.txt")["Body"].read() == \
        b"seen: hello from s3\n"


def test_an_object_moved_to_another_base_releases_its_tag_in_the_old_repository(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, base: tuple[str, str],
    operator: OperatorProcess,
) -> None:
    reference, _ = base
    registries.push_base("tools/another-base", "2", {"amd64": image_blobs(rootfs_layer(), marker="another")})
    cluster.apply(FUNCTIONS, namespace, private_function("mover", reference))
    before = wait_ready(cluster, namespace, "mover")["status"]
    cluster.apply(FUNCTIONS, namespace, private_function("mover", f"{registries.source.host}/tools/another-base:2"))
    after = wait_ready(cluster, namespace, "mover")["status"]
    assert after["image"]["repository"] != before["image"]["repository"]
    assert "formerImage" not in after
    names = [r["repositoryName"] for r in aws.client("ecr").describe_repositories()["repositories"]]
    # It was the old repository's only user: the repository went with its tag.
    assert before["image"]["repository"] not in names and after["image"]["repository"] in names


def test_an_ecr_image_without_the_supervisor_is_assembled_when_the_spec_says_add(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, operator: OperatorProcess,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`supervisor: Add` on an ECR image of the operator's own account: read with the ECR token,
    as any image the account holds (no pull secret)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(registries.certificate.certificate))
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="team/plain")
    try:
        front = Repository(registries.front.url.removeprefix("https://"), "team/plain",
                           Credentials(*ECR_LOGIN.split(":", 1)))
        manifest, blobs = image_blobs(rootfs_layer(), marker="plain")
        for blob in blobs:
            front.push_document(blob.data)
        front.put_manifest("1", Manifest(manifest.data, manifest.media_type, manifest.digest))
        plain = f"{ECR_HOST}/team/plain:1"
        cluster.apply(FUNCTIONS, namespace, function_manifest(
            "plain", image=plain, supervisor="Add", script=SCRIPT, input=[{"bucket": BUCKET, "prefix": "plain/in/"}],
            output=[{"bucket": BUCKET, "prefix": "plain/out/"}]))
        status = wait_ready(cluster, namespace, "plain")["status"]
        assert status["image"]["base"] == plain
        assert status["image"]["baseDigest"] == manifest.digest
        assert status["imageUri"].startswith(f"{ECR_HOST}/scar-images/{ECR_HOST}/team/plain@sha256:")
    finally:
        cluster.delete(FUNCTIONS, namespace, "plain")
        wait_for(lambda: cluster.get(FUNCTIONS, namespace, "plain") is None, timeout=30, what="plain deleted")
        ecr.delete_repository(repositoryName="team/plain", force=True)


@pytest.fixture(scope="module")
def token_registry(registries: Registries) -> Iterator[tuple[RunningRegistry, TokenService]]:
    """A registry that hands out bearer tokens, as Docker Hub and GHCR do: anyone may pull
    `library/public`; `team/private` takes the writer's credentials."""
    with (token_service(registries.certificate, {"writer": "token-password"}, {"library/public"}) as tokens,
          docker_registry(tls=registries.certificate, token_realm=tokens.realm) as registry):
        folder = registries.workdir / "token-layout"
        write_layout(folder, "1", {"amd64": image_blobs(rootfs_layer(), marker="tokens")})
        for repository in ("library/public", "team/private"):
            push_layout(folder, "1", f"{registry.host}/{repository}:1", "writer:token-password")
        yield registry, tokens


def test_a_registry_of_bearer_tokens_serves_a_public_image_with_no_secret_and_a_private_one_with_it(
    cluster: Cluster, aws: EmulatedAws, namespace: str, registries: Registries, operator: OperatorProcess,
    token_registry: tuple[RunningRegistry, TokenService],
) -> None:
    registry, tokens = token_registry
    pull_secret(cluster, namespace, "hub", registry.host, ("writer", "token-password"))
    public = function_manifest("public", image=f"{registry.host}/library/public:1", script=SCRIPT,
                               input=[{"bucket": BUCKET, "prefix": "public/in/"}])
    private = function_manifest("private", image=f"{registry.host}/team/private:1", script=SCRIPT,
                                imagePullSecrets=[{"name": "hub"}], input=[{"bucket": BUCKET, "prefix": "private/in/"}])
    refused = function_manifest("refused", image=f"{registry.host}/team/private:1", script=SCRIPT,
                                input=[{"bucket": BUCKET, "prefix": "refused/in/"}])
    for manifest in (public, private, refused):
        cluster.apply(FUNCTIONS, namespace, manifest)
    assert wait_ready(cluster, namespace, "public")["status"]["image"]["base"] == f"{registry.host}/library/public:1"
    assert wait_ready(cluster, namespace, "private")["status"]["image"]["base"] == f"{registry.host}/team/private:1"
    stalled = wait_stalled(cluster, namespace, "refused")
    assert stalled["message"].startswith("spec.image") and "401" in stalled["message"], stalled["message"]
    # Each read asked the token service: anonymously for the public image, as the writer for the private one.
    assert ("", "repository:library/public:pull") in tokens.issued
    assert ("writer", "repository:team/private:pull") in tokens.issued
