"""The bottom layer: the derivative rule table, special functions, ufunc categories."""
from .table import RULES, Rule, arguments_read

__all__ = ["RULES", "Rule", "arguments_read"]
