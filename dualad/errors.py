"""Error messages shared by every layer, shaped "dualad: ... got ...; use ...".

Nothing here imports the rest of dualad: the rule table, the core and the helpers all raise
through these.

>>> print(not_real("x", "a string"))
dualad: x must be real numbers, got str
"""
import sys
from typing import Any, Optional

import numpy as np

DROP_MSG = (
    "dualad: converting a DualNumber to {what} would drop its derivative. "
    "Use x.value for the plain value, dualad.math.<fn> instead of math.<fn>, "
    "and numpy functions (np.sin, ...) which keep derivatives.")


def plain_value_refused(method: str, hint: str = "") -> TypeError:
    """The TypeError for ``x.item()`` or ``x.tolist()`` of a dual: a plain number or list has
    no room for the derivative (``hint``: how to get the plain value instead)."""
    return TypeError(f"dualad: .{method}() would drop the derivative; use "
                     f"{hint or f'x.value.{method}()'} (or dualad.stop_gradient(x)) for the "
                     "plain value")


def astype_refused(dtype: np.dtype, kind: str) -> TypeError:
    """The TypeError for ``x.astype(dtype)`` of a dual of type ``kind``, dtype not floating."""
    return TypeError(f"dualad: astype({dtype}) would drop the derivative; {kind} supports "
                     f"floating dtypes only (use x.value.astype({dtype}) for the plain values)")


def int_too_large(n: int, what: str) -> ValueError:
    """The ValueError for a Python int ``n`` beyond float64's range (``10**400``), which
    ``float`` and numpy refuse with an OverflowError."""
    digits = int(n.bit_length() * 0.30103) + 1  # (str(n) may be refused: too many digits)
    return ValueError(f"dualad: {what} holds an integer too large for float64 (got an int of "
                      f"about {digits} digits; float64 ends near 1.8e308); use floats, scaled "
                      "into range")


def from_python_numbers(arr: np.ndarray, what: str) -> Optional[np.ndarray]:
    """An object array of real numbers with a Python int beyond int64 (numpy's only dtype for
    ``[10**300, 1]``) as float64, else None (other object arrays stay refused); a ValueError
    for an int too large for float64 (``10**400``: numpy would raise OverflowError)."""
    beyond_int64 = False
    for e in arr.flat:
        if isinstance(e, int):
            if not -2 ** 63 <= e < 2 ** 64:
                beyond_int64 = True
                try:
                    float(e)
                except OverflowError:
                    raise int_too_large(e, what) from None
        elif not isinstance(e, (float, np.integer, np.floating)):
            return None
    return arr.astype(np.float64) if beyond_int64 else None


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


# --- array types whose meaning a plain array would lose --------------------------------------
_MASKED = ("(its mask would be dropped); pass np.ma.filled(a, fill) or a.data with the mask "
           "applied yourself")
_MATRIX = "(its * is a matrix product); use np.asarray(m) and @ for matrix products"
_PANDAS = ("(labels and alignment would be lost); pass plain arrays: s.to_numpy(), "
           "df.to_numpy()")
_verdicts: dict = {}  # type -> None (fine) or the message template (refused)


def _verdict(t: type) -> Optional[str]:
    """None for a type whose objects mean what np.asarray of them means, else the template of
    the refusal ('{what}' to fill in). numpy.ma and np.matrix are ndarray subclasses that
    change what numpy computes; pandas objects compute by label; another ndarray subclass
    with its own __array_ufunc__ or __array_function__ may too. (pandas is never imported.)"""
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__qualname__", t.__name__)
    if issubclass(t, np.ma.MaskedArray):
        kind = "numpy.ma.MaskedArray" if t is np.ma.MaskedArray else \
            f"{module}.{name} (a numpy.ma.MaskedArray)"
        return f"dualad: {kind} is not supported as {{what}} {_MASKED}"
    if issubclass(t, np.matrix):
        kind = "numpy.matrix" if t is np.matrix else f"{module}.{name} (a numpy.matrix)"
        return f"dualad: {kind} is not supported as {{what}} {_MATRIX}"
    if module == "pandas" or module.startswith("pandas."):
        return f"dualad: pandas.{t.__name__} is not supported as {{what}} {_PANDAS}"
    if issubclass(t, np.ndarray) and t is not np.ndarray and (
            t.__array_ufunc__ is not np.ndarray.__array_ufunc__
            or t.__array_function__ is not np.ndarray.__array_function__):
        return (f"dualad: {module}.{name} (an ndarray subclass with its own numpy semantics) "
                "is not supported as {what}; pass np.asarray(a) if plain arrays mean the same")
    return None


def foreign(x: Any, what: str = "an operand") -> Optional[TypeError]:
    """The TypeError refusing ``x`` (a masked array, an np.matrix, a pandas object, ...: see
    ``_verdict``) or None; lists and tuples are searched, as np.asarray would read them.

    >>> print(foreign(np.ma.masked_array([1.0], mask=[1]), "x"))  # doctest: +ELLIPSIS
    dualad: numpy.ma.MaskedArray is not supported as x (its mask would be dropped); pass ...
    >>> foreign([1.0, np.ones(2)]) is None
    True
    """
    t = type(x)
    if t is list or t is tuple:
        for e in x:
            err = foreign(e, what)
            if err is not None:
                return err
        return None
    try:
        msg = _verdicts[t]
    except KeyError:
        msg = _verdicts[t] = _verdict(t)
    return None if msg is None else TypeError(msg.format(what=what))


def foreign_caller() -> Optional[TypeError]:
    """The refusal of a foreign array type whose own code (numpy.ma's or pandas' operators:
    ``masked * x``, ``series + x``) is converting a dual to a plain array, or None. For the
    message only: it reads the modules of the calling frames up to the first that is not
    numpy's, pandas' or dualad's (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        parts = (frame.f_globals.get("__name__") or "").split(".")
        if parts[:2] == ["numpy", "ma"]:
            return TypeError("dualad: numpy.ma.MaskedArray cannot be combined with a dual "
                             f"{_MASKED}")
        if parts[:2] == ["numpy", "matrixlib"]:
            return TypeError(f"dualad: numpy.matrix cannot be combined with a dual {_MATRIX}")
        if parts[0] == "pandas":
            return TypeError("dualad: pandas objects (Series, DataFrame, Index) cannot be "
                             f"combined with a dual {_PANDAS}")
        if parts[0] not in ("numpy", "dualad"):
            return None
        frame = frame.f_back  # type: ignore[assignment]
    return None


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
