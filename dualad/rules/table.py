"""THE derivative rule table: one line per differentiable elementwise function.

Everything elementwise is driven from ``RULES`` (keyed by the numpy ufunc object): the
``__array_ufunc__`` dispatch, ``dualad.math`` and the generated tests. Derivatives are written
with numpy calls only, so that they also work when their arguments are duals themselves
(nested duals give higher derivatives from this same table).

Kinds, interpreted by ``apply_rule`` in ``core/ufunc.py``:

- ``unary``: ``d(x, ans)`` is f'(x); ``ans`` is f(x), reused where cheaper (exp, tanh, sqrt).
- ``binary``: ``(dx(x, y, ans), dy(x, y, ans))``; ``None`` marks an argument that must be a
  constant (an integer exponent of ``ldexp``, the order of ``polygamma``).
- ``linear``: constant coefficients per argument (no derivative function is evaluated).
- ``zero``: piecewise constant, derivative 0 everywhere it exists.

``bounded=True`` marks derivatives that are finite wherever the arguments are finite (sin,
tanh, maximum, ...): the chain rule then skips its 0 * inf guard.

``domain`` gives, per argument, an interval on which the function is smooth; tests draw
points from it. ``math`` names the mirror in Python's ``math`` module, if any.
"""
import dis
import functools
from typing import Any, Callable, NamedTuple, Optional, Tuple

import numpy as np

from .. import config
from . import special as sp

LN2 = float(np.log(2.0))  # Python floats keep float32 results float32 (NEP 50)
LN10 = float(np.log(10.0))
DEG = np.pi / 180.0
TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))


class Rule(NamedTuple):
    kind: str
    derivs: Tuple[Optional[Callable], ...]
    domain: Tuple[Tuple[float, float], ...]
    math: Optional[str] = None
    bounded: bool = False  # derivative finite wherever the arguments are: no 0*inf guard


RULES: dict[Any, Rule] = {}


def install(ufunc: Any, rule: Rule) -> None:
    """Put ``rule`` in the table for ``ufunc`` and drop what the caches derived from an
    earlier one: the one way in for rules added after import (``register_ufunc``, the
    ``scipy.special`` rules of ``rules/scipy_special.py``)."""
    RULES[ufunc] = rule
    config.forget(ufunc)


@functools.lru_cache(maxsize=None)
def arguments_read(d):
    """Which positional arguments the derivative function ``d`` reads, from its bytecode
    (``(x, ans)`` or ``(x, y, ans)``); all of them where its code cannot tell (no code,
    closures over its arguments, ``*args``).

    >>> arguments_read(lambda x, ans: ans)
    (False, True)
    """
    code = getattr(d, "__code__", None)
    if code is None:
        return None
    names = code.co_varnames[:code.co_argcount]
    if code.co_cellvars or code.co_flags & 0x0C:  # cells, *args, **kwargs
        return (True,) * len(names)
    used = set()
    for ins in dis.get_instructions(code):
        if ins.opname.startswith("LOAD_"):  # also 3.13's LOAD_FAST_LOAD_FAST (two names)
            used.update(ins.argval if isinstance(ins.argval, tuple) else (ins.argval,))
    return tuple(name in used for name in names)


_SYM = (-3.0, 3.0)
_POS = (0.1, 4.0)
_UNIT = (-0.9, 0.9)


def _unary(f, d, domain=_SYM, math=None, bounded=False):
    RULES[f] = Rule("unary", (d,), (domain,), math, bounded)


def _binary(f, dx, dy, domain=(_SYM, _SYM), math=None, bounded=False):
    RULES[f] = Rule("binary", (dx, dy), domain, math, bounded)


def _linear(f, *coefs, domain=None, math=None):
    RULES[f] = Rule("linear", coefs, domain or (_SYM,) * len(coefs), math)


def _zero(f, nargs=1, domain=None, math=None):
    RULES[f] = Rule("zero", (None,) * nargs, domain or (_SYM,) * nargs, math)


# --- linear ------------------------------------------------------------------------------
_linear(np.add, 1.0, 1.0)
_linear(np.subtract, 1.0, -1.0)
_linear(np.negative, -1.0)
_linear(np.positive, 1.0)
_linear(np.conjugate, 1.0)
_linear(np.deg2rad, DEG)
_linear(np.radians, DEG, math="radians")
_linear(np.rad2deg, 1.0 / DEG)
_linear(np.degrees, 1.0 / DEG, math="degrees")

# --- arithmetic --------------------------------------------------------------------------
_binary(np.multiply, lambda x, y, a: y, lambda x, y, a: x)
_binary(np.divide, lambda x, y, a: 1.0 / y, lambda x, y, a: -a / y,
        domain=(_SYM, _POS))
_binary(np.true_divide, lambda x, y, a: 1.0 / y, lambda x, y, a: -a / y,
        domain=(_SYM, _POS))
_unary(np.reciprocal, lambda x, a: -(a * a), domain=_POS)
_unary(np.square, lambda x, a: 2.0 * x)
_unary(np.sqrt, lambda x, a: 0.5 / a, domain=_POS, math="sqrt")
_unary(np.cbrt, lambda x, a: 1.0 / (3.0 * a * a), domain=_POS, math="cbrt")

# --- exponentials and logarithms ---------------------------------------------------------
_unary(np.exp, lambda x, a: a, math="exp")
_unary(np.exp2, lambda x, a: a * LN2, math="exp2")
_unary(np.expm1, lambda x, a: a + 1.0, math="expm1")
_unary(np.log, lambda x, a: 1.0 / x, domain=_POS)
_unary(np.log2, lambda x, a: 1.0 / (x * LN2), domain=_POS, math="log2")
_unary(np.log10, lambda x, a: 1.0 / (x * LN10), domain=_POS, math="log10")
_unary(np.log1p, lambda x, a: 1.0 / (1.0 + x), domain=(-0.9, 3.0), math="log1p")
_binary(np.logaddexp, lambda x, y, a: np.exp(x - a), lambda x, y, a: np.exp(y - a), bounded=True)
_binary(np.logaddexp2, lambda x, y, a: np.exp2(x - a), lambda x, y, a: np.exp2(y - a), bounded=True)

# --- trigonometric and hyperbolic --------------------------------------------------------
_unary(np.sin, lambda x, a: np.cos(x), math="sin", bounded=True)
_unary(np.cos, lambda x, a: -np.sin(x), math="cos", bounded=True)
_unary(np.tan, lambda x, a: 1.0 + a * a, domain=(-1.2, 1.2), math="tan")
_unary(np.arcsin, lambda x, a: 1.0 / np.sqrt(1.0 - x * x), domain=_UNIT, math="asin")
_unary(np.arccos, lambda x, a: -1.0 / np.sqrt(1.0 - x * x), domain=_UNIT, math="acos")
_unary(np.arctan, lambda x, a: 1.0 / (1.0 + x * x), math="atan", bounded=True)
_binary(np.arctan2, lambda y, x, a: x / (x * x + y * y), lambda y, x, a: -y / (x * x + y * y),
        domain=(_SYM, _POS), math="atan2")
_unary(np.sinh, lambda x, a: np.cosh(x), math="sinh")
_unary(np.cosh, lambda x, a: np.sinh(x), math="cosh")
_unary(np.tanh, lambda x, a: 1.0 - a * a, math="tanh", bounded=True)
_unary(np.arcsinh, lambda x, a: 1.0 / np.sqrt(x * x + 1.0), math="asinh")
_unary(np.arccosh, lambda x, a: 1.0 / np.sqrt(x * x - 1.0), domain=(1.1, 4.0), math="acosh")
_unary(np.arctanh, lambda x, a: 1.0 / (1.0 - x * x), domain=_UNIT, math="atanh")

# --- special functions (numba ufuncs, see rules/special.py) -----------------------------------
_unary(sp.erf, lambda x, a: TWO_OVER_SQRT_PI * np.exp(-(x * x)), math="erf", bounded=True)
_unary(sp.erfc, lambda x, a: -TWO_OVER_SQRT_PI * np.exp(-(x * x)), math="erfc", bounded=True)
_unary(sp.gamma, lambda x, a: a * sp.digamma(x), domain=(0.2, 4.0), math="gamma")
_unary(sp.lgamma, lambda x, a: sp.digamma(x), domain=(0.2, 4.0), math="lgamma")
_unary(sp.digamma, lambda x, a: sp.polygamma(1.0, x), domain=(0.2, 4.0))
_binary(sp.polygamma, None, lambda n, x, a: sp.polygamma(n + 1.0, x),
        domain=((1.0, 3.0), (0.2, 4.0)))

# --- piecewise smooth: the conventions at kinks are in the README's table ----------------
_unary(np.absolute, lambda x, a: np.sign(x), bounded=True)  # |x|'(0) = 0
_unary(np.fabs, lambda x, a: np.sign(x), math="fabs", bounded=True)
_binary(np.maximum, lambda x, y, a: x >= y, lambda x, y, a: x < y, bounded=True)  # ties: first argument
_binary(np.minimum, lambda x, y, a: x <= y, lambda x, y, a: x > y, bounded=True)
_binary(np.fmax, lambda x, y, a: (x >= y) | np.isnan(y), lambda x, y, a: (x < y) | np.isnan(x), bounded=True)
_binary(np.fmin, lambda x, y, a: (x <= y) | np.isnan(y), lambda x, y, a: (x > y) | np.isnan(x), bounded=True)


def _safe_div(u, v):
    # u / v with 0 where v == 0: hypot(0, 0) takes the same convention as norm at 0
    return np.where(v == 0, 0.0, u / np.where(v == 0, 1.0, v))


_binary(np.hypot, lambda x, y, a: _safe_div(x, a), lambda x, y, a: _safe_div(y, a),
        math="hypot")
_binary(np.copysign, lambda x, y, a: np.where(np.signbit(x) == np.signbit(y), 1.0, -1.0),
        lambda x, y, a: 0.0, domain=(_POS, _SYM), math="copysign")
# x mod y = x - floor(x / y) * y, away from the jumps
_binary(np.remainder, lambda x, y, a: 1.0, lambda x, y, a: -np.floor(x / y),
        domain=(_POS, (4.5, 5.5)))  # math.remainder rounds to nearest: see math.py
_binary(np.mod, lambda x, y, a: 1.0, lambda x, y, a: -np.floor(x / y),
        domain=(_POS, (4.5, 5.5)))
_binary(np.fmod, lambda x, y, a: 1.0, lambda x, y, a: -np.trunc(x / y),
        domain=(_POS, (4.5, 5.5)), math="fmod")
_binary(np.ldexp, lambda x, i, a: np.ldexp(1.0, i), None, domain=(_SYM, (-3, 3)),
        math="ldexp")
_binary(np.nextafter, lambda x, y, a: 1.0, lambda x, y, a: 0.0, math="nextafter")


# --- powers (special cases at base 0, each with its reason) ------------------------------
def _dpow_base(x, y, ans):
    # y * x**(y-1); at y == 0 the result is constant 1, so 0 * inf at x == 0 must not be nan.
    d = y * np.power(x, y - 1.0)
    return d if np.all(y != 0) else np.where(y == 0, 0.0, d)


def _dpow_exponent(x, y, ans):
    # x**y * log(x); at x == 0 (y > 0) the power is constant 0 in y.
    return np.where(x == 0, 0.0, ans * np.log(np.where(x == 0, 1.0, x)))


_binary(np.power, _dpow_base, _dpow_exponent, domain=(_POS, _SYM), math="pow")
_binary(np.float_power, _dpow_base, _dpow_exponent, domain=(_POS, _SYM))

# --- zero derivative ---------------------------------------------------------------------
_zero(np.sign)
_zero(np.floor, math="floor")
_zero(np.ceil, math="ceil")
_zero(np.trunc, math="trunc")
_zero(np.rint)
_zero(np.spacing)
_zero(np.floor_divide, 2, domain=(_POS, (4.5, 5.5)))
# heaviside(x, h0) is h0 exactly where x == 0
_binary(np.heaviside, lambda x, h, a: 0.0, lambda x, h, a: np.where(x == 0, 1.0, 0.0))

#: the table's own rules (what ``install`` adds later, ``register_ufunc``'s and scipy.special's,
#: is not among them)
OWN: dict[Any, Rule] = dict(RULES)

config.register_cache("rules.arguments_read", arguments_read.cache_clear)
