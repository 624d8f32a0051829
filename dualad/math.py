"""A mirror of Python's ``math`` for floats and duals alike.

A float in gives exactly what ``math`` gives; a dual in gives a dual out, computed by the
numpy ufunc of the rule table (so the derivative rules are the table's). Functions without a
derivative (``factorial``, ``gcd``, ...) are ``math``'s own: they reject duals with a clear
TypeError rather than drop a derivative.

>>> import dualad as ad
>>> ad.math.sin(0.5) == __import__("math").sin(0.5)
True
>>> print(ad.math.exp(ad.DualNumber(0.0, 1.0)))
1.0 + 1.0ε
"""
import functools as _functools
import math as _math
from typing import Any as _Any

import numpy as _np

from .core.dual import DualNumber as _Dual
from .core.partials import primal as _primal
from .rules.table import RULES as _RULES
from .scalar import math_functions as _scalar_math_functions

__all__ = []
_BASE = {}  # the functions on floats and DualNumbers; scalar duals are added once, at the end


def _has_dual(args):
    return any(isinstance(a, _Dual) for a in args)


def _export(name, for_floats, for_duals, doc):
    def fn(*args):
        return for_duals(*args) if _has_dual(args) else for_floats(*args)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    _BASE[name] = fn
    __all__.append(name)


# --- generated from the rule table -------------------------------------------------------
for _ufunc, _rule in _RULES.items():
    if _rule.math and hasattr(_math, _rule.math):
        _export(_rule.math, getattr(_math, _rule.math), _ufunc,
                f"math.{_rule.math} for floats; numpy.{_ufunc.__name__} for duals.")


# --- the few whose signature or semantics differ from one ufunc --------------------------
def _log(x, base=_math.e):
    return _np.log(x) if base == _math.e and not isinstance(base, _Dual) \
        else _np.log(x) / _np.log(base)


def _remainder(x, y):
    # IEEE remainder: x - n*y with n = x/y rounded to nearest even (rint)
    return x - _np.rint(_primal(x) / _primal(y)) * y


def _hypot(*coords):
    return _functools.reduce(_np.hypot, coords) if coords else 0.0


def _same_length(p, q, message):
    if len(p) != len(q):  # zip would silently drop coordinates
        raise ValueError(f"dualad: {message}")


def _dist(p, q):
    _same_length(p, q, "both points must have the same number of dimensions")
    return _hypot(*(a - b for a, b in zip(p, q)))


def _fsum(seq):
    seq = list(seq)
    total = _functools.reduce(_np.add, seq, 0.0)
    values = [_primal(a) for a in seq]
    if (isinstance(total, _Dual) and not isinstance(total.value, _Dual)
            and all(_np.ndim(v) == 0 for v in values)):
        # the value exactly rounded, as math.fsum gives it; the derivative is the sum's
        total.value = _np.asarray(_math.fsum(values), dtype=total.value.dtype)
    return total


def _prod(seq, *, start=1):
    return _functools.reduce(_np.multiply, seq, start)


def _sumprod(p, q):
    _same_length(p, q, "inputs are not the same length")
    return _fsum(_np.multiply(a, b) for a, b in zip(p, q))


_export("log", _math.log, _log, "math.log(x[, base]) for floats and duals.")
_export("remainder", _math.remainder, _remainder,
        "math.remainder (IEEE, round to nearest) for floats and duals.")
_export("hypot", _math.hypot, _hypot, "math.hypot(*coordinates) for floats and duals.")
_export("modf", _math.modf, _np.modf, "math.modf for floats and duals.")
_export("frexp", _math.frexp, _np.frexp, "math.frexp for floats and duals (exponent plain).")
if hasattr(_math, "fma"):  # Python 3.13
    _export("fma", _math.fma, lambda x, y, z: x * y + z,
            "math.fma(x, y, z) for floats; x * y + z for duals.")
for _name in ("isfinite", "isinf", "isnan"):
    _export(_name, getattr(_math, _name),
            _functools.partial(lambda f, x: f(_primal(x)), getattr(_math, _name)),
            f"math.{_name}, on the value of a dual.")


def isclose(a: _Any, b: _Any, *, rel_tol: float = 1e-09, abs_tol: float = 0.0) -> bool:
    """math.isclose on values (duals compare by value)."""
    return _math.isclose(_primal(a), _primal(b), rel_tol=rel_tol, abs_tol=abs_tol)


def _sequence_function(name, impl):
    def fn(*args, **kwargs):
        seqs = [list(a) for a in args]
        if any(_has_dual(s) for s in seqs):
            return impl(*seqs, **kwargs)
        return getattr(_math, name)(*seqs, **kwargs)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"math.{name} for sequences of floats or duals."
    _BASE[name] = fn
    __all__.append(name)


_sequence_function("fsum", _fsum)
_sequence_function("prod", _prod)
_sequence_function("dist", _dist)
if hasattr(_math, "sumprod"):
    _sequence_function("sumprod", _sumprod)

# --- no derivative: math's own functions and constants -----------------------------------
for _name in ("comb", "factorial", "gcd", "isqrt", "lcm", "perm", "ulp",
              "pi", "e", "tau", "inf", "nan"):
    if hasattr(_math, _name):
        _BASE[_name] = getattr(_math, _name)
        __all__.append(_name)
__all__ += ["isclose"]

# --- scalar duals (dualad.scalar): the table's rules without numpy's per-call overhead ----
_BASE["isclose"] = isclose
globals().update(_BASE, **_scalar_math_functions(_BASE))
