"""dualad: forward-mode automatic differentiation with vectorized dual numbers.

>>> import numpy as np, dualad as ad
>>> ad.gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
[24.0, 10.0]
>>> ad.hessian(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
[[8.0, 6.0], [6.0, 0.0]]
"""
from .dual import DualNumber  # first: the protocol modules it loads need the class
from . import math  # noqa: E402
from .api import (derivative, gradient, hessian, hvp, jacobian, jvp, jvp_many,  # noqa: E402
                  value_and_grad, value_grad_hessian)
from .hyperdual import HyperDual  # noqa: E402
from .taylor import Taylor  # noqa: E402
from . import optim, train  # noqa: E402
from .custom import (custom_jvp, register_function, register_ufunc,  # noqa: E402
                     stop_gradient, unregister)

__all__ = ["DualNumber", "HyperDual", "Taylor", "derivative", "gradient", "hessian", "hvp",
           "jacobian", "jvp", "jvp_many", "math", "value_and_grad", "value_grad_hessian",
           "custom_jvp", "register_ufunc", "register_function", "unregister", "stop_gradient",
           "optim", "train"]
__version__ = "0.1.0"
