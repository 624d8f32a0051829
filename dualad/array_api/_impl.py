"""The functions of the array API namespace whose numpy counterpart differs from the standard
in name, signature or semantics, or does not dispatch to DualNumber (creation from objects).
Everything else in ``dualad.array_api`` is numpy's own function, which dispatches duals
through ``__array_ufunc__`` / ``__array_function__``.
"""
from collections import namedtuple
from typing import Any, Optional, Sequence

import numpy as np

from ..core import hooks
from ..core.dual import DualNumber, primal
from ..rules.scipy_special import rule_for

VERSIONS = ("2023.12", "2024.12")

UniqueAllResult = namedtuple("UniqueAllResult", "values indices inverse_indices counts")
UniqueCountsResult = namedtuple("UniqueCountsResult", "values counts")
UniqueInverseResult = namedtuple("UniqueInverseResult", "values inverse_indices")


def check_device(device: Any) -> None:
    """Duals and numpy arrays live on the CPU: any other device is a ValueError."""
    if device is not None and device != "cpu":
        raise ValueError(f"dualad: the array API namespace of DualNumber has one device, "
                         f"'cpu'; got device={device!r}")


def _holds_dual(obj: Any) -> bool:
    if isinstance(obj, (list, tuple)):
        return any(_holds_dual(o) for o in obj)
    return isinstance(obj, DualNumber) or type(obj) in hooks.as_array_dual


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None,
            copy: Optional[bool] = None) -> Any:
    """``obj`` as an array: a DualNumber stays one (cast to a floating ``dtype``, copied
    with ``copy=True``); a (nested) list holding duals is stacked into one; anything else
    becomes a plain numpy array (a constant: it has no derivative).

    >>> import dualad as ad
    >>> from dualad import array_api as xp
    >>> x = ad.DualNumber([1.0, 2.0], [1.0, 0.0])
    >>> xp.asarray(x) is x, type(xp.asarray([1.0, 2.0])).__name__
    (True, 'ndarray')
    """
    check_device(device)
    convert = hooks.as_array_dual.get(type(obj))  # dualad's scalar duals: 0-d DualNumbers
    if convert is not None:
        obj = convert(obj)
    if isinstance(obj, DualNumber):
        if dtype is not None and np.dtype(dtype) != obj.dtype:
            if copy is False:
                raise ValueError(f"dualad: asarray(x, dtype={np.dtype(dtype)}, copy=False) "
                                 f"needs a copy (x has dtype {obj.dtype}); drop copy=False")
            return obj.astype(dtype)
        return obj.copy() if copy else obj
    if isinstance(obj, (list, tuple)) and _holds_dual(obj):
        if copy is False:
            raise ValueError("dualad: asarray(list of duals, copy=False) needs a copy; drop "
                             "copy=False")
        return np.stack([asarray(o, dtype=dtype) for o in obj])
    return np.asarray(obj, dtype=dtype, copy=copy)


def full(shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Any:
    """numpy's ``full``; a dual ``fill_value`` gives a dual (each element the fill)."""
    check_device(device)
    if _holds_dual(fill_value):
        fill = asarray(fill_value, dtype=dtype)
        return np.broadcast_to(fill, shape).copy()
    return np.full(shape, fill_value, dtype=dtype)


def clip(x: Any, /, min: Any = None, max: Any = None) -> Any:
    """numpy's ``clip`` (bounds may be duals), always a new array as the standard says."""
    if min is None and max is None:
        return x.copy() if isinstance(x, DualNumber) else np.array(x, copy=True)
    return np.clip(x, min, max)


def reshape(x: Any, /, shape: Sequence[int], *, copy: Optional[bool] = None) -> Any:
    """numpy's ``reshape`` with the standard's ``copy``: True copies, False refuses a copy
    (numpy's ValueError), None views where it can."""
    if not isinstance(x, DualNumber):
        return np.reshape(x, shape, copy=copy)
    if copy is False:  # (numpy's ValueError when the values cannot be viewed so)
        np.reshape(primal(x), shape, copy=False)
    out = np.reshape(x, shape)
    return out.copy() if copy else out


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False,
            stable: bool = True) -> np.ndarray:
    """The indices that sort ``x`` along ``axis`` (of the values: plain integers)."""
    v = np.asarray(primal(x))
    if not descending:
        return np.argsort(v, axis=axis, stable=stable)
    # stable descending: sort the reversed values ascending, read the result backwards
    rev = np.argsort(np.flip(v, axis=axis), axis=axis, stable=stable)
    return v.shape[axis] - 1 - np.flip(rev, axis=axis)


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """``x`` sorted along ``axis``; each element keeps its derivative."""
    if not descending:
        return np.sort(x, axis=axis, stable=stable)
    return np.take_along_axis(x, argsort(x, axis=axis, descending=True, stable=stable),
                              axis=axis)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """The dot product of vectors along ``axis`` (counted from the end, after
    broadcasting)."""
    if axis >= 0:
        raise ValueError(f"dualad: vecdot's axis counts from the end (the standard's "
                         f"[-N, -1]); got axis={axis}")
    return np.vecdot(np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1))


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Any:
    return np.take_along_axis(x, indices, axis=axis)


def diff(x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None,
         append: Any = None) -> Any:
    # (numpy reads prepend=None as a value: pass only the ones given)
    edges = {k: v for k, v in (("prepend", prepend), ("append", append)) if v is not None}
    return np.diff(x, n=n, axis=axis, **edges)


def unique_all(x: Any, /) -> Any:
    """numpy's ``unique_all``; the values of a dual are its elements at ``indices`` (the first
    occurrence of each value), with their derivatives."""
    r = np.unique_all(np.asarray(primal(x)))
    values = np.take(np.reshape(x, (-1,)), r.indices) if isinstance(x, DualNumber) \
        else r.values
    return UniqueAllResult(values, r.indices, r.inverse_indices, r.counts)


def unique_counts(x: Any, /) -> Any:
    r = unique_all(x)
    return UniqueCountsResult(r.values, r.counts)


def unique_inverse(x: Any, /) -> Any:
    r = unique_all(x)
    return UniqueInverseResult(r.values, r.inverse_indices)


def unique_values(x: Any, /) -> Any:
    return unique_all(x).values if isinstance(x, DualNumber) else np.unique_values(x)


def astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    """numpy's ``astype``; ``copy=False`` returns ``x`` itself when the dtype matches, as
    the standard says. Duals cast to floating dtypes only (TypeError otherwise)."""
    check_device(device)
    if not copy and isinstance(x, DualNumber) and np.dtype(dtype) == x.dtype:
        return x
    return np.astype(x, dtype, copy=copy)


def from_dlpack(x: Any, /, *, device: Any = None, copy: Optional[bool] = None) -> Any:
    """numpy's ``from_dlpack``: plain arrays only (DLPack has no room for derivatives)."""
    if isinstance(x, DualNumber):
        raise TypeError("dualad: from_dlpack of a DualNumber would drop its derivative; use "
                        "asarray(x) to keep it, or x.value for the plain values")
    return np.from_dlpack(x, device=device, copy=copy)


def finfo(type: Any, /) -> Any:
    return np.finfo(type.dtype if isinstance(type, DualNumber) else type)


def iinfo(type: Any, /) -> Any:
    return np.iinfo(type.dtype if isinstance(type, DualNumber) else type)


class Special:
    """``xp.special``: the ``scipy.special`` ufuncs dualad has a derivative rule for.

    Not part of the standard: scipy (``SCIPY_ARRAY_API=1``) looks for ``xp.special.<name>``
    before its own array API version of a special function, or its last resort, which
    converts the arguments to numpy arrays (refused for duals). A ufunc without a rule is
    missing here, so scipy goes on to its own version. scipy is imported only when asked.
    """

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_"):
            import scipy.special
            func = getattr(scipy.special, name, None)
            # (with SCIPY_ARRAY_API=1 scipy wraps each ufunc: functools.wraps keeps it)
            ufunc = getattr(func, "__wrapped__", func)
            if isinstance(ufunc, np.ufunc) and rule_for(ufunc) is not None:
                return ufunc
        raise AttributeError(f"dualad.array_api.special has no {name!r} (no derivative rule "
                             "for it: see dualad.register_ufunc)")

    def __repr__(self) -> str:
        return "<dualad.array_api.special: scipy.special ufuncs with derivative rules>"


# --- inspection ------------------------------------------------------------------------------
DTYPE_NAMES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float32", "float64", "complex64", "complex128")


class Info:
    """What ``__array_namespace_info__()`` returns: the namespace's capabilities, devices and
    dtypes. Duals themselves are real floating (float32, float64); the other dtypes are those
    of the plain arrays the namespace makes and accepts."""

    def capabilities(self) -> dict:
        # a dual's partials take one more axis than its value: numpy allows 64 in all
        return {"boolean indexing": True, "data-dependent shapes": True,
                "max dimensions": 63}

    def default_device(self) -> str:
        return "cpu"

    def devices(self) -> list:
        return ["cpu"]

    def default_dtypes(self, *, device: Any = None) -> dict:
        check_device(device)
        return {"real floating": np.dtype(np.float64), "complex floating":
                np.dtype(np.complex128), "integral": np.dtype(np.intp),
                "indexing": np.dtype(np.intp)}

    def dtypes(self, *, device: Any = None, kind: Any = None) -> dict:
        check_device(device)
        return {name: np.dtype(name) for name in DTYPE_NAMES
                if kind is None or np.isdtype(np.dtype(name), kind)}


def __array_namespace_info__() -> Info:
    return Info()
