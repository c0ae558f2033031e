"""Managed ECR repositories: one per base image, named within ECR's rules; one tag per object."""

from __future__ import annotations

import re

import pytest
from scar_operator import naming
from scar_operator.aws.ecr_repository import managed_repository_name, object_tag
from scar_operator.images.reference import parse_reference

# ECR's repository name pattern and length.
ECR_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")


@pytest.mark.parametrize(("image", "repository"), [
    ("grycap/cowsay", "scar-images/docker.io/grycap/cowsay"),
    ("ubuntu:22.04", "scar-images/docker.io/library/ubuntu"),
    ("localhost:5000/team/tool:1", "scar-images/localhost-5000/team/tool"),
    ("ghcr.io/grycap/cowsay@sha256:" + "a" * 64, "scar-images/ghcr.io/grycap/cowsay"),
])
def test_a_base_image_has_one_repository_whatever_its_version(image: str, repository: str) -> None:
    assert managed_repository_name(parse_reference(image)) == repository
    assert ECR_NAME.match(repository)


def test_a_long_name_is_cut_to_ecrs_limit_and_stays_unique() -> None:
    first = managed_repository_name(parse_reference("registry.example/" + "/".join(["part"] * 60) + "/a"))
    second = managed_repository_name(parse_reference("registry.example/" + "/".join(["part"] * 60) + "/b"))
    assert len(first) <= 256 and len(second) <= 256 and first != second
    assert ECR_NAME.match(first) and ECR_NAME.match(second)


def test_each_object_has_its_own_tag_per_cluster() -> None:
    tags = {object_tag(naming.Owner(kind, "video", "detect", cluster))
            for kind in ("ScarFunction", "ScarBatchJob") for cluster in ("", "eu")}
    assert len(tags) == 4
    assert all(re.match(r"^scar(function|batchjob)-[0-9a-f]{20}$", t) for t in tags)
