"""The ``linalg`` extension of the array API namespace of DualNumber.

numpy 2's ``numpy.linalg`` follows the standard's names and signatures, and dispatches duals
to dualad's derivative rules (matrix functions: ``dualad/core/linalg.py``); ``vecdot`` takes
the standard's ``axis``. ``matrix_rank`` is an integer: it has no derivative.

>>> import dualad as ad
>>> from dualad.array_api import linalg
>>> a = ad.DualNumber([[2.0, 0.0], [0.0, 3.0]], [[1.0, 0.0], [0.0, 0.0]])
>>> print(linalg.det(a))    # d det / d a00 = a11
6.0 + 3.0ε
"""
import numpy as np

from ._impl import vecdot

NAMES = ("cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul",
         "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "outer", "pinv",
         "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace", "vector_norm")
globals().update({name: getattr(np.linalg, name) for name in NAMES})

__all__ = [*NAMES, "vecdot"]
