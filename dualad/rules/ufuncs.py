"""The categories of numpy ufuncs besides the rule table.

Every ufunc numpy can hand a dual is in exactly one category: a rule in ``RULES``;
``PRIMAL`` (comparisons and predicates: they act on values and return plain arrays);
``CUSTOM`` (several outputs or a core signature: matmul, modf, ...; implementations
registered by the core); or ``UNSUPPORTED`` (integer, bit and string ufuncs).
"""
from typing import Any, Callable

import numpy as np

PRIMAL = frozenset([
    np.equal, np.not_equal, np.greater, np.greater_equal, np.less, np.less_equal,
    np.isnan, np.isinf, np.isfinite, np.signbit,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
])

_INTEGER_ONLY = ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_count", "invert",
                 "left_shift", "right_shift", "gcd", "lcm", "isnat")
UNSUPPORTED = {getattr(np, name): "is defined for integers or datetimes only"
               for name in _INTEGER_ONLY if hasattr(np, name)}
_UMATH = np._core.umath if hasattr(np, "_core") else np.core.umath  # type: ignore[attr-defined]
if hasattr(_UMATH, "_ones_like"):  # a private numeric ufunc numpy lists as overridable
    UNSUPPORTED[_UMATH._ones_like] = "is an internal numpy helper; use np.ones_like"

# ufunc -> implementation, filled by the core modules that implement them
CUSTOM: dict[Any, Callable[..., Any]] = {}


def custom_ufunc(*ufuncs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for u in ufuncs:
            if u is not None:  # absent from this numpy version
                CUSTOM[u] = impl
        return impl
    return register


def is_string_ufunc(ufunc: Any) -> bool:
    # numpy's string ufuncs (str_len, _center, ...) have only new-style string loops: no
    # legacy type signatures at all, unlike every numeric ufunc (also the private _ones_like)
    return not ufunc.types
