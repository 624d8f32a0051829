"""Error messages shared by every layer, shaped "dualad: ... got ...; use ...".

Nothing here imports the rest of dualad: the rule table, the core and the helpers all raise
through these.

>>> print(not_real("x", "a string"))
dualad: x must be real numbers, got str
"""
import numpy as np

DROP_MSG = (
    "dualad: converting a DualNumber to {what} would drop its derivative. "
    "Use x.value for the plain value, dualad.math.<fn> instead of math.<fn>, "
    "and numpy functions (np.sin, ...) which keep derivatives.")


def describe(x: object) -> str:
    """``x``'s dtype or, for objects without one, its type: for error messages."""
    dtype = getattr(x, "dtype", None)
    return f"dtype {dtype}" if isinstance(dtype, np.dtype) else type(x).__name__


def not_real(what: str, x: object) -> TypeError:
    """The TypeError for a ``what`` that is not real numbers (complex, str, object dtype, a
    Fraction, ...): numpy would drop an imaginary part or build an object array."""
    got = describe(x)
    if isinstance(x, complex) or got.startswith("dtype complex"):
        return TypeError(f"dualad: complex {what} is not supported (got {got}); "
                         "pass real and imaginary parts as separate real arrays")
    return TypeError(f"dualad: {what} must be real numbers, got {got}")


def whole(k: object, name: str, least: int) -> int:
    """``k`` as an int if it is an integer of at least ``least`` (a bool is not: True is not
    1 here), else a ValueError naming it."""
    if type(k) is not int and not (isinstance(k, np.integer) and k.dtype.kind in "iu") \
            or k < least:  # type: ignore[operator]
        what = "non-negative" if least == 0 else "positive"
        raise ValueError(f"dualad: {name} must be a {what} integer, got {k!r}")
    return int(k)  # type: ignore[call-overload]


def checked(x, what: str, shape=None):
    """``x``, what a user's rule returned as ``what``, if it holds real numbers (a number, an
    array, a dual, a Taylor number) broadcastable to ``shape``; else a TypeError or ValueError
    naming ``what``. Unchecked, numpy would drop an imaginary part or build an object array,
    or the chain rule would fail deep inside with numpy's message."""
    if not isinstance(x, (int, float)):
        dtype = getattr(x, "dtype", None)
        if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
            raise TypeError(f"dualad: {what} must be real numbers, got {describe(x)}")
        if shape is not None and x.shape != shape:
            try:
                ok = np.broadcast_shapes(x.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"dualad: {what} has shape {x.shape}, which does not "
                                 f"broadcast to the output's shape {shape}")
    return x


def is_ufunc(u: object) -> bool:
    """numpy ufuncs, and numba's DUFunc (not an np.ufunc subclass, but numpy dispatches it)."""
    return isinstance(u, np.ufunc) or (callable(u) and isinstance(getattr(u, "nin", None), int)
                                       and isinstance(getattr(u, "nout", None), int)
                                       and hasattr(u, "reduce"))
