"""dualad: forward-mode automatic differentiation with vectorized dual numbers.

>>> import numpy as np, dualad as ad
>>> ad.gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
[24.0, 10.0]
"""
from .dual import DualNumber  # first: the protocol modules it loads need the class
from . import math  # noqa: E402
from .api import derivative, gradient, jacobian, jvp, jvp_many

__all__ = ["DualNumber", "derivative", "gradient", "jacobian", "jvp", "jvp_many", "math"]
__version__ = "0.1.0"
