"""DualNumber: a vectorized dual array, value ``S`` plus partials ``S + (n,)``.

Storage and shape only. Arithmetic is not written here: Python operators become numpy ufuncs
(``NDArrayOperatorsMixin``) and every ufunc is handled from the rule table in ``_ufunc.py``;
numpy functions go through the registry in ``_functions.py``.
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ._lazy import Deferred

_DROP_MSG = (
    "dualad: converting a DualNumber to {what} would drop its derivative. "
    "Use x.value for the plain value, dualad.math.<fn> instead of math.<fn>, "
    "and numpy functions (np.sin, ...) which keep derivatives.")


def not_real(what, x):
    """The TypeError for a ``what`` that is not real numbers (complex, str, object dtype, a
    Fraction, ...): numpy would drop an imaginary part or build an object array."""
    got = describe(x)
    if isinstance(x, complex) or got.startswith("dtype complex"):
        return TypeError(f"dualad: complex {what} is not supported (got {got}); "
                         "pass real and imaginary parts as separate real arrays")
    return TypeError(f"dualad: {what} must be real numbers, got {got}")


def describe(x):
    """``x``'s dtype or, for objects without one, its type: for error messages."""
    dtype = getattr(x, "dtype", None)
    return f"dtype {dtype}" if isinstance(dtype, np.dtype) else type(x).__name__


def missing_method(obj, name, error):
    """The exception for ``obj.name`` missing: ``error`` for a DualNumber method that a
    HyperDual or Taylor number lacks (x.mean(), x.ravel(), ...: the helper that raised it
    redoes the work with nested duals), else the usual AttributeError."""
    kind = type(obj).__name__
    if not name.startswith("_") and hasattr(DualNumber, name):
        return error(f"dualad: {kind} has no .{name}(); the helper uses nested duals for this "
                     "function")
    return AttributeError(f"'{kind}' object has no attribute {name!r}")


def whole(k, name, least):
    """``k`` as an int if it is an integer of at least ``least`` (a bool is not: True is not
    1 here), else a ValueError naming it."""
    if type(k) is not int and not (isinstance(k, np.integer) and k.dtype.kind in "iu") \
            or k < least:
        what = "non-negative" if least == 0 else "positive"
        raise ValueError(f"dualad: {name} must be a {what} integer, got {k!r}")
    return int(k)


def _as_float_array(x, what):
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    raise not_real(what, arr)


def make(value, partials, tag):
    """Build a dual without validation (internal fast path)."""
    d = object.__new__(DualNumber)
    d.value = value
    d._p = partials
    d._tag = tag
    return d


class NoSilentConversion:
    """float(), int(), complex(), use as an index and np.asarray of a dual raise TypeError:
    each would drop the derivative (the standard ``math.sin(x)`` goes through ``float``)."""

    __slots__ = ()

    def __float__(self):
        raise TypeError(_DROP_MSG.format(what="float"))

    def __int__(self):
        raise TypeError(_DROP_MSG.format(what="int"))

    def __complex__(self):
        raise TypeError(_DROP_MSG.format(what="complex"))

    def __index__(self):
        raise TypeError(_DROP_MSG.format(what="an index"))

    def __array__(self, dtype=None, copy=None):
        raise TypeError(_DROP_MSG.format(what="a plain numpy array") + " To build an array "
                        "of duals use np.stack([...]) or np.concatenate, not np.array.")


def square_or_power(x, exponent):
    """``x ** exponent``; ``x ** 2`` as ``np.square``, as numpy's own arrays do it (the same
    values and derivatives, and a cheaper rule: its second derivative is a constant)."""
    if type(exponent) in (int, float) and exponent == 2:
        return np.square(x)
    return np.power(x, exponent)


class DualNumber(NoSilentConversion, NDArrayOperatorsMixin):
    """A dual array: ``value`` (shape S) and ``partials`` (shape S + (n,), n directions).

    >>> x = DualNumber(3.0, 4.0)           # 3 + 4ε
    >>> print(x * DualNumber(5.0, 7.0))
    15.0 + 41.0ε
    >>> import numpy as np
    >>> y = np.sin(DualNumber([0.0, 1.0], [[1.0], [1.0]]))
    >>> y.partials[:, 0].round(6).tolist()
    [1.0, 0.540302]
    """

    # _p: the partials array, or a _lazy.Deferred node that computes it when first read;
    # _base: for a numpy view of another dual, (that dual, index) after basic indexing or
    # (that dual, function making the view again) after reshape, ravel, ..., so that a write
    # into the view that must promote its storage promotes the dual it views (_assign)
    __slots__ = ("value", "_p", "_tag", "_base")
    __hash__ = None  # mutable, and == is elementwise

    @property
    def partials(self):
        """The partials, shape ``value.shape + (n,)``."""
        p = self._p
        if type(p) is Deferred:
            p = self._p = p.materialize()
        return p

    @partials.setter
    def partials(self, p):
        self._p = p

    def __reduce__(self):  # copy and pickle with the partials computed (never a deferred node)
        return make, (self.value, self.partials, self._tag)

    def __init__(self, value, partials=None):
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

    @property
    def dtype(self):
        """Floating dtype of the value (of the innermost value for nested duals)."""
        v = self.value
        while isinstance(v, DualNumber):
            v = v.value
        return v.dtype

    @property
    def n_directions(self):
        """Number of directions ``n`` carried in the partials."""
        return self.partials.shape[-1]

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d DualNumber")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d DualNumber")
        for i in range(self.shape[0]):
            yield self[i]

    __pow__ = square_or_power

    def __getitem__(self, index):
        index = _plain_index(index)
        value = self.value[index]
        if not isinstance(value, (np.ndarray, DualNumber)):
            # keep 0-d results arrays, not numpy scalars (a copy, as numpy's scalar is)
            return make(np.asarray(value), self.partials[_partials_index(index)], self._tag)
        view = make(value, self.partials[_partials_index(index)], self._tag)
        if _is_basic(index):  # numpy views it: writes into the view must reach self
            view._base = (self, index)
        return view

    def __setitem__(self, index, item):
        from ._assign import setitem
        from ._ufunc import real_operand
        from .scalar import to_dual  # a scalar dual item becomes a 0-d DualNumber
        real = real_operand(to_dual(item), "item")
        if real is None:
            raise not_real("item", item)
        setitem(self, _plain_index(index), real)

    def reshape(self, *shape, **kwargs):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return np.reshape(self, shape, **kwargs)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def astype(self, dtype, copy=True):
        """Cast value and partials to a floating ``dtype``."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dualad: astype({dtype}) would drop the derivative; "
                            "DualNumber supports floating dtypes only")
        return make(self.value.astype(dtype, copy=copy), self.partials.astype(dtype, copy=copy),
                    self._tag)

    def copy(self):
        return make(self.value.copy(), self.partials.copy(), self._tag)

    def ravel(self):
        return np.ravel(self)

    def flatten(self):
        return np.ravel(self).copy()

    def squeeze(self, axis=None):
        return np.squeeze(self, axis)

    def swapaxes(self, a, b):
        return np.swapaxes(self, a, b)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return np.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return np.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return np.argmax(self, axis=axis)

    def argmin(self, axis=None):
        return np.argmin(self, axis=axis)

    def cumsum(self, axis=None):
        return np.cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return np.cumprod(self, axis=axis)

    def var(self, axis=None, ddof=0, keepdims=False):
        return np.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return np.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def dot(self, other):
        return np.dot(self, other)

    def clip(self, a_min=None, a_max=None):
        return np.clip(self, a_min, a_max)

    def trace(self, offset=0, axis1=0, axis2=1):
        return np.trace(self, offset, axis1, axis2)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)

    def take(self, indices, axis=None):
        return np.take(self, indices, axis=axis)

    def round(self, decimals=0):
        return np.round(self, decimals)

    def __bool__(self):
        return bool(_primal(self))

    # --- numpy protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _ufunc.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _functions.array_function(func, types, args, kwargs)

    # --- printing ------------------------------------------------------------------------
    def __repr__(self):
        tag = f", tag={self._tag}" if self._tag else ""
        return f"DualNumber(value={self.value!r}, partials={self.partials!r}{tag})"

    def __str__(self):
        return self.__format__("")

    def __format__(self, spec):
        if self.ndim == 0:
            v = _format_scalar(self.value, spec)
            p = self.partials
            if p.shape[-1] == 1:
                return f"{v} + {_format_scalar(p[0], spec)}ε"
            return f"{v} + [{' '.join(_format_scalar(q, spec) for q in p)}]ε"
        if spec:
            raise TypeError(f"dualad: format spec {spec!r} applies to 0-d duals only")
        return f"DualNumber(value={self.value}, partials={self.partials})"


def _format_scalar(x, spec):
    if isinstance(x, DualNumber):
        return f"({x.__format__(spec)})"
    return format(x.item(), spec) if hasattr(x, "item") else format(x, spec)


def _primal(x):
    while isinstance(x, DualNumber):
        x = x.value
    return x


def _plain_index(index):
    # indices index the value axes; a dual used as an index would drop its derivative
    index = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, DualNumber) for i in index):
        raise TypeError(_DROP_MSG.format(what="an index"))
    return index


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index):
    for i in index:
        if not isinstance(i, _BASIC) or isinstance(i, bool):
            return False
    return True


def _partials_index(index):
    # the direction axis is last: after an Ellipsis it needs an explicit slice
    if any(i is Ellipsis for i in index):
        return index + (slice(None),)
    return index + (Ellipsis,)


from . import _functions, _ufunc  # noqa: E402  (they need DualNumber defined)
