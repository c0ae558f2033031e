"""Image references are read as Docker and Kubernetes read them."""

from __future__ import annotations

import pytest
from scar_operator.images.reference import ImageReference, ReferenceError, parse_reference

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(("written", "registry", "repository", "version"), [
    ("grycap/cowsay", "docker.io", "grycap/cowsay", "latest"),
    ("ubuntu", "docker.io", "library/ubuntu", "latest"),
    ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04"),
    ("docker.io/library/alpine:3", "docker.io", "library/alpine", "3"),
    ("index.docker.io/grycap/darknet", "docker.io", "grycap/darknet", "latest"),
    ("ghcr.io/grycap/cowsay:1", "ghcr.io", "grycap/cowsay", "1"),
    (f"ghcr.io/grycap/cowsay:1@{DIGEST}", "ghcr.io", "grycap/cowsay", DIGEST),
    ("localhost:5000/team/tool", "localhost:5000", "team/tool", "latest"),
    ("localhost/tool", "localhost", "tool", "latest"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/scar/darknet:0.1.0",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com", "scar/darknet", "0.1.0"),
])
def test_a_reference_names_its_registry_repository_and_version(
    written: str, registry: str, repository: str, version: str,
) -> None:
    found = parse_reference(written)
    assert (found.registry, found.repository, found.version) == (registry, repository, version)


def test_docker_hub_is_reached_at_its_registry_api_host() -> None:
    assert parse_reference("grycap/cowsay").api_host == "registry-1.docker.io"
    assert parse_reference("ghcr.io/a/b").api_host == "ghcr.io"


def test_a_reference_prints_in_full() -> None:
    assert str(parse_reference("ubuntu")) == "docker.io/library/ubuntu:latest"
    assert str(ImageReference("ghcr.io", "a/b", None, DIGEST)) == f"ghcr.io/a/b@{DIGEST}"


@pytest.mark.parametrize(("written", "said"), [
    ("Grycap/Cowsay", "repository 'Grycap/Cowsay'"),
    ("grycap/cowsay:", "tag ''"),
    ("grycap/cowsay@sha256:abc", "digest 'sha256:abc'"),
    ("", "not empty"),
    (" grycap/cowsay", "no spaces"),
    ("bad_host.io:x/y", "registry 'bad_host.io:x'"),
])
def test_what_is_not_a_reference_is_refused_naming_the_part(written: str, said: str) -> None:
    with pytest.raises(ReferenceError, match=said):
        parse_reference(written)
