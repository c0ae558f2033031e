"""End-to-end fixtures: the integration ones (a namespace, a real operator process), shared."""

from tests.integration.conftest import namespace, operator, pytest_runtest_makereport

__all__ = ["namespace", "operator", "pytest_runtest_makereport"]
