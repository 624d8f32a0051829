"""The Python array API standard namespace of DualNumber (standard 2023.12 and 2024.12).

``x.__array_namespace__()`` returns this module, so code written against the standard
(scipy with ``SCIPY_ARRAY_API=1``, array-api-extra, ...) runs on duals. Every function of
the standard is here, with the ``linalg`` extension (not ``fft``: duals are real).

Most are numpy's own functions (numpy 2 follows the standard's names and signatures), which
hand duals to dualad through ``__array_ufunc__`` and ``__array_function__``: the same values
and derivatives as ``np.<name>``. The rest adapt numpy where it differs (``asarray``,
``reshape(copy=)``, ``sort(descending=)``, ``vecdot(axis=)``, ``unique_*``, ...).

Creation functions from shapes or objects (``zeros``, ``ones``, ``full``, ``eye``,
``arange``, ``linspace``, ``asarray`` of plain data) make plain numpy arrays: constants,
with no derivative. The ``*_like`` functions follow ``np.zeros_like``: given a dual, a dual
with zero partials, so that duals written into it keep their derivatives
(``der = xp.zeros_like(x); der[1:-1] = ...`` in ``scipy.optimize.rosen_der``).

>>> import dualad as ad
>>> x = ad.DualNumber([1.0, 2.0], [1.0, 0.0])   # seeded in the first element
>>> xp = x.__array_namespace__()
>>> print(xp.sum(xp.square(x)))
5.0 + 2.0ε
>>> xp.__array_api_version__
'2024.12'
"""
import sys
from types import ModuleType
from typing import Optional

import numpy as np

from ..core import hooks
from . import linalg
from ._impl import (VERSIONS, Special, __array_namespace_info__, argsort, asarray, astype, clip,
                    diff, finfo, from_dlpack, full, iinfo, reshape, sort, take_along_axis,
                    unique_all, unique_counts, unique_inverse, unique_values, vecdot)

__array_api_version__ = VERSIONS[-1]


def namespace(api_version: Optional[str] = None) -> ModuleType:
    """This module, for ``DualNumber.__array_namespace__(api_version=...)``."""
    if api_version is not None and api_version not in VERSIONS:
        raise ValueError(f"dualad: the array API namespace of DualNumber follows the "
                         f"standard {' and '.join(VERSIONS)}; got api_version="
                         f"{api_version!r}")
    return sys.modules[__name__]


hooks.array_namespace = namespace

#: not in the standard: scipy.special's ufuncs with derivative rules, where scipy looks first
special = Special()

# numpy's own functions, by the standard's section (each dispatches DualNumber)
NUMPY = {
    "elementwise": (
        "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh",
        "bitwise_and", "bitwise_left_shift", "bitwise_invert", "bitwise_or",
        "bitwise_right_shift", "bitwise_xor", "ceil", "conj", "copysign", "cos", "cosh",
        "divide", "equal", "exp", "expm1", "floor", "floor_divide", "greater", "greater_equal",
        "hypot", "imag", "isfinite", "isinf", "isnan", "less", "less_equal", "log", "log1p",
        "log2", "log10", "logaddexp", "logical_and", "logical_not", "logical_or",
        "logical_xor", "maximum", "minimum", "multiply", "negative", "nextafter", "not_equal",
        "positive", "pow", "real", "reciprocal", "remainder", "round", "sign", "signbit",
        "sin", "sinh", "square", "sqrt", "subtract", "tan", "tanh", "trunc"),
    "statistical": ("cumulative_sum", "cumulative_prod", "max", "mean", "min", "prod", "std",
                    "sum", "var"),
    "manipulation": ("broadcast_arrays", "broadcast_to", "concat", "expand_dims", "flip",
                     "moveaxis", "permute_dims", "repeat", "roll", "squeeze", "stack", "tile",
                     "unstack"),
    "searching": ("argmax", "argmin", "count_nonzero", "nonzero", "searchsorted", "where"),
    "indexing": ("take",),
    "utility": ("all", "any"),
    "linear algebra": ("matmul", "matrix_transpose", "tensordot"),
    "creation": ("arange", "empty", "empty_like", "eye", "full_like",
                 "linspace", "meshgrid", "ones", "ones_like", "tril", "triu", "zeros",
                 "zeros_like"),
    "data types": ("can_cast", "isdtype", "result_type", "bool", "int8", "int16",
                   "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
                   "float64", "complex64", "complex128"),
    "constants": ("e", "inf", "nan", "pi", "newaxis"),
}
ADAPTED = ("argsort", "asarray", "astype", "clip", "diff", "finfo", "from_dlpack", "full",
           "iinfo", "reshape", "sort",
           "take_along_axis", "unique_all", "unique_counts", "unique_inverse", "unique_values",
           "vecdot", "__array_namespace_info__")

# (last: from here on, bool, abs, all, max, ... in this module are the standard's)
globals().update({name: getattr(np, name) for names in NUMPY.values() for name in names})

__all__ = [name for names in NUMPY.values() for name in names] + list(ADAPTED) + [
    "linalg", "__array_api_version__"]
