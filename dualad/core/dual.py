"""DualNumber: a vectorized dual array, value ``S`` plus partials ``S + (n,)``.

Storage and shape only. Arithmetic is not written here: Python operators become numpy ufuncs
(``NDArrayOperatorsMixin``) and every ufunc is handled from the rule table in ``ufunc.py``;
numpy functions go through the registry in ``functions.py``. Both reach the class through
the slots of ``hooks.py``, so this module imports no dispatch code.
"""
import math
from copy import deepcopy
from typing import Any, Callable, Iterator, Optional, Tuple

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..errors import (astype_refused, conversion_refused, foreign, foreign_caller,
                      from_python_numbers, not_real, plain_value_refused)
from . import hooks, tags
from .hooks import Pending


def missing_method(obj: Any, name: str, error: Callable[[str], Exception]) -> Exception:
    """The exception for ``obj.name`` missing: ``error`` for a DualNumber method that a
    HyperDual or Taylor number lacks (x.mean(), x.ravel(), ...: the helper that raised it
    redoes the work with nested duals), else the usual AttributeError."""
    kind = type(obj).__name__
    if not name.startswith("_") and hasattr(DualNumber, name):
        return error(f"dualad: {kind} has no .{name}(); the helper uses nested duals for this "
                     "function")
    return AttributeError(f"'{kind}' object has no attribute {name!r}")


def refused_astype(obj: Any, dtype: Any, error: Callable[[str], Exception]) -> Exception:
    """The exception for ``obj.astype(dtype)`` of a HyperDual or Taylor number: a TypeError
    naming a dtype that is not floating, else ``error`` (the helper redoes the work with nested
    duals, whose astype casts)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        return astype_refused(dtype, type(obj).__name__)
    return missing_method(obj, "astype", error)


def _as_float_array(x: Any, what: str) -> np.ndarray:
    err = foreign(x, what)  # a masked array, np.matrix, pandas object: its meaning would go
    if err is not None:
        raise err
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    if kind == "O":  # Python ints beyond int64 (too large for float64: a ValueError)
        numbers = from_python_numbers(arr, what)
        if numbers is not None:
            return numbers
    raise not_real(what, arr)


def make(value: Any, partials: Any, tag: int) -> "DualNumber":
    """Build a dual without validation (internal fast path)."""
    d = object.__new__(DualNumber)
    d.value = value
    d._p = partials
    d._tag = tag
    return d


def _load(value: Any, partials: Any, tag: int, token: bytes) -> "DualNumber":
    """A dual unpickled (``DualNumber.__reduce__``), its tag as this process knows it: its own
    when this process pickled it, else one no helper call here draws (``tags.local``)."""
    return make(value, partials, tags.local(tag, token))


class ShapeMethods:
    """``reshape`` and ``transpose`` as ndarray's methods take them, through numpy's own
    functions (so each dual type's ``__array_function__`` does the work)."""

    __slots__ = ()

    def reshape(self, *shape: Any, **kwargs: Any) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        this: Any = self
        return np.reshape(this, shape, **kwargs)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        this: Any = self
        return np.transpose(this, axes or None)


class NoPlainValue:
    """.item() and .tolist() of a dual raise TypeError (not AttributeError, nor a fallback
    signal of HyperDual or Taylor: nested duals could not do it either)."""

    __slots__ = ()

    def item(self, *args: Any) -> Any:
        raise plain_value_refused("item")

    def tolist(self) -> Any:
        raise plain_value_refused("tolist")


class NoSilentConversion(NoPlainValue):
    """float(), int(), complex(), use as an index and np.asarray of a dual raise TypeError:
    each would drop the derivative (the standard ``math.sin(x)`` goes through ``float``)."""

    __slots__ = ()

    # (each message says what to write instead for the code that asked: errors.py reads it)
    def __float__(self) -> float:
        raise conversion_refused(self, "float")

    def __int__(self) -> int:
        raise conversion_refused(self, "int")

    def __complex__(self) -> complex:
        raise conversion_refused(self, "complex")

    def __index__(self) -> int:
        raise conversion_refused(self, "an index")

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        # numpy's paths that no protocol lets dualad into end here: X.dot(w) (an ndarray
        # method), np.array([a, b]) of duals, a plain array's a[i] = x, np.asarray(x), ...;
        # (numpy.ma's and pandas' own operators, m * x, too: their type is named instead)
        raise foreign_caller() or conversion_refused(self, "a plain numpy array")


def is_square(exponent: Any) -> bool:
    """Whether ``x ** exponent`` is ``np.square(x)`` (a Python 2 or 2.0, as numpy's arrays
    take it)."""
    return type(exponent) in (int, float) and exponent == 2


def square_or_power(x: Any, exponent: Any) -> Any:
    """``x ** exponent``; ``x ** 2`` as ``np.square``, as numpy's own arrays do it (the same
    values and derivatives, and a cheaper rule: its second derivative is a constant)."""
    return np.square(x) if is_square(exponent) else np.power(x, exponent)


class DualNumber(ShapeMethods, NoSilentConversion, NDArrayOperatorsMixin):
    """A dual array: ``value`` (shape S) and ``partials`` (shape S + (n,), n directions).

    >>> x = DualNumber(3.0, 4.0)           # 3 + 4ε
    >>> print(x * DualNumber(5.0, 7.0))
    15.0 + 41.0ε
    >>> import numpy as np
    >>> y = np.sin(DualNumber([0.0, 1.0], [[1.0], [1.0]]))
    >>> y.partials[:, 0].round(6).tolist()
    [1.0, 0.540302]
    """

    # _p: the partials array, or a hooks.Pending node (accel) that computes it when first read;
    # _base: for a numpy view of another dual, (that dual, index) after basic indexing or
    # (that dual, function making the view again) after reshape, ravel, ..., so that a write
    # into the view that must promote its storage promotes the dual it views (_assign)
    __slots__ = ("value", "_p", "_tag", "_base")
    value: Any  # an ndarray, or a DualNumber of an older tag (nested)
    _p: Any
    _tag: int
    _base: Any
    __hash__ = None  # type: ignore[assignment]  # mutable, and == is elementwise

    @property
    def partials(self) -> Any:
        """The partials, shape ``value.shape + (n,)``."""
        p = self._p
        if p.__class__ is not np.ndarray and isinstance(p, Pending):
            p = self._p = p.materialize()
        return p

    @partials.setter
    def partials(self, p: Any) -> None:
        self._p = p

    def __reduce__(self) -> Tuple[Any, ...]:
        # pickle with the partials computed (never a deferred node) and the token of the
        # process of the tag (a nested value or partials records its own)
        return _load, (self.value, self.partials, self._tag, tags.token())

    def __copy__(self) -> "DualNumber":
        # copy.copy copies the arrays, as for numpy's arrays: writes into the copy stay there
        return self.copy()

    def __deepcopy__(self, memo: Any) -> "DualNumber":
        return make(deepcopy(self.value, memo), deepcopy(self.partials, memo), self._tag)

    def __init__(self, value: Any, partials: Any = None) -> None:
        if isinstance(value, DualNumber) or isinstance(partials, DualNumber):
            raise TypeError("dualad: DualNumber(value, partials) takes plain numbers or arrays; "
                            "nested duals are built by the helpers (derivative(f, x, order=2), "
                            "hessian)")
        # own memory, like the partials: x[i] = ... must not write into the caller's array
        value = np.array(_as_float_array(value, "value"))
        shape = value.shape
        if partials is None:
            partials = np.zeros(shape + (1,), dtype=value.dtype)
        else:
            partials = _as_float_array(partials, "partials").astype(value.dtype, copy=False)
            p_shape = partials.shape
            try:
                if p_shape[:len(shape)] == shape and len(p_shape) == len(shape) + 1:
                    pass
                elif partials.ndim <= len(shape):
                    partials = np.broadcast_to(partials, shape)[..., None]
                else:
                    partials = np.broadcast_to(partials, shape + p_shape[-1:])
            except ValueError:
                raise ValueError(f"dualad: partials of shape {p_shape} do not fit a value of "
                                 f"shape {shape}; expected {shape} or {shape} + (n,)") from None
            partials = np.array(partials, copy=True)
        self.value = value
        self.partials = partials
        self._tag = 0

    # --- shape ---------------------------------------------------------------------------
    shape = property(lambda self: np.shape(self.value), doc="Shape of the value.")
    ndim = property(lambda self: len(self.shape), doc="Number of value dimensions.")
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)),
                    doc="Number of value elements.")
    T = property(lambda self: np.transpose(self), doc="Transpose (of the value axes).")
    mT = property(lambda self: np.matrix_transpose(self),
                  doc="Transpose of the last two axes (array API).")
    device = property(lambda self: "cpu", doc="Where the arrays live: 'cpu' (array API).")

    def to_device(self, device: Any, /, *, stream: Any = None) -> "DualNumber":
        """``self``: duals live on the CPU (array API); another device is a ValueError."""
        if device != "cpu":
            raise ValueError(f"dualad: DualNumber lives on the 'cpu' device; got {device!r}")
        return self

    def __array_namespace__(self, *, api_version: Optional[str] = None) -> Any:
        """The array API standard namespace of duals, ``dualad.array_api``.

        >>> xp = DualNumber([1.0, 2.0], [1.0, 0.0]).__array_namespace__()
        >>> xp.__name__, xp.__array_api_version__
        ('dualad.array_api', '2024.12')
        """
        return hooks.array_namespace(api_version)

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the value (of the innermost value for nested duals)."""
        v = self.value
        while isinstance(v, DualNumber):
            v = v.value
        return v.dtype

    @property
    def n_directions(self) -> int:
        """Number of directions ``n`` carried in the partials."""
        return self.partials.shape[-1]

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d DualNumber")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d DualNumber")
        for i in range(self.shape[0]):
            yield self[i]

    __pow__ = square_or_power

    def __getitem__(self, index: Any) -> Any:
        index = _plain_index(index)
        value = self.value[index]
        if not isinstance(value, (np.ndarray, DualNumber)):
            # keep 0-d results arrays, not numpy scalars (a copy, as numpy's scalar is)
            return make(np.asarray(value), self.partials[_partials_index(index)], self._tag)
        view = make(value, self.partials[_partials_index(index)], self._tag)
        if _is_basic(index):  # numpy views it: writes into the view must reach self
            view._base = (self, index)
        return view

    def __setitem__(self, index: Any, item: Any) -> None:
        hooks.setitem(self, _plain_index(index), item)

    def astype(self, dtype: Any, copy: bool = True) -> "DualNumber":
        """Cast value and partials to a floating ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise astype_refused(dtype, "DualNumber")
        return make(self.value.astype(dtype, copy=copy), self.partials.astype(dtype, copy=copy),
                    self._tag)

    def copy(self) -> "DualNumber":
        """A dual of its own arrays (a nested value or partials copied too), of the same tag."""
        return make(self.value.copy(), self.partials.copy(), self._tag)

    def ravel(self) -> Any:
        return np.ravel(self)

    def flatten(self) -> Any:
        return np.ravel(self).copy()

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis)

    def swapaxes(self, a: int, b: int) -> Any:
        return np.swapaxes(self, a, b)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Optional[int] = None) -> Any:
        return np.argmax(self, axis=axis)

    def argmin(self, axis: Optional[int] = None) -> Any:
        return np.argmin(self, axis=axis)

    def cumsum(self, axis: Optional[int] = None) -> Any:
        return np.cumsum(self, axis=axis)

    def cumprod(self, axis: Optional[int] = None) -> Any:
        return np.cumprod(self, axis=axis)

    def var(self, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def clip(self, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
        return np.clip(self, a_min, a_max, out, **kwargs)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.trace(self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.diagonal(self, offset, axis1, axis2)

    def take(self, indices: Any, axis: Optional[int] = None) -> Any:
        return np.take(self, indices, axis=axis)

    def round(self, decimals: int = 0) -> Any:
        return np.round(self, decimals)

    def __bool__(self) -> bool:
        return bool(primal(self))

    # round(x), math.floor(x), ...: the plain int (round(x, n): float) of the value, as for
    # floats and scalar duals; piecewise constant, so no derivative is lost (np.floor: zero)
    def __round__(self, ndigits: Optional[int] = None) -> Any:
        return round(_plain_number(self, "round", "np.round"), ndigits)

    def __floor__(self) -> int:
        return math.floor(_plain_number(self, "math.floor", "np.floor"))

    def __ceil__(self) -> int:
        return math.ceil(_plain_number(self, "math.ceil", "np.ceil"))

    def __trunc__(self) -> int:
        return math.trunc(_plain_number(self, "math.trunc", "np.trunc"))

    # --- numpy protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return hooks.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return hooks.array_function(func, types, args, kwargs)

    # --- printing ------------------------------------------------------------------------
    def __repr__(self) -> str:
        tag = f", tag={self._tag}" if self._tag else ""
        return f"DualNumber(value={self.value!r}, partials={self.partials!r}{tag})"

    def __str__(self) -> str:
        return self.__format__("")

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            v = _format_scalar(self.value, spec)
            p = self.partials
            if p.shape[-1] == 1:
                return f"{v} + {_format_scalar(p[0], spec)}ε"
            return f"{v} + [{' '.join(_format_scalar(q, spec) for q in p)}]ε"
        if spec:
            raise TypeError(f"dualad: format spec {spec!r} applies to 0-d duals only")
        return f"DualNumber(value={self.value}, partials={self.partials})"


def _plain_number(x: DualNumber, name: str, numpy_name: str) -> Any:
    """The value of a 0-d dual as a Python number, for ``name`` (round, math.floor, ...)."""
    if x.ndim != 0:
        raise TypeError(f"dualad: {name}() takes a 0-d DualNumber, got shape {x.shape}; use "
                        f"{numpy_name}(x) for every element (its derivative is zero)")
    return primal(x).item()


def _format_scalar(x: Any, spec: str) -> str:
    if isinstance(x, DualNumber):
        return f"({x.__format__(spec)})"
    return format(x.item(), spec) if hasattr(x, "item") else format(x, spec)


def primal(x: Any) -> Any:
    """The plain value under every layer of duals."""
    while isinstance(x, DualNumber):
        x = x.value
    return x


def _plain_index(index: Any) -> Tuple[Any, ...]:
    # indices index the value axes; a dual used as an index would drop its derivative
    index = index if isinstance(index, tuple) else (index,)
    for i in index:
        if isinstance(i, DualNumber):
            raise conversion_refused(i, "an index")
    return index


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index: Tuple[Any, ...]) -> bool:
    for i in index:
        if not isinstance(i, _BASIC) or isinstance(i, bool):
            return False
    return True


def _partials_index(index: Tuple[Any, ...]) -> Tuple[Any, ...]:
    # the direction axis is last: after an Ellipsis it needs an explicit slice
    if any(i is Ellipsis for i in index):
        return index + (slice(None),)
    return index + (Ellipsis,)

