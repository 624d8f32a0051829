"""Fast scalar duals for plain-Python numeric code.

A 0-d ``DualNumber`` pays numpy's per-call overhead (a microsecond or more) on every
operation; a loop over floats or a chain of ``dualad.math`` calls does not need arrays at all.
``ScalarDual`` is a three-slot object (``value``, ``tangent``, ``tag``) with one direction,
whose Python operators are written out directly and whose ``dualad.math`` functions come from
THE rule table: each rule's derivative lambda is re-bound to a small ``math``-based shim of
the numpy functions it calls (``np.cos`` -> ``math.cos``, ``np.where`` -> a conditional, ...),
so there is no second table. A rule whose derivative needs something the shim lacks, and
every numpy call on a scalar dual, goes through the array path: the scalar dual becomes a 0-d
``DualNumber`` (``__array_ufunc__`` / ``__array_function__``) and the result is a
``DualNumber``.

``derivative(f, x)`` for a Python ``float`` or ``int`` ``x`` runs ``f`` on a ``ScalarDual``.

Semantics:

* values are exactly what the same code gives on plain floats (``math.sin``, Python ``*``);
  where plain floats raise (``1.0 / 0.0``, ``math.log(0.0)``, overflow) a scalar dual gives
  numpy's inf or nan, like the array path;
* derivatives use the table's formulas in the table's order of operations, so they equal the
  array path bit for bit for arithmetic and wherever libm and numpy agree, and to a few ulps
  elsewhere (numpy ships its own ``exp``, ``log``, ``tanh``, ...);
* nesting: a scalar dual's value and tangent may be scalar duals of older tags (duals of
  duals); the younger tag is always the outer layer, so perturbation confusion cannot happen,
  exactly as for ``DualNumber`` (see ``core/tags.py``);
* comparisons, ``bool``, ``if``/``while``, ``sum``, ``max``, ``min``, ``sorted`` act on
  values; ``abs`` follows the table (derivative 0 at 0); ``round(x)``, ``math.floor(x)``,
  ``math.ceil(x)``, ``math.trunc(x)`` give plain ints and ``round(x, n)`` a plain float, as
  for floats: they are piecewise constant, so no derivative is lost;
* ``float(x)``, ``int(x)`` and ``math.sin(x)`` (standard ``math``) raise the same TypeError
  as for ``DualNumber``: use ``dualad.math``.

>>> import dualad as ad
>>> ad.derivative(lambda x: ad.math.sin(x) * x + 3.0 / x, 2.0) == (
...     __import__("math").cos(2.0) * 2.0 + __import__("math").sin(2.0) - 3.0 / 4.0)
True
>>> print(dual(3.0, 4.0) * dual(5.0, 7.0))
15.0 + 41.0ε
"""
from __future__ import annotations

import builtins
import math
import numbers
import operator
import types
from typing import Any, Callable, Optional, Union

import numpy as np

from .. import config
from ..core import hooks
from ..core import tags as _tags
from ..core.dual import DualNumber, NoSilentConversion, make
from ..core.partials import primal as array_primal
from ..core.partials import times
from ..core.seed import as_output, drop_finished, extract, plain
from ..errors import astype_refused, int_too_large, plain_value_refused, ufunc_name, whole
from ..rules import special as _special
from ..rules import table as _rules
from ..rules.table import RULES

_cscalar: Optional[types.ModuleType]
try:  # the optional C operators (setup.py); DUALAD_PURE_PYTHON=1 runs without them
    from . import _cscalar
except ImportError:
    _cscalar = None
if config.PURE_PYTHON:
    _cscalar = None

__all__ = ["ScalarDual", "derivative", "dual", "to_dual"]

Real = Union[float, int]


class _Operators:
    """``+ - * /`` and unary ``-`` of scalar duals in pure Python: the table's formulas in its
    order of operations, written out for speed. They define the semantics; the optional C base
    (``dualad/scalar/_cscalar.c``) runs the same float arithmetic for the common case (floats and
    scalar duals of one tag holding floats) and calls these methods for everything else."""

    __slots__ = ()

    def __add__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = self.value + o
            s.tangent = self.tangent
            s.tag = self.tag
            return s
        if to is ScalarDual:
            st, ot = self.tag, o.tag
            s = _S()
            if st == ot:
                s.value = self.value + o.value
                s.tangent = self.tangent + o.tangent
                s.tag = st
            elif st > ot:
                s.value = self.value + o
                s.tangent = self.tangent
                s.tag = st
            else:
                s.value = self + o.value
                s.tangent = o.tangent
                s.tag = ot
            return s
        return _mixed(self, o, _add)

    def __radd__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = o + self.value
            s.tangent = self.tangent
            s.tag = self.tag
            return s
        return _mixed(o, self, _add)

    def __sub__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = self.value - o
            s.tangent = self.tangent
            s.tag = self.tag
            return s
        if to is ScalarDual:
            st, ot = self.tag, o.tag
            s = _S()
            if st == ot:
                s.value = self.value - o.value
                s.tangent = self.tangent + -o.tangent
                s.tag = st
            elif st > ot:
                s.value = self.value - o
                s.tangent = self.tangent
                s.tag = st
            else:
                s.value = self - o.value
                s.tangent = -o.tangent
                s.tag = ot
            return s
        return _mixed(self, o, _sub)

    def __rsub__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = o - self.value
            s.tangent = -self.tangent
            s.tag = self.tag
            return s
        return _mixed(o, self, _sub)

    def __mul__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = self.value * o
            s.tangent = self.tangent * o
            s.tag = self.tag
            return s
        if to is ScalarDual:
            st, ot = self.tag, o.tag
            s = _S()
            if st == ot:
                x, y = self.value, o.value
                s.value = x * y
                s.tangent = self.tangent * y + o.tangent * x
                s.tag = st
            elif st > ot:
                s.value = self.value * o
                s.tangent = self.tangent * o
                s.tag = st
            else:
                s.value = self * o.value
                s.tangent = o.tangent * self
                s.tag = ot
            return s
        return _mixed(self, o, _mul)

    def __rmul__(self, o):
        to = type(o)
        if to is float or to is int:
            s = _S()
            s.value = o * self.value
            s.tangent = self.tangent * o
            s.tag = self.tag
            return s
        return _mixed(o, self, _mul)

    def __truediv__(self, o):
        to = type(o)
        try:
            if to is float or to is int:
                s = _S()
                s.value = self.value / o
                s.tangent = times(self.tangent, 1.0 / o)
                s.tag = self.tag
                return s
            if to is ScalarDual and self.tag == o.tag:
                y = o.value
                a = self.value / y
                s = _S()
                s.value = a
                s.tangent = times(self.tangent, 1.0 / y) + times(o.tangent, -a / y)
                s.tag = self.tag
                return s
        except ZeroDivisionError:
            pass  # inf or nan as numpy gives them: the table's rule on the slow path
        return _mixed(self, o, _div)

    def __rtruediv__(self, o):
        to = type(o)
        if to is float or to is int:
            try:
                y = self.value
                a = o / y
                s = _S()
                s.value = a
                s.tangent = times(self.tangent, -a / y)
                s.tag = self.tag
                return s
            except ZeroDivisionError:
                pass
        return _mixed(o, self, _div)

    def __neg__(self):
        s = _S()
        s.value = -self.value
        s.tangent = -self.tangent
        s.tag = self.tag
        return s


# the C base when it was built (setup.py), else the pure-Python operators and slots
_STORAGE = (_cscalar.Base,) if _cscalar else (_Operators,)


class ScalarDual(*_STORAGE, NoSilentConversion):  # type: ignore[misc]  # (a chosen base)
    """A scalar dual number ``value + tangent·ε`` (one direction) for plain-Python code.

    ``value`` and ``tangent`` are floats, or scalar duals of an older tag (nesting). Duals
    built by hand carry tag 0 and share one ε with hand-built ``DualNumber``s.

    Build one by hand with ``dual(value, tangent)``; ``derivative`` builds them for you.

    >>> x = dual(3.0, 1.0)
    >>> y = x * x + 2 * x
    >>> (y.value, y.tangent)
    (15.0, 8.0)
    >>> x > 2, sorted([dual(2.0), x, 1.0])[0]
    (True, 1.0)
    """

    __slots__ = () if _cscalar else ("value", "tangent", "tag")
    __hash__ = None  # type: ignore[assignment]  # == compares values, as for DualNumber

    # --- other operators (the common four come from _STORAGE) ----------------------------
    def __pow__(self, o):
        to = type(o)
        if (to is float or to is int) and type(self.value) is float:
            x = self.value
            a = _pow(x, o)
            d = o * _pow(x, o - 1.0) if o != 0 else 0.0
            p = self.tangent
            s = _S()
            s.value = a
            s.tangent = times(p, d)
            s.tag = self.tag
            return s
        return _mixed(self, o, _power)

    def __rpow__(self, o):
        return _mixed(o, self, _power)

    def __floordiv__(self, o):
        return _mixed(self, o, _floordiv)

    def __rfloordiv__(self, o):
        return _mixed(o, self, _floordiv)

    def __mod__(self, o):
        return _mixed(self, o, _mod)

    def __rmod__(self, o):
        return _mixed(o, self, _mod)

    def __divmod__(self, o):
        return self // o, self % o

    def __rdivmod__(self, o):
        return o // self, o % self

    def __pos__(self):
        return self

    def __abs__(self):
        return _abs(self)

    # --- comparisons act on values ---------------------------------------------------------
    def _on_values(op: Any) -> Any:  # noqa: N805  (a factory used in the class body)
        def compare(self: Any, o: Any) -> Any:
            return op(primal(self), primal(o))
        compare.__name__ = f"__{op.__name__}__"
        return compare

    __eq__, __ne__ = _on_values(operator.eq), _on_values(operator.ne)
    __lt__, __le__ = _on_values(operator.lt), _on_values(operator.le)
    __gt__, __ge__ = _on_values(operator.gt), _on_values(operator.ge)
    del _on_values

    def __bool__(self):
        return bool(primal(self))

    # piecewise constant: plain numbers, as for floats (no derivative is lost)
    def __round__(self, ndigits=None):
        return round(primal(self), ndigits)

    def __floor__(self):
        return math.floor(primal(self))

    def __ceil__(self):
        return math.ceil(primal(self))

    def __trunc__(self):
        return math.trunc(primal(self))

    # .item() and .tolist() would drop the derivative (x.value is the plain float)
    def item(self, *args):
        raise plain_value_refused("item", "x.value")

    def tolist(self):
        raise plain_value_refused("tolist", "x.value")

    def astype(self, dtype, copy=True):
        """As a 0-d ``DualNumber`` of the floating ``dtype`` (a numpy method: the array path)."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise astype_refused(dtype, "ScalarDual")
        return to_dual(self).astype(dtype, copy=copy)

    # --- numpy: the array path on 0-d DualNumbers ------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = _NUMPY_SCALAR_OPS.get(ufunc)
        if op is not None and method == "__call__" and not kwargs and all(
                type(a) is ScalarDual or isinstance(a, (int, float, np.floating, np.integer))
                for a in inputs):
            # numpy scalars meeting a scalar dual (np.float64(2) * x): plain arithmetic
            return op(*(a if type(a) is ScalarDual else float(a) for a in inputs))
        inputs = tuple(to_dual(a) for a in inputs)
        if "out" in kwargs:
            kwargs["out"] = tuple(to_dual(a) for a in kwargs["out"])
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return func(*_to_dual_tree(args), **_to_dual_tree(kwargs))

    # --- array-like attributes of a 0-d dual -------------------------------------------------
    shape = ()
    ndim = 0
    size = 1

    @property
    def partials(self) -> np.ndarray:
        """The tangent as a length-1 direction axis, as ``DualNumber.partials``."""
        return to_dual(self).partials

    def __reduce__(self):  # copy and pickle, whichever base holds the three parts
        # (the token: loaded in another process, the tag becomes one it never draws, as for
        # DualNumber; a copy is a new object of the same immutable floats and tag)
        return _rebuild, (type(self), self.value, self.tangent, self.tag, _tags.token())

    # --- printing ------------------------------------------------------------------------
    def __repr__(self):
        tag = f", tag={self.tag}" if self.tag else ""
        return f"ScalarDual(value={self.value!r}, tangent={self.tangent!r}{tag})"

    def __format__(self, spec):
        return f"{_fmt(self.value, spec)} + {_fmt(self.tangent, spec)}ε"

    def __str__(self):
        return self.__format__("")


_S = ScalarDual  # ScalarDual() without arguments: the fastest way to a new object
if _cscalar:
    _cscalar.setup(ScalarDual, _Operators)


def _rebuild(cls, value, tangent, tag, token=None):
    s = cls()
    # (token None: a pickle of a version that did not record it)
    s.value, s.tangent = value, tangent
    s.tag = tag if token is None else _tags.local(tag, token)
    return s


def dual(value: Real, tangent: Real = 0.0) -> ScalarDual:
    """A scalar dual ``value + tangent·ε`` built by hand (tag 0: it shares one ε with
    hand-built ``DualNumber``s).

    >>> print(dual(3.0, 4.0) * dual(5.0, 7.0))
    15.0 + 41.0ε
    """
    if not isinstance(value, (int, float)) or not isinstance(tangent, (int, float)):
        raise TypeError("dualad: dual(value, tangent) takes two real numbers, got "
                        f"{type(value).__name__} and {type(tangent).__name__}")
    s = _S()
    s.value, s.tangent, s.tag = float(value), float(tangent), 0
    return s


def _fmt(x, spec):
    return f"({x.__format__(spec)})" if type(x) is ScalarDual else format(x, spec)


def primal(x: Any) -> Any:
    """The plain value under every layer of (scalar) duals.

    >>> primal(dual(2.0, 1.0))
    2.0
    """
    while type(x) is ScalarDual:
        x = x.value
    if isinstance(x, DualNumber):
        return array_primal(x)
    return x


# --- conversions to and from the array path ------------------------------------------------
def _lift(d):
    # a 0-d dual (or array) with a leading axis of length 1: the partials of an outer layer
    if isinstance(d, DualNumber):
        return make(_lift(d.value), _lift(d.partials), d._tag)
    return np.asarray(d, dtype=np.float64)[None]


def to_dual(x: Any) -> Any:
    """A scalar dual as the equivalent 0-d ``DualNumber`` (tags kept); anything else as is.

    >>> to_dual(dual(3.0, 4.0)).partials.tolist()
    [4.0]
    """
    if type(x) is not ScalarDual:
        return x
    value = to_dual(x.value)
    if not isinstance(value, DualNumber):
        value = np.asarray(value, dtype=np.float64)
    return make(value, _lift(to_dual(x.tangent)), x.tag)


def _to_dual_tree(x):
    if type(x) is ScalarDual:
        return to_dual(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_dual_tree(e) for e in x)
    if isinstance(x, dict):
        return {k: _to_dual_tree(v) for k, v in x.items()}
    return x


def _split(x, tag):
    # (value, tangent) of x at tag; tangent None for a constant
    if type(x) is ScalarDual and x.tag == tag:
        return x.value, x.tangent
    return x, None


# --- plain-float implementations: math where it agrees, numpy semantics where math raises ---
def _numpy_float(ufunc):
    def impl(*args):
        with np.errstate(all="ignore"):
            return float(ufunc(*(np.float64(a) for a in args)))
    return impl


def _safe(fn, ufunc):
    """``fn`` on floats, except where it raises: numpy's inf or nan instead (array path)."""
    fallback = _numpy_float(ufunc)

    def impl(*args):
        try:
            return fn(*args)
        except (ValueError, OverflowError, ZeroDivisionError):
            return fallback(*args)
    return impl


def _sign(x):
    return 1.0 if x > 0 else (-1.0 if x < 0 else (0.0 if x == 0 else x))


def _rint(x):
    return float(round(x)) if x - x == 0 else x  # round half to even, as np.rint


# plain-float versions of ufuncs without a math counterpart (or with a differing signature)
_FLOAT_IMPL = {
    np.negative: lambda x: -x, np.positive: lambda x: +x, np.conjugate: lambda x: x,
    np.square: lambda x: x * x, np.reciprocal: lambda x: 1.0 / x, np.absolute: abs,
    np.divide: lambda x, y: x / y, np.true_divide: lambda x, y: x / y,
    np.multiply: lambda x, y: x * y, np.add: lambda x, y: x + y,
    np.subtract: lambda x, y: x - y, np.log: math.log, np.sign: _sign, np.rint: _rint,
    np.floor: lambda x: float(math.floor(x)), np.ceil: lambda x: float(math.ceil(x)),
    np.trunc: lambda x: float(math.trunc(x)), np.mod: lambda x, y: x % y,
    np.remainder: lambda x, y: x % y, np.floor_divide: lambda x, y: x // y,
    np.power: math.pow, np.float_power: math.pow, np.deg2rad: math.radians,
    np.rad2deg: math.degrees,
}
_pow = _safe(math.pow, np.power)


def _raw_float(ufunc, rule):
    """The plain-float function of ``ufunc``: math's where it has one (may raise)."""
    fn = _FLOAT_IMPL.get(ufunc)
    if fn is None and rule.math and hasattr(math, rule.math):
        fn = getattr(math, rule.math)
    return _numpy_float(ufunc) if fn is None else fn


# --- the shims: what the table's derivative lambdas call instead of numpy ----------------------
def _where(c, a, b):
    return a if c else b


def _signbit(x):
    return math.copysign(1.0, primal(x)) < 0


_SHIM_EXTRA = {
    "where": _where, "all": lambda c: bool(c), "any": lambda c: bool(c),
    "signbit": _signbit, "isnan": lambda x: math.isnan(primal(x)),
    "isinf": lambda x: math.isinf(primal(x)), "isfinite": lambda x: math.isfinite(primal(x)),
    "ldexp": lambda x, i: _scalar_fn[np.ldexp](x, int(primal(i))),
}
_ERRORS = (ValueError, OverflowError, ZeroDivisionError)

_scalar_fn: dict = {}  # ufunc -> function on floats, scalar duals and DualNumbers
_derived: dict = {}    # ufunc -> derivative functions on scalar duals (None: array path)


def _namespaces(impl):
    """``np`` and ``sp`` stand-ins whose ufuncs are ``impl(ufunc)``."""
    np_shim, sp_shim = {}, {}
    for ufunc, rule in RULES.items():
        name = ufunc.__name__
        if getattr(np, name, None) is ufunc:
            np_shim[name] = impl(ufunc, rule)
        if getattr(_special, name, None) is ufunc:
            sp_shim[name] = impl(ufunc, rule)
    np_shim["abs"] = np_shim["absolute"]
    np_shim.update(_SHIM_EXTRA)
    # modules, not namespaces: CPython specializes attribute loads from modules
    np_mod, sp_mod = types.ModuleType("dualad._np_shim"), types.ModuleType("dualad._sp_shim")
    vars(np_mod).update(np_shim)
    vars(sp_mod).update(sp_shim)
    return np_mod, sp_mod


def _codes(code):
    yield code
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            yield from _codes(c)


def _rebind(impl):
    """Every derivative lambda of the table re-bound to shims built by ``impl``:
    ``{ufunc: tuple of functions}``, or None for a rule that needs something the shims lack
    (that rule then runs on the array path)."""
    np_shim, sp_shim = _namespaces(impl)
    known = {k for k in (*vars(np_shim), *vars(sp_shim)) if not k.startswith("__")} | set(
        dir(builtins))
    env = dict(vars(_rules))
    env["np"], env["sp"] = np_shim, sp_shim
    for name, obj in vars(_rules).items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == _rules.__name__:
            env[name] = types.FunctionType(obj.__code__, env, obj.__name__, obj.__defaults__,
                                           obj.__closure__)
    plain = {k for k, v in env.items() if not isinstance(v, types.ModuleType)}

    def supported(code, seen):
        for c in _codes(code):
            for name in c.co_names:
                if name in ("np", "sp") or name in known:
                    continue
                if name not in plain:
                    return False
                target = env[name]
                if isinstance(target, types.FunctionType) and target.__code__ not in seen:
                    seen.add(target.__code__)
                    if not supported(target.__code__, seen):
                        return False
        return True

    out = {}
    for ufunc, rule in RULES.items():
        fns = []
        for d in rule.derivs:
            if isinstance(d, types.FunctionType) and supported(d.__code__, set()):
                fns.append(types.FunctionType(d.__code__, env, d.__name__, d.__defaults__,
                                              d.__closure__))
            elif d is None or rule.kind in ("linear", "zero"):
                fns.append(d)
            else:
                fns = None
                break
        out[ufunc] = fns
    return out


def _evaluate(scalar_d, numpy_d, args):
    try:
        return scalar_d(*args)
    except _ERRORS:
        if all(type(a) is not ScalarDual for a in args):  # plain floats: numpy semantics
            with np.errstate(all="ignore"):
                r = numpy_d(*(np.float64(a) for a in args))
            return float(r)
        # duals among them (a higher order): the plain floats divide as numpy does (1.0 / y)
        with np.errstate(all="ignore"):
            r = numpy_d(*(np.float64(a) if type(a) is float else a for a in args))
        return float(r) if isinstance(r, np.floating) else r


_chain = times  # the one guarded product of the chain rule (dualad.core.partials)


# first-order derivatives on plain floats: the lambdas call math directly
_FLOAT_DERIVED = _rebind(_raw_float)


def _make_scalar_fn(ufunc: Any, rule: Any,
                    float_path: Optional[Callable[..., Any]] = None) -> Callable[..., Any]:
    """``ufunc`` on scalar duals (the table's rule), DualNumbers (the ufunc itself) and plain
    floats (``float_path``; by default math's function with numpy's inf/nan where it raises)."""
    raw = _raw_float(ufunc, rule)
    numpy_float = _numpy_float(ufunc)
    if float_path is None:
        float_path = _safe(raw, ufunc) if raw is not numpy_float else raw
    kind, derivs, guard = rule.kind, rule.derivs, not rule.bounded
    nargs = len(derivs)
    fast = _FLOAT_DERIVED[ufunc]
    fast_d = fast[0] if kind == "unary" and fast is not None else None
    numpy_d = derivs[0]
    fn: Callable[..., Any]

    def on_scalars(*args):
        derived = _derived[ufunc]
        if derived is None:  # the shims lack what this rule needs: the array path
            return ufunc(*(to_dual(a) for a in args))
        tag = max(a.tag for a in args if type(a) is ScalarDual)
        values, tangents = zip(*(_split(a, tag) for a in args))
        a = _scalar_fn[ufunc](*values)
        if kind == "zero":
            t = 0.0
        elif kind == "linear":
            t = None
            for c, p in zip(derivs, tangents):
                if p is not None:
                    term = p if c == 1.0 else (-p if c == -1.0 else p * c)
                    t = term if t is None else t + term
        elif nargs == 2 and args[0] is args[1]:  # f(x, x): one chain rule, summed derivative
            t = _chain(tangents[0], _evaluate(derived[0], derivs[0], values + (a,))
                       + _evaluate(derived[1], derivs[1], values + (a,)), guard)
        else:
            t = None
            for sd, nd, p in zip(derived, derivs, tangents):
                if p is None:
                    continue
                if sd is None:
                    raise TypeError(f"dualad: {ufunc_name(ufunc)} cannot be differentiated "
                                    "with respect to this argument; pass a constant")
                term = _chain(p, _evaluate(sd, nd, values + (a,)), guard)
                t = term if t is None else t + term
        s = _S()
        s.value, s.tangent, s.tag = a, t, tag
        return s

    if fast_d is not None:
        def fn(x):
            if type(x) is ScalarDual:
                v = x.value
                if type(v) is not float:
                    return on_scalars(x)  # nested duals
                try:
                    a = raw(v)
                except _ERRORS:
                    a = numpy_float(v)
                try:
                    d = fast_d(v, a)
                except _ERRORS:
                    with np.errstate(all="ignore"):
                        d = float(numpy_d(np.float64(v), np.float64(a)))
                p = x.tangent
                s = _S()
                s.value = a
                s.tangent = 0.0 if guard and p == 0 and d - d != 0 else p * d
                s.tag = x.tag
                return s
            if isinstance(x, DualNumber):
                return ufunc(x)
            return float_path(x)
    elif nargs == 1:
        def fn(x):
            if type(x) is ScalarDual:
                return on_scalars(x)
            if isinstance(x, DualNumber):
                return ufunc(x)
            return float_path(x)
    else:
        def fn(*args):
            for a in args:
                if type(a) is ScalarDual:
                    if any(isinstance(b, DualNumber) for b in args):
                        break
                    return on_scalars(*args)
            if any(isinstance(b, DualNumber) for b in args):
                return ufunc(*(to_dual(b) for b in args))
            return float_path(*args)
    fn.__name__ = fn.__qualname__ = ufunc.__name__
    fn.__doc__ = f"{ufunc_name(ufunc)} on floats and scalar duals (the rule table's rule)."
    return fn


for _u, _r in RULES.items():
    _scalar_fn[_u] = _make_scalar_fn(_u, _r)
# derivatives on nested scalar duals: the lambdas call the scalar functions themselves
_derived.update(_rebind(lambda ufunc, rule: _scalar_fn[ufunc]))

_add, _sub, _mul, _div = (_scalar_fn[np.add], _scalar_fn[np.subtract], _scalar_fn[np.multiply],
                          _scalar_fn[np.true_divide])
_power, _floordiv = _scalar_fn[np.power], _scalar_fn[np.floor_divide]
_mod = _scalar_fn[np.remainder]
_abs_generic = _scalar_fn[np.absolute]
_NUMPY_SCALAR_OPS = {np.add: lambda x, y: x + y, np.subtract: lambda x, y: x - y,
                     np.multiply: lambda x, y: x * y, np.true_divide: lambda x, y: x / y,
                     np.negative: lambda x: -x}


def _abs(x):
    v = x.value
    if type(v) is float:
        s = _S()
        s.value = abs(v)
        s.tangent = x.tangent * _sign(v)
        s.tag = x.tag
        return s
    return _abs_generic(x)


def _mixed(x, y, fn):
    """An operator whose operands are not both floats or same-tag scalar duals."""
    for o in (x, y):
        if type(o) is not ScalarDual and not isinstance(o, (int, float)):
            if isinstance(o, (DualNumber, np.ndarray, np.generic)) or not isinstance(
                    o, numbers.Real):
                return NotImplemented  # numpy (then __array_ufunc__) or the other type decides
    x = x if type(x) is ScalarDual or type(x) is float else float(x)
    y = y if type(y) is ScalarDual or type(y) is float else float(y)
    return fn(x, y)


# --- dualad.math on scalar duals -----------------------------------------------------------
def math_functions(current: dict) -> dict:
    """Scalar-dual-aware versions of ``dualad.math``'s functions (``current``: its globals).

    Functions of the table run the scalar rule on scalar duals, ``math``'s own function on
    floats and the ufunc on ``DualNumber``s; the others turn scalar duals into 0-d
    ``DualNumber``s.
    """
    out = {}
    for ufunc, rule in RULES.items():
        if rule.math and hasattr(math, rule.math):
            out[rule.math] = _public(rule.math, getattr(math, rule.math), ufunc,
                                     current[rule.math].__doc__)
    log_s, log_current = _scalar_fn[np.log], current["log"]

    def log(x, base=math.e):
        if type(x) is ScalarDual or type(base) is ScalarDual:
            if type(base) is not ScalarDual and base == math.e:
                return log_s(x)
            return log_s(x) / log_s(base)
        return log_current(x, base)
    log.__doc__ = log_current.__doc__
    out["log"] = log
    for name in ("isfinite", "isinf", "isnan"):
        out[name] = _on_primal(getattr(math, name), current[name])
    for name, fn in current.items():
        if name in out or name.startswith("_") or not callable(fn):
            continue
        if getattr(fn, "__module__", None) == "dualad.math":
            out[name] = _converting(fn)
    return out


def _public(name, math_fn, ufunc, doc):
    scalar_fn = _scalar_fn[ufunc]
    if name == "hypot":  # variadic in math: hypot(*coordinates)
        def fn(*args):
            for a in args:
                if type(a) is ScalarDual or isinstance(a, DualNumber):
                    out = args[0]
                    for b in args[1:]:
                        out = scalar_fn(out, b)  # as functools.reduce in dualad.math
                    return out
            return math_fn(*args)
    elif len(RULES[ufunc].derivs) == 1:
        fn = _make_scalar_fn(ufunc, RULES[ufunc], float_path=math_fn)
    else:
        def fn(*args):
            for a in args:
                if type(a) is ScalarDual or isinstance(a, DualNumber):
                    return scalar_fn(*args)
            return math_fn(*args)  # floats: exactly math's result and errors
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    fn.__module__ = "dualad.math"
    return fn


def _on_primal(math_fn, current):
    def fn(x):
        return math_fn(primal(x)) if type(x) is ScalarDual else current(x)
    fn.__name__ = fn.__qualname__ = current.__name__
    fn.__doc__ = current.__doc__
    fn.__module__ = "dualad.math"
    return fn


def _converting(current):
    def fn(*args, **kwargs):
        # sequences (fsum, prod, dist) are read once, as math does
        # (a 0-d array-like number, a Taylor or HyperDual one, is a number here)
        args = [a if isinstance(a, (numbers.Number, ScalarDual, DualNumber, np.ndarray, str))
                or not hasattr(a, "__iter__") or getattr(a, "ndim", None) == 0 else list(a)
                for a in args]
        if any(type(a) is ScalarDual or isinstance(a, list) and any(
                type(e) is ScalarDual for e in a) for a in args):
            args = [[to_dual(e) for e in a] if isinstance(a, list) else to_dual(a)
                    for a in args]
        return current(*args, **kwargs)
    fn.__name__ = fn.__qualname__ = current.__name__
    fn.__doc__ = current.__doc__
    fn.__module__ = "dualad.math"
    return fn


# --- derivative on the scalar path -----------------------------------------------------------
_running, _counter = _tags._running, _tags._counter


def _strip(y, tag):
    """``y`` without the layers of finished helper calls (as ``api._drop_finished``)."""
    if type(y) is not ScalarDual:
        return y
    if y.tag > tag or _tags.finished(y.tag):
        return _strip(y.value, tag)
    value, tangent = _strip(y.value, tag), _strip(y.tangent, tag)
    if value is y.value and tangent is y.tangent:
        return y
    s = _S()
    s.value, s.tangent, s.tag = value, tangent, y.tag
    return s


def derivative(f: Callable[[Any], Any], x: Union[Real, ScalarDual], order: int = 1) -> Any:
    """The ``order``-th derivative of ``f`` at the scalar ``x``, run on scalar duals.

    ``dualad.derivative`` calls this for Python floats and ints; results are those of the
    array path (see the module docstring for the last-ulp caveat of transcendental functions).

    >>> derivative(lambda x: x ** 3 - 2 * x, 2.0)
    10.0
    >>> derivative(lambda x: x ** 3, 2.0, order=2)
    12.0
    """
    if order != 1:
        order = whole(order, "order", 0)
        if order == 0:
            return plain(as_output(f(x)))
        return derivative(lambda t: derivative(f, t, order - 1), x)
    tag = next(_counter)  # _tags.new_tag(), inlined
    seed = _S()
    seed.value = x if type(x) is ScalarDual or type(x) is float else _float(x)
    seed.tangent, seed.tag = 1.0, tag
    _running.add(tag)
    try:
        y = f(seed)
        if type(y) is ScalarDual and y.tag == tag:
            t = y.tangent
            return t if type(t) is float else _strip(t, tag)
        return _read(y, tag)
    finally:
        _running.discard(tag)


def _float(x: Real) -> float:
    """``float(x)`` of an int, a ValueError naming an int too large for float64 (10**400)."""
    try:
        return float(x)
    except OverflowError:
        raise int_too_large(int(x), "x") from None


def _read(y, tag):
    if type(y) is ScalarDual:
        y = _strip(y, tag)
        if type(y) is ScalarDual:
            return y.tangent if y.tag == tag else 0.0
    if type(y) is float or type(y) is int:
        return 0.0
    y = drop_finished(as_output(_to_dual_tree(y)), tag)
    return plain(extract(y, tag, 1)[1][..., 0])


hooks.as_array_dual[ScalarDual] = to_dual  # a scalar dual written into a DualNumber
