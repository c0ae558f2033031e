"""Fixtures shared by every test layer: the cluster (emulated or any kubeconfig) and emulated AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from scar_operator.local.aws_emulator import teach_moto

from tests.harness.aws import EmulatedAws, emulated_aws
from tests.harness.cluster import Cluster, open_cluster

# AWS's rules apply to every moto of the test process from the start, the moto server's and the
# in-process `mock_aws` alike, so that no test passes or fails by the order tests run in.
teach_moto()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kubeconfig",
        default=None,
        help="run against this cluster (kind, k3d, a real one) instead of the in-process API emulator",
    )


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with open_cluster(request.config.getoption("--kubeconfig"), tmp_path_factory.mktemp("cluster")) as c:
        c.install_crds()
        yield c


@pytest.fixture(scope="session")
def aws() -> Iterator[EmulatedAws]:
    with emulated_aws() as a:
        yield a


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
