"""The core: DualNumber, tags, the tangent algebra, ufunc and function dispatch.

Importing it loads the dispatch modules, which fill ``DualNumber``'s slots in ``hooks``.
It imports ``dualad.rules``, ``dualad.errors`` and ``dualad.config`` only.
"""
# (they register themselves)
from . import assign, bilinear, complexdual, fft, functions, hooks, linalg, ufunc
from .dual import DualNumber

__all__ = ["DualNumber", "assign", "bilinear", "complexdual", "fft", "functions", "hooks",
           "linalg", "ufunc"]
