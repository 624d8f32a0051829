"""dualad: forward-mode automatic differentiation with vectorized dual numbers.

>>> import numpy as np, dualad as ad
>>> ad.gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
[24.0, 10.0]
>>> ad.hessian(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
[[8.0, 6.0], [6.0, 0.0]]
"""
from . import accel  # noqa: F401  (fills the core's hook slots; numba loads on first large use)
from . import array_api, config, math, optim, train  # array_api: x.__array_namespace__()
from .api import (derivative, gradient, hessian, hvp, jacobian, jvp, jvp_many, value_and_grad,
                  value_grad_hessian)
from .core import DualNumber
from .custom import custom_jvp, register_function, register_ufunc, stop_gradient, unregister
from .higher import HyperDual, Taylor
from .jit import jit
from .sparse.compressed import SparseHessian, SparseJacobian, hessian_sparsity, jacobian_sparsity

__all__ = ["DualNumber", "HyperDual", "Taylor", "derivative", "gradient", "hessian", "hvp",
           "jacobian", "jvp", "jvp_many", "math", "value_and_grad", "value_grad_hessian",
           "custom_jvp", "register_ufunc", "register_function", "unregister", "stop_gradient",
           "optim", "train", "config", "array_api", "jacobian_sparsity", "hessian_sparsity",
           "SparseJacobian", "SparseHessian", "jit"]
__version__ = "0.1.0"
