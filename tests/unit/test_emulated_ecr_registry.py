"""The emulated ECR's registry API follows ECR's rules: its token, repositories made by the ECR API
only, and one record of images shared with the ECR API (ListImages, BatchDeleteImage)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from scar_operator.images.pull_secrets import Credentials
from scar_operator.images.registry import Manifest, RegistryError, Repository, sha256_digest
from scar_operator.local.ecr_registry import EcrRegistryFront, ecr_registry_front
from scar_operator.local.registry_process import docker_registry
from scar_operator.local.tls import loopback_certificate

from tests.harness.aws import EmulatedAws

TOKEN = Credentials("AWS", "123456789012-auth-token")


@pytest.fixture(scope="module")
def front(aws: EmulatedAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EcrRegistryFront, Path]]:
    certificate = loopback_certificate(tmp_path_factory.mktemp("tls"))
    with docker_registry() as store, ecr_registry_front(store.host, certificate) as running:
        yield running, certificate.certificate


@pytest.fixture
def trusted(front: tuple[EcrRegistryFront, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(front[1]))
    return front[0].url.removeprefix("https://")


def small_image(repository: Repository) -> Manifest:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    digest = repository.push_document(config.encode())
    content = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest,
                                     "size": len(config)}, "layers": []}).encode()
    return Manifest(content, "application/vnd.oci.image.manifest.v1+json", sha256_digest(content))


def test_the_registry_asks_for_the_token_get_authorization_token_gives(
    aws: EmulatedAws, front: tuple[EcrRegistryFront, Path],
) -> None:
    answer = requests.get(f"{front[0].url}/v2/", verify=str(front[1]), timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
    [data] = aws.client("ecr").get_authorization_token()["authorizationData"]
    assert data["proxyEndpoint"] == front[0].url
    left = data["expiresAt"] - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=11) < left <= datetime.timedelta(hours=12)
    assert requests.get(f"{front[0].url}/v2/", verify=str(front[1]), timeout=10,
                        auth=(TOKEN.username, TOKEN.password)).status_code == 200


def test_a_push_to_a_repository_the_ecr_api_did_not_make_is_refused(trusted: str) -> None:
    with pytest.raises(RegistryError) as refused:
        Repository(trusted, "never-created", TOKEN).push_document(b"{}")
    assert refused.value.status == 404
    assert "NAME_UNKNOWN: The repository with name 'never-created' does not exist in the registry with id " \
           "'123456789012'" in str(refused.value)


def test_a_tagged_manifest_is_an_image_of_the_ecr_api_and_batch_delete_image_untags_it(
    aws: EmulatedAws, trusted: str,
) -> None:
    ecr = aws.client("ecr")
    ecr.create_repository(repositoryName="scar-images/rules")
    try:
        repository = Repository(trusted, "scar-images/rules", TOKEN)
        manifest = small_image(repository)
        repository.put_manifest("object-a", manifest)
        [listed] = ecr.list_images(repositoryName="scar-images/rules")["imageIds"]
        assert listed == {"imageTag": "object-a", "imageDigest": manifest.digest}
        assert repository.manifest_digest("object-a") == manifest.digest
        ecr.batch_delete_image(repositoryName="scar-images/rules", imageIds=[{"imageTag": "object-a"}])
        assert repository.manifest_digest("object-a") is None
    finally:
        ecr.delete_repository(repositoryName="scar-images/rules", force=True)
