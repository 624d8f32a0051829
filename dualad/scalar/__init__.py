"""Scalar duals for plain-Python float code (``ScalarDual``) and their C operators.

``dualad.derivative`` runs ``f`` on a ``ScalarDual`` when ``x`` is a Python float or int;
see ``number.py``.
"""
from .number import ScalarDual, derivative, dual, math_functions, primal, to_dual

__all__ = ["ScalarDual", "derivative", "dual", "math_functions", "primal", "to_dual"]
