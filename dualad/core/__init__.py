"""The core: DualNumber, tags, the tangent algebra, ufunc and function dispatch.

Importing it loads the dispatch modules, which fill ``DualNumber``'s slots in ``hooks``.
It imports ``dualad.rules``, ``dualad.errors`` and ``dualad.config`` only.
"""
from . import assign, bilinear, functions, hooks, linalg, ufunc  # (they register themselves)
from .dual import DualNumber

__all__ = ["DualNumber", "assign", "bilinear", "functions", "hooks", "linalg", "ufunc"]
