"""End-to-end fixtures: the integration ones (a namespace, a real operator process), shared."""

from tests.integration.conftest import namespace, operator, operator_env, pytest_runtest_makereport

__all__ = ["namespace", "operator", "operator_env", "pytest_runtest_makereport"]
