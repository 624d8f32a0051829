"""Complex duals: what ``np.fft`` of a dual returns, as a real part and an imaginary part.

``DualNumber`` holds real numbers only. A complex intermediate result (``np.fft.rfft(x)``)
is a ``ComplexDual``: two real duals of any kind (DualNumber, or HyperDual and Taylor inside
the helpers), its ``real`` and ``imag`` parts, so every derivative of the parts is that of a
real dual. A few operations are defined on it (the ones spectral code uses: ``+ - * /``,
``**``, ``np.abs``, ``np.angle``, ``np.real``, ``np.imag``, ``np.conj``, ``np.exp``, the
FFTs, ``np.sum``, ``np.mean`` and moving data around); everything else raises a TypeError
that says to take real parts first. A derivative is never computed for a function that was
not written for complex numbers.

Values are numpy's own: every operation computes its value with numpy's complex arithmetic on
the complex value rebuilt from the parts (bit for bit: numpy's complex product, quotient and
abs are not the textbook formulas on the parts). The derivatives are written with complex
numbers too, through two dispatched primitives whose relevant arguments are the parts, so
the parts' own type chooses the route: ``_complex_linear`` (a real-linear map: the FFTs, sums;
HyperDual and Taylor stack their parts through it) and ``_complex_ufunc`` (products, abs, ...:
HyperDual uses nested duals, Taylor falls back to them). Nested duals recurse: the value and
partials of a ComplexDual of duals are ComplexDuals of the inner tag.

>>> import numpy as np
>>> from dualad.core.dual import DualNumber
>>> F = np.fft.rfft(DualNumber([1.0, 2.0, 0.0, -1.0], np.eye(4)))
>>> type(F).__name__, F.shape
('ComplexDual', (3,))
>>> np.abs(F).value.round(4).tolist()
[2.0, 3.1623, 0.0]
"""
from typing import Any, Callable, Tuple

import numpy as np
from numpy._core.overrides import array_function_dispatch
from numpy.lib.array_utils import normalize_axis_index
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..errors import foreign
from . import partials as _partials
from .dual import DualNumber, ShapeMethods, square_or_power
from .functions import CATEGORY, HANDLED
from .partials import accumulate, primal, result, split, top_tag

_Pair = Tuple[Any, Any]


# =========================================================================================
# complex numbers at one level: a complex ndarray, or a ComplexDual of older duals
# =========================================================================================
def _is_plain(x: Any) -> bool:
    """True for numbers and numpy arrays (no dual of any kind)."""
    return x is None or isinstance(x, (np.ndarray, np.generic, int, float, complex))


def _join(re: Any, im: Any) -> Any:
    """``re + i im``: a complex ndarray built exactly from plain parts (``re + 1j * im``
    would round, turn -0.0 into +0.0 and inf into nan), else a ComplexDual; ``re`` itself
    when ``im`` is None (real)."""
    if im is None:
        return re
    if _is_plain(re) and _is_plain(im):
        re, im = np.asarray(re), np.asarray(im)
        dtype = np.result_type(re, im, np.complex64)
        z = np.empty(np.broadcast_shapes(re.shape, im.shape), dtype=dtype)
        z.real, z.imag = re, im
        return z
    return ComplexDual(re, im)


def _parts(z: Any) -> _Pair:
    """``(real, imag)`` of a complex ndarray or ComplexDual; ``(z, None)`` for real ones."""
    if isinstance(z, ComplexDual):
        return z.real, z.imag
    if isinstance(z, (np.ndarray, np.generic)) and z.dtype.kind == "c":
        return np.array(z.real), np.array(z.imag)  # (own contiguous memory)
    return z, None


def _pair(x: Any) -> _Pair:
    """The parts an operation dispatches on: a ComplexDual's, or ``(x, None)``."""
    return (x.real, x.imag) if isinstance(x, ComplexDual) else (x, None)


def _wrap(out: Any) -> Any:
    """A primitive's result as the user sees it: a pair becomes a ComplexDual."""
    if isinstance(out, tuple):
        return _join(*out)
    return out


def _e(x: Any) -> Any:
    """``x`` with a trailing axis, to multiply partials (numbers as they are)."""
    if isinstance(x, (int, float, complex)):
        return x
    return x[..., None]


def _at(x: Any, tag: int) -> Tuple[Any, Any]:
    """``(value, partials)`` at ``tag`` of a pair (a complex number of this level), or of
    anything else as ``split`` does (partials None: constant)."""
    if type(x) is not tuple:
        return split(x, tag)
    (vr, pr), (vi, pi) = split(x[0], tag), split(x[1], tag)
    if pr is None and pi is None:
        return _join(vr, vi), None
    if pi is None and vi is not None:
        pi = np.zeros(np.shape(pr), dtype=np.result_type(primal(pr)))
    elif pr is None:
        pr = np.zeros(np.shape(pi), dtype=np.result_type(primal(pi)))
    return _join(vr, vi), _join(pr, pi)


def _results(ans: Any, d: Any, tag: int) -> Any:
    """The dual of ``tag`` from a value and partials (complex or real): a pair or a dual."""
    (ar, ai), (dr, di) = _parts(ans), _parts(d)
    if ai is None:
        return result(ar, dr, tag)
    if di is None:  # (a real tangent of a complex value)
        di = np.zeros(np.shape(dr), dtype=np.result_type(primal(dr)))
    return result(ar, dr, tag), result(ai, di, tag)


def _leaves(x: Any) -> Any:
    for part in x:
        if type(part) is tuple:
            yield from part
        else:
            yield part


# =========================================================================================
# the two primitives: dispatched on the parts
# =========================================================================================
def _linear_dispatcher(func: Any, z: _Pair, kwargs: dict) -> Any:
    return z


@array_function_dispatch(_linear_dispatcher, module="dualad")
def _complex_linear(func: Any, z: _Pair, kwargs: dict) -> Any:
    """``func(re + i im, **kwargs)`` for ``func`` real-linear in its array argument (an FFT,
    a sum), as a pair (or a real array). Axis arguments count from the end (so the direction
    axis, put first, is never transformed)."""
    return _parts(func(_join(*z), **kwargs))


def _complex_linear_dual(func: Any, z: _Pair, kwargs: dict) -> Any:
    tag = top_tag(z)
    value, p = _at(z, tag)
    ans = func(value, **kwargs)
    if p is None:
        return _parts(ans)
    # the directions go first, where no axis argument (all negative) reaches them
    d = func(_moveaxis(p, -1, 0), **kwargs)
    return _results(ans, _moveaxis(d, 0, -1), tag)


def _moveaxis(z: Any, source: int, dest: int) -> Any:
    if isinstance(z, ComplexDual):
        return ComplexDual(np.moveaxis(z.real, source, dest), np.moveaxis(z.imag, source, dest))
    return np.moveaxis(z, source, dest)


def _ufunc_dispatcher(ufunc: Any, operands: Tuple[Any, ...], kwargs: dict) -> Any:
    return tuple(_leaves(operands))


@array_function_dispatch(_ufunc_dispatcher, module="dualad")
def _complex_ufunc(ufunc: Any, operands: Tuple[Any, ...], kwargs: dict) -> Any:
    """``ufunc`` of operands that are pairs (complex) or real, as a pair (or a real array)."""
    return _parts(ufunc(*(_join(*o) if type(o) is tuple else o for o in operands)))


def _complex_ufunc_dual(ufunc: Any, operands: Tuple[Any, ...], kwargs: dict) -> Any:
    tag = top_tag(tuple(_leaves(operands)))
    values, tangents = zip(*(_at(o, tag) for o in operands))
    nested = not all(map(_is_plain, values + tangents))
    if nested:  # a complex array meeting a real dual: a complex dual (duals refuse complex)
        values, tangents = _box(values), _box(tangents)
    with np.errstate(divide="ignore", invalid="ignore"):
        ans = ufunc(*values)  # numpy's complex arithmetic (or, nested, this one again)
        d = _DERIVATIVES[ufunc](values, tangents, _box((ans,))[0] if nested else ans)
    return _results(ans, d, tag)


def _box(zs: Tuple[Any, ...]) -> Tuple[Any, ...]:
    return tuple(ComplexDual(z.real, z.imag) if isinstance(z, np.ndarray)
                 and z.dtype.kind == "c" else z for z in zs)


# (the primitives are numpy functions of dualad's own: registered like numpy's; HyperDual and
# Taylor stack their parts through a linear one, and use nested duals for the other)
HANDLED[_complex_linear], CATEGORY[_complex_linear] = _complex_linear_dual, "linear"
HANDLED[_complex_ufunc], CATEGORY[_complex_ufunc] = _complex_ufunc_dual, "custom"


def _multiply(z: Any, dz: Any, ans: Any) -> Any:
    (a, b), (da, db) = z, dz
    return accumulate(None if da is None else da * _e(b), None if db is None else _e(a) * db)


def _divide(z: Any, dz: Any, ans: Any) -> Any:
    b, (da, db) = z[1], dz
    num = accumulate(da, None if db is None else -(_e(ans) * db))
    return num / _e(b)


def _absolute(z: Any, dz: Any, ans: Any) -> Any:
    # d|z| = Re(conj(z) dz) / |z|; 0 at z = 0 (as for real numbers: |x|' = sign(x))
    zero = primal(ans) == 0
    safe = np.where(zero, 1.0, ans) if np.any(zero) else ans
    d = np.real(_e(np.conjugate(z[0])) * dz[0]) / _e(safe)
    return np.where(zero[..., None], 0.0, d) if np.any(zero) else d


def _power(z: Any, dz: Any, ans: Any) -> Any:
    (a, k), (da, dk) = z, dz
    if dk is not None:
        raise TypeError("dualad: a complex dual to a power that is a dual is not supported; "
                        "the exponent must be a constant")
    return _e(k * a ** (k - 1)) * da


_DERIVATIVES: dict[Any, Callable[[Any, Any, Any], Any]] = {
    np.multiply: _multiply,
    np.true_divide: _divide,
    np.absolute: _absolute,
    np.square: lambda z, dz, ans: _e(2 * z[0]) * dz[0],
    np.power: _power,
    np.exp: lambda z, dz, ans: _e(ans) * dz[0],
}


# =========================================================================================
# the number
# =========================================================================================
_REFUSED = ("take np.real, np.imag, np.abs or np.angle first (real duals support "
            "everything), or write the complex arithmetic with + - * / on complex duals")


def _refused(name: str, why: str = "") -> TypeError:
    return TypeError(f"dualad: {name} of a complex dual (the result of np.fft on duals) is "
                     f"not supported{why}; {_REFUSED}")


class ComplexDual(ShapeMethods, NDArrayOperatorsMixin):
    """A complex dual array: real duals ``real`` and ``imag`` of one shape (what ``np.fft``
    returns for a dual; see the module docstring for what it supports).

    >>> import numpy as np
    >>> from dualad.core.dual import DualNumber
    >>> z = np.fft.fft(DualNumber([0.0, 1.0], [[1.0], [2.0]]))
    >>> print(z.real[1], z.imag[1])
    -1.0 + -1.0ε 0.0 + 0.0ε
    """

    __slots__ = ("real", "imag")
    real: Any
    imag: Any
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, real: Any, imag: Any) -> None:
        shape = np.broadcast_shapes(np.shape(real), np.shape(imag))
        if np.shape(real) != shape:
            real = np.broadcast_to(real, shape)
        if np.shape(imag) != shape:
            imag = np.broadcast_to(imag, shape)
        self.real, self.imag = real, imag

    # --- shape and values ----------------------------------------------------------------
    shape = property(lambda self: np.shape(self.real), doc="Shape of the value.")
    ndim = property(lambda self: len(self.shape), doc="Number of value dimensions.")
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)),
                    doc="Number of value elements.")
    T = property(lambda self: np.transpose(self), doc="Transpose (of the value axes).")

    @property
    def dtype(self) -> np.dtype:
        """The complex dtype of the value."""
        return np.result_type(_plain_of(self.real), _plain_of(self.imag), np.complex64)

    @property
    def value(self) -> Any:
        """The value, complex (a ComplexDual of the inner duals for nested duals)."""
        return _join(_value_of(self.real), _value_of(self.imag))

    @property
    def partials(self) -> Any:
        """The partials, complex, shape ``value.shape + (n,)`` (of DualNumber parts)."""
        return _at((self.real, self.imag), top_tag((self.real, self.imag)))[1]

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d ComplexDual")
        return self.shape[0]

    def __iter__(self) -> Any:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d ComplexDual")
        for i in range(self.shape[0]):
            yield self[i]

    def __getitem__(self, index: Any) -> "ComplexDual":
        return ComplexDual(self.real[index], self.imag[index])

    def __setitem__(self, index: Any, item: Any) -> None:
        re, im = _lift(item)
        self.real[index] = re
        self.imag[index] = 0.0 if im is None else im

    def conj(self) -> Any:
        return np.conjugate(self)

    conjugate = conj

    def ravel(self) -> Any:
        return np.ravel(self)

    def copy(self) -> "ComplexDual":
        return ComplexDual(np.copy(self.real), np.copy(self.imag))

    __copy__ = copy  # (copy.copy copies the arrays, as for numpy's)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, keepdims=keepdims)

    __pow__ = square_or_power  # z ** 2 is np.square(z), as for numpy's arrays

    # --- no silent conversion ------------------------------------------------------------
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("dualad: converting a complex dual (the result of np.fft on duals) to "
                        "a plain numpy array would drop its derivative; use z.real and z.imag "
                        "(real duals), np.abs(z), or z.value for the plain complex value. To "
                        "build an array of complex duals use np.stack or np.concatenate")

    def _no_conversion(self, *args: Any) -> Any:
        raise TypeError("dualad: converting a complex dual to a Python number would drop its "
                        "derivative; use z.value for the plain complex value")

    __complex__ = __float__ = __int__ = __index__ = __bool__ = _no_conversion

    def item(self, *args: Any) -> Any:
        raise TypeError("dualad: .item() would drop the derivative; use z.value.item() for "
                        "the plain value")

    tolist = item

    def __repr__(self) -> str:
        return f"ComplexDual(real={self.real!r}, imag={self.imag!r})"

    # --- numpy protocols -----------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if method != "__call__" or kwargs:
            raise _refused(name, f" with {', '.join(kwargs)}" if kwargs else "")
        inputs = tuple(np.asarray(a) if isinstance(a, (list, tuple)) else a for a in inputs)
        for a in inputs:
            if not _operand_ok(a):
                return NotImplemented
        if ufunc in _PARTWISE:
            return _PARTWISE[ufunc](*inputs)
        if ufunc in _DERIVATIVES:
            return _wrap(_complex_ufunc(ufunc, tuple(_operand(a) for a in inputs), {}))
        if ufunc in (np.isfinite, np.isnan, np.isinf):
            return ufunc(_plain(inputs[0]))
        raise _refused(name)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        impl = _FUNCTIONS.get(func)
        if impl is None:
            name = f"{getattr(func, '__module__', 'numpy')}.{func.__name__}"
            raise _refused(name.replace("numpy.fft._pocketfft", "numpy.fft")
                           .replace("numpy._core.fromnumeric", "numpy"))
        return impl(*args, **kwargs)


def _rebuild(z: ComplexDual, fn: Callable[[Any], Any]) -> Any:
    return _join(fn(z.real), fn(z.imag))


_partials.CONTAINERS[ComplexDual] = _rebuild  # (map_leaves maps into the parts)


def _value_of(x: Any) -> Any:
    return x.value if not _is_plain(x) else x


def _plain_of(x: Any) -> Any:
    while not _is_plain(x):
        x = x.value
    return x


def _plain(x: Any) -> Any:
    """The plain value (complex ndarray) under every layer of duals."""
    if isinstance(x, ComplexDual):
        return _join(_plain_of(x.real), _plain_of(x.imag))
    return _plain_of(x)


def _operand_ok(a: Any) -> bool:
    if isinstance(a, (ComplexDual, DualNumber)) or _is_plain(a):
        if isinstance(a, np.ndarray) and type(a) is not np.ndarray:
            err = foreign(a, "an operand of a complex dual")
            if err is not None:
                raise err
        return not isinstance(a, (np.ndarray, np.generic)) or a.dtype.kind in "biufc"
    # a real dual of a helper (HyperDual, Taylor): it has numpy's protocols
    return hasattr(type(a), "__array_ufunc__") and not isinstance(a, (list, tuple, str))


def _operand(a: Any) -> Any:
    return (a.real, a.imag) if isinstance(a, ComplexDual) else a


def _lift(a: Any) -> _Pair:
    """``(real, imag)`` of any operand; imag None for real ones."""
    if isinstance(a, ComplexDual):
        return a.real, a.imag
    if isinstance(a, complex) or (isinstance(a, (np.ndarray, np.generic))
                                  and a.dtype.kind == "c"):
        return a.real, a.imag
    return a, None


def _zeros_for(a: Any) -> Any:
    """The imaginary part numpy gives a real operand it promotes to complex: +0.0 of its
    shape (a Python 0.0 for a Python number, which stays weakly typed)."""
    if isinstance(a, (int, float)):
        return 0.0
    p = _plain_of(a)
    return np.zeros(np.shape(p), dtype=np.result_type(p, np.float32))


# --- elementwise, part by part (numpy's complex +, - and conj are exactly these) ----------
def _add(a: Any, b: Any) -> Any:
    (ar, ai), (br, bi) = _lift(a), _lift(b)
    return _join(ar + br, (ai if ai is not None else _zeros_for(a))
                 + (bi if bi is not None else _zeros_for(b)))


def _subtract(a: Any, b: Any) -> Any:
    (ar, ai), (br, bi) = _lift(a), _lift(b)
    return _join(ar - br, (ai if ai is not None else _zeros_for(a))
                 - (bi if bi is not None else _zeros_for(b)))


_PARTWISE: dict[Any, Callable[..., Any]] = {
    np.add: _add,
    np.subtract: _subtract,
    np.negative: lambda z: ComplexDual(-z.real, -z.imag),
    np.positive: lambda z: ComplexDual(+z.real, +z.imag),
    np.conjugate: lambda z: ComplexDual(+z.real, -z.imag),
}


# =========================================================================================
# numpy functions of complex duals
# =========================================================================================
_FUNCTIONS: dict[Any, Callable[..., Any]] = {}  # numpy function -> implementation


def complex_function(*funcs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` for complex duals as the implementation of numpy's ``funcs``."""
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for f in funcs:
            _FUNCTIONS[f] = impl
        return impl
    return register


def linear(func: Any, z: Any, kwargs: dict) -> Any:
    """``func(z, **kwargs)`` for ``func`` real-linear in ``z`` (a dual, complex or real),
    axis arguments counted from the end."""
    return _wrap(_complex_linear(func, _pair(z), kwargs))


def negative_axes(axis: Any, ndim: int) -> Any:
    """Axis arguments as negative numbers (None: every axis)."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, (tuple, list)):
        return tuple(normalize_axis_index(a, ndim) - ndim for a in axis)
    return normalize_axis_index(axis, ndim) - ndim


def _no_extra(name: str, **extra: Any) -> None:
    for key, val in extra.items():
        if val is not None and val is not np._NoValue:
            raise _refused(f"numpy.{name}", f" with {key}=")


@complex_function(np.sum)
def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         initial: Any = None, where: Any = None) -> Any:
    _no_extra("sum", dtype=dtype, out=out, initial=initial, where=where)
    return linear(np.sum, a, {"axis": negative_axes(axis, np.ndim(a)), "keepdims": keepdims})


@complex_function(np.mean)
def _mean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
          keepdims: bool = False, *, where: Any = None) -> Any:
    _no_extra("mean", dtype=dtype, out=out, where=where)
    return linear(np.mean, a, {"axis": negative_axes(axis, np.ndim(a)), "keepdims": keepdims})


@complex_function(np.real)
def _real(z: Any) -> Any:
    return z.real


@complex_function(np.imag)
def _imag(z: Any) -> Any:
    return z.imag


@complex_function(np.angle)
def _angle(z: Any, deg: bool = False) -> Any:
    a = np.arctan2(z.imag, z.real)  # numpy's own definition
    return a * (180 / np.pi) if deg else a


def _on_values(func: Any) -> Callable[..., Any]:
    def impl(z: Any, *args: Any, **kwargs: Any) -> Any:
        return func(_plain(z), *args, **kwargs)
    return impl


for _f in (np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj, np.iscomplex,
           np.isreal):
    _FUNCTIONS[_f] = _on_values(_f)


# --- moving data: part by part, exactly numpy's (each element is copied) -----------------
_MOVES: Tuple[Any, ...] = (
    np.reshape, np.ravel, np.transpose, np.squeeze, np.expand_dims, np.moveaxis, np.swapaxes,
    np.flip, np.fliplr, np.flipud, np.roll, np.rot90, np.copy, np.broadcast_to, np.atleast_1d,
    np.take, np.repeat, np.tile, np.diagonal, np.tril, np.triu, np.fft.fftshift,
    np.fft.ifftshift)


def _moving(func: Any) -> Callable[..., Any]:
    def impl(z: Any, *args: Any, **kwargs: Any) -> Any:
        for a in list(args) + list(kwargs.values()):
            if not _is_plain(a) and not isinstance(a, (tuple, list, str)):
                raise _refused(f"numpy.{func.__name__}", " with a dual as a parameter")
        if not isinstance(z, ComplexDual):  # (a dual among the parameters)
            raise _refused(f"numpy.{func.__name__}", " with a dual as a parameter")
        return _join(func(z.real, *args, **kwargs), func(z.imag, *args, **kwargs))
    return impl


for _move in _MOVES:
    _FUNCTIONS[_move] = _moving(_move)


def _lifted(arrays: Any) -> Tuple[list, list]:
    re, im = [], []
    for a in arrays:
        r, i = _lift(a)
        re.append(r)
        im.append(_zeros_for(r) if i is None else i)
    return re, im


@complex_function(np.concatenate)
def _concatenate(arrays: Any, axis: Any = 0, out: Any = None, **kwargs: Any) -> Any:
    _no_extra("concatenate", out=out, **kwargs)
    re, im = _lifted(arrays)
    return _join(np.concatenate(re, axis=axis), np.concatenate(im, axis=axis))


@complex_function(np.stack)
def _stack(arrays: Any, axis: int = 0, out: Any = None, **kwargs: Any) -> Any:
    _no_extra("stack", out=out, **kwargs)
    re, im = _lifted(arrays)
    return _join(np.stack(re, axis=axis), np.stack(im, axis=axis))


@complex_function(np.where)
def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None or y is None or not _is_plain(condition):
        raise _refused("numpy.where", " without x and y, or with a dual condition")
    (xr, xi), (yr, yi) = _lift(x), _lift(y)
    xi = _zeros_for(xr) if xi is None else xi
    yi = _zeros_for(yr) if yi is None else yi
    return _join(np.where(condition, xr, yr), np.where(condition, xi, yi))


__all__ = ["ComplexDual", "complex_function", "linear", "negative_axes"]
