"""The operator process the tests run: the same runner the demo uses."""

from scar_operator.local.operator_process import OperatorProcess

__all__ = ["OperatorProcess"]
