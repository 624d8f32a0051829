"""Derivative rules for ``scipy.special``'s ufuncs, put into the rule table on first use.

The lines below are keyed by name (a path in ``scipy.special``), so importing dualad imports
no scipy. The first time one of these ufuncs meets a perturbation (recognised by its name
and by identity; it can only exist once the user imported ``scipy.special``), ``rule_for``
installs all of them at once through ``table.install``, the path of ``register_ufunc``
(HyperDual and Taylor reach it through their nested-dual fallback): from then on ``RULES`` holds them like the table's own, for DualNumber,
HyperDual, Taylor, the scalar duals, the accel routes and the generated tests. Derivatives
call scipy's ufuncs (which have rules here), so second and higher derivatives come from the
same lines. An argument with derivative ``None`` must be a constant (a Bessel order, the
``a`` of ``gammainc``, the ``lmbda`` of ``boxcox``).

``ad.derivative(scipy.special.gammaln, 3.0)`` is ``scipy.special.psi(3.0)``.

Conventions where the function is not smooth (each the one-sided limit or the convention of
the value itself, as in the README's table):

- ``xlogy(0, y) = 0`` for every ``y``: d/dy is ``0`` at ``x = 0`` (also at ``y = 0``), d/dx
  is ``log(y)`` (``-inf`` at ``y = 0``). ``xlog1py``, ``rel_entr`` and ``kl_div`` alike
  (their ``x = 0`` edge); ``entr'(0) = +inf``.
- ``logit`` at 0 and 1, ``ndtri`` at 0 and 1, ``erfinv`` at +-1, ``erfcinv`` at 0 and 2:
  ``+-inf`` (the values are ``+-inf``).
- ``i0e``, ``ive`` (``exp(-|x|)`` times a Bessel function) at ``x = 0``: the mean of the two
  one-sided slopes, as ``|x|'(0) = 0``.
- ``expn(0, x)`` has derivative ``-expn(0, x) (1 + 1/x)`` (scipy has no ``expn(-1, x)``).
- At poles (``gamma``, ``rgamma``, ``psi`` at 0, -1, ...) derivatives are inf or nan.

Left out, their derivatives not exactly expressible with ufuncs that have rules (or not
elementwise with one output): ``exprel``, ``spence`` and ``ellipk``/``ellipe`` (removable
0/0 at one point), ``struve``, ``zetac``, ``airy``, ``sici``, ``fresnel`` (several
outputs), ``hyp1f1``, ``betainc`` (three arguments or more), ``huber`` (piecewise, infinite
for negative delta); derivatives in orders and shapes likewise. ``dawsn`` (F' = 1 - 2xF)
stays the worked example of ``register_ufunc`` in the docs and tests.
"""
import math
import sys
import threading
from typing import Any, Optional

import numpy as np

from ..errors import is_ufunc
from .table import DEG, LN2, LN10, RULES, TWO_OVER_SQRT_PI, Rule, _dpow_base, _dpow_exponent
from .table import install as _install

sc: Any = None  # scipy.special, bound by install(): the derivatives below call its ufuncs

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_PI_OVER_2 = math.sqrt(math.pi / 2.0)
INV_SQRT2 = 1.0 / math.sqrt(2.0)
HALF_SQRT_PI = math.sqrt(math.pi) / 2.0
INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
INV_2PI = 1.0 / (2.0 * math.pi)

SCIPY_RULES: dict[str, Rule] = {}  # path in scipy.special -> rule

_SYM = (-3.0, 3.0)
_POS = (0.2, 4.0)
_PROB = (0.05, 0.95)
_ORDER = (0.0, 3.0)  # integer orders are drawn for constant arguments


def _unary(name: str, d: Any, domain: Any = _SYM, bounded: bool = False) -> None:
    SCIPY_RULES[name] = Rule("unary", (d,), (domain,), None, bounded)


def _binary(name: str, dx: Any, dy: Any, domain: Any = (_SYM, _SYM),
            bounded: bool = False) -> None:
    SCIPY_RULES[name] = Rule("binary", (dx, dy), domain, None, bounded)


# --- the normal distribution, the logistic function -----------------------------------------
def _dlog_ndtr(x, ans):
    # phi(x) / Phi(x): for x <= 0 as sqrt(2/pi) / erfcx(-x/sqrt 2), free of the cancellation
    # in -x*x/2 - log_ndtr(x) (both huge for very negative x)
    return np.where(x > 0, INV_SQRT_2PI * np.exp(-0.5 * x * x - ans),
                    SQRT_2_OVER_PI / sc.erfcx(-x * INV_SQRT2))


def _dndtri_exp(y, ans):
    # 1 / log_ndtr'(ans) = Phi(ans) / phi(ans), the same two branches
    return np.where(ans > 0, SQRT_2PI * np.exp(y + 0.5 * ans * ans),
                    SQRT_PI_OVER_2 * sc.erfcx(-ans * INV_SQRT2))


_unary("ndtr", lambda x, a: INV_SQRT_2PI * np.exp(-0.5 * x * x), bounded=True)
_unary("log_ndtr", _dlog_ndtr)
_unary("ndtri", lambda p, a: SQRT_2PI * np.exp(0.5 * a * a), domain=_PROB)
_unary("ndtri_exp", _dndtri_exp, domain=(-3.0, -0.05))
_unary("expit", lambda x, a: a * sc.expit(-x), bounded=True)  # not a (1 - a): 1 - a cancels
_unary("log_expit", lambda x, a: sc.expit(-x), bounded=True)
_unary("logit", lambda p, a: 1.0 / (p * (1.0 - p)), domain=_PROB)

# --- error functions -------------------------------------------------------------------------
# erfcx'(x) = 2 x erfcx(x) - 2/sqrt(pi) cancels for large x (relative error ~ x^2 eps): from
# x = 12 on, its asymptotic series -1/sqrt(pi) sum_n (-1)^n (2n-1)!! (2n+1) / 2^n x^-(2n+2),
# whose 15th term is below 1e-19 of the first there
_ERFCX_SERIES = tuple((-1) ** n * math.prod(range(1, 2 * n, 2)) * (2 * n + 1) / 2.0 ** n
                      for n in range(14))


def _derfcx(x, ans):
    u = 1.0 / (x * x)
    series = 0.0
    for c in reversed(_ERFCX_SERIES):
        series = c + u * series
    return np.where(x > 12.0, -INV_SQRT_PI * u * series, 2.0 * x * ans - TWO_OVER_SQRT_PI)


_unary("erf", lambda x, a: TWO_OVER_SQRT_PI * np.exp(-(x * x)), bounded=True)
_unary("erfc", lambda x, a: -TWO_OVER_SQRT_PI * np.exp(-(x * x)), bounded=True)
_unary("erfi", lambda x, a: TWO_OVER_SQRT_PI * np.exp(x * x))
_unary("erfcx", _derfcx)
_unary("erfinv", lambda y, a: HALF_SQRT_PI * np.exp(a * a), domain=(-0.9, 0.9))
_unary("erfcinv", lambda y, a: -HALF_SQRT_PI * np.exp(a * a), domain=(0.1, 1.9))

# --- gamma and related -----------------------------------------------------------------------
_unary("gamma", lambda x, a: a * sc.psi(x), domain=_POS)
_unary("gammaln", lambda x, a: sc.psi(x), domain=_POS)
_unary("loggamma", lambda x, a: sc.psi(x), domain=_POS)  # real arguments
_unary("rgamma", lambda x, a: -a * sc.psi(x), domain=_POS)
_unary("psi", lambda x, a: sc._ufuncs._zeta(2.0, x), domain=_POS)  # polygamma(1, x); = digamma
SCIPY_RULES["gammasgn"] = Rule("zero", (None,), (_POS,))
# Hurwitz zeta(s, q), behind scipy.special.zeta(s, q) and polygamma: d/dq = -s zeta(s + 1, q)
_binary("_ufuncs._zeta", None, lambda s, q, a: -s * sc._ufuncs._zeta(s + 1.0, q),
        domain=((2.0, 4.0), _POS))
_binary("beta", lambda p, q, a: a * (sc.psi(p) - sc.psi(p + q)),
        lambda p, q, a: a * (sc.psi(q) - sc.psi(p + q)), domain=(_POS, _POS))
_binary("betaln", lambda p, q, a: sc.psi(p) - sc.psi(p + q),
        lambda p, q, a: sc.psi(q) - sc.psi(p + q), domain=(_POS, _POS))
_binary("poch", lambda z, m, a: a * (sc.psi(z + m) - sc.psi(z)),
        lambda z, m, a: a * sc.psi(z + m), domain=(_POS, (0.1, 3.0)))


# regularized incomplete gamma functions in x (the shape a is a constant): the gamma density
def _gamma_density(s, x):
    return np.exp(sc.xlogy(s - 1.0, x) - x - sc.gammaln(s))


_binary("gammainc", None, lambda s, x, a: _gamma_density(s, x), domain=((1.0, 4.0), _POS))
_binary("gammaincc", None, lambda s, x, a: -_gamma_density(s, x), domain=((1.0, 4.0), _POS))
_binary("gammaincinv", None, lambda s, y, a: 1.0 / _gamma_density(s, a),
        domain=((1.0, 4.0), (0.1, 0.9)))
_binary("gammainccinv", None, lambda s, y, a: -1.0 / _gamma_density(s, a),
        domain=((1.0, 4.0), (0.1, 0.9)))

# --- exponential integrals -------------------------------------------------------------------
_unary("exp1", lambda x, a: -np.exp(-x) / x, domain=_POS)
_unary("expi", lambda x, a: np.exp(x) / x, domain=_POS)
# E_n' = -E_(n-1) for n >= 1; E_0(x) = exp(-x) / x
_binary("expn", None, lambda n, x, a: np.where(n >= 1, -sc.expn(np.maximum(n - 1, 0), x),
                                                -a * (1.0 + 1.0 / x)), domain=((0.0, 3.0), _POS))

# --- information theory ------------------------------------------------------------------------


def _over(x, y):
    # x / y, with y taken as 1 where x == y == 0: the x = 0 convention's derivative 0 there,
    # and elsewhere (x = 0 < y too) the quotient itself, so that d/dx of it stays 1/y
    return x / np.where((x == 0) & (y == 0), 1.0, y)


_unary("entr", lambda x, a: -(np.log(x) + 1.0), domain=_POS)
_binary("rel_entr", lambda x, y, a: np.log(x / y) + 1.0, lambda x, y, a: -_over(x, y),
        domain=(_POS, _POS))
_binary("kl_div", lambda x, y, a: np.log(x / y), lambda x, y, a: 1.0 - _over(x, y),
        domain=(_POS, _POS))
_binary("xlogy", lambda x, y, a: np.log(y), lambda x, y, a: _over(x, y), domain=(_SYM, _POS))
_binary("xlog1py", lambda x, y, a: np.log1p(y), lambda x, y, a: _over(x, 1.0 + y),
        domain=(_SYM, (-0.9, 3.0)))

# --- Bessel functions: the order is a constant -------------------------------------------------
_unary("i0", lambda x, a: sc.i1(x))
_unary("i0e", lambda x, a: sc.i1e(x) - np.sign(x) * a, domain=_POS)  # exp(-|x|): kink at 0
# (scipy's iv(2, x) is NaN at subnormal x, where I_2 = x²/8 + ... underflows to 0 anyway)
_unary("i1", lambda x, a: 0.5 * (sc.i0(x) + sc.iv(2.0, x * (np.abs(x) >= 1e-300))))
_unary("i1e", lambda x, a: 0.5 * (sc.i0e(x) + sc.ive(2.0, x)) - np.sign(x) * a, domain=_POS)
_unary("j0", lambda x, a: -sc.j1(x), bounded=True)
_unary("j1", lambda x, a: 0.5 * (sc.j0(x) - sc.jv(2.0, x)), bounded=True)
_unary("y0", lambda x, a: -sc.y1(x), domain=_POS)
_unary("y1", lambda x, a: 0.5 * (sc.y0(x) - sc.yv(2.0, x)), domain=_POS)
_unary("k0", lambda x, a: -sc.k1(x), domain=_POS)
_unary("k1", lambda x, a: -0.5 * (sc.k0(x) + sc.kv(2.0, x)), domain=_POS)
_unary("k0e", lambda x, a: a - sc.k1e(x), domain=_POS)
_unary("k1e", lambda x, a: a - 0.5 * (sc.k0e(x) + sc.kve(2.0, x)), domain=_POS)
_binary("jv", None, lambda v, x, a: 0.5 * (sc.jv(v - 1.0, x) - sc.jv(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("jve", None, lambda v, x, a: 0.5 * (sc.jve(v - 1.0, x) - sc.jve(v + 1.0, x)),
        domain=(_ORDER, _POS))  # = jv for real x
_binary("yv", None, lambda v, x, a: 0.5 * (sc.yv(v - 1.0, x) - sc.yv(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("yve", None, lambda v, x, a: 0.5 * (sc.yve(v - 1.0, x) - sc.yve(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("yn", None, lambda n, x, a: 0.5 * (sc.yn(n - 1, x) - sc.yn(n + 1, x)),
        domain=(_ORDER, _POS))
_binary("iv", None, lambda v, x, a: 0.5 * (sc.iv(v - 1.0, x) + sc.iv(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("ive", None, lambda v, x, a: 0.5 * (sc.ive(v - 1.0, x) + sc.ive(v + 1.0, x))
        - np.sign(x) * a, domain=(_ORDER, _POS))
_binary("kv", None, lambda v, x, a: -0.5 * (sc.kv(v - 1.0, x) + sc.kv(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("kve", None, lambda v, x, a: a - 0.5 * (sc.kve(v - 1.0, x) + sc.kve(v + 1.0, x)),
        domain=(_ORDER, _POS))
_binary("kn", None, lambda n, x, a: -0.5 * (sc.kn(n - 1, x) + sc.kn(n + 1, x)),
        domain=(_ORDER, _POS))

# --- scipy's copies of elementary functions, and degrees ---------------------------------------
_unary("expm1", lambda x, a: a + 1.0)
_unary("log1p", lambda x, a: 1.0 / (1.0 + x), domain=(-0.9, 3.0))
_unary("exp2", lambda x, a: a * LN2)
_unary("exp10", lambda x, a: a * LN10)
_unary("cbrt", lambda x, a: 1.0 / (3.0 * a * a), domain=_POS)
_unary("cosm1", lambda x, a: -np.sin(x), bounded=True)
_binary("powm1", _dpow_base, lambda x, y, a: _dpow_exponent(x, y, np.power(x, y)),
        domain=(_POS, _SYM))
_unary("sindg", lambda x, a: DEG * sc.cosdg(x), domain=(-300.0, 300.0), bounded=True)
_unary("cosdg", lambda x, a: -DEG * sc.sindg(x), domain=(-300.0, 300.0), bounded=True)
_unary("tandg", lambda x, a: DEG * (1.0 + a * a), domain=(-60.0, 60.0))
_unary("cotdg", lambda x, a: -DEG * (1.0 + a * a), domain=(10.0, 170.0))
_unary("wrightomega", lambda x, a: a / (1.0 + a), bounded=True)

# --- Box-Cox transforms in x (lmbda is a constant) ---------------------------------------------
_binary("boxcox", lambda x, lm, a: np.power(x, lm - 1.0), None, domain=(_POS, (-2.0, 2.0)))
_binary("boxcox1p", lambda x, lm, a: np.power(1.0 + x, lm - 1.0), None,
        domain=((-0.5, 3.0), (-2.0, 2.0)))
_binary("inv_boxcox", lambda y, lm, a: np.power(a, 1.0 - lm), None,
        domain=((-0.4, 0.4), (-2.0, 2.0)))
_binary("inv_boxcox1p", lambda y, lm, a: np.power(1.0 + a, 1.0 - lm), None,
        domain=((-0.4, 0.4), (-2.0, 2.0)))


# --- Owen's T ----------------------------------------------------------------------------------
def _dowens_h(h, p, ans):
    return -0.5 * INV_SQRT_2PI * np.exp(-0.5 * h * h) * sc.erf(p * h * INV_SQRT2)


def _dowens_a(h, p, ans):
    q = 1.0 + p * p
    return INV_2PI * np.exp(-0.5 * h * h * q) / q


_binary("owens_t", _dowens_h, _dowens_a, bounded=True)


# --- installing -------------------------------------------------------------------------------
_LOCK = threading.Lock()
_installed: dict[Any, Rule] = {}  # ufunc -> rule, once installed


def unwrapped(f: Any) -> Any:
    # with SCIPY_ARRAY_API=1 scipy.special's functions are Python wrappers of the ufuncs
    while not is_ufunc(f) and getattr(f, "__wrapped__", None) is not None:
        f = f.__wrapped__
    return f


class _Ufuncs:
    """``scipy.special``'s ufuncs themselves (not its array-API wrappers), by name."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return unwrapped(getattr(self._module, name))


def _resolve(module: Any, path: str) -> Any:
    for part in path.split("."):
        module = getattr(module, part, None)
    module = unwrapped(module)
    return module if isinstance(module, np.ufunc) else None


def install() -> dict[Any, Rule]:
    """Install the rules above (importing ``scipy.special``); returns ``{ufunc: rule}`` for
    the ones this scipy has. A ufunc that already has a rule keeps it."""
    global sc
    import scipy.special  # (optional dependency: only here)
    with _LOCK:
        if not _installed:
            sc = _Ufuncs(scipy.special)
            for path, rule in SCIPY_RULES.items():
                ufunc = _resolve(scipy.special, path)
                if ufunc is not None:
                    if ufunc not in RULES:
                        _install(ufunc, rule)
                    _installed[ufunc] = RULES[ufunc]
    return dict(_installed)


# the ufuncs' own names (digamma's is psi): only these can trigger the installation
_NAMES = frozenset(path.rpartition(".")[2] for path in SCIPY_RULES)


def rule_for(ufunc: Any) -> Optional[Rule]:
    """``ufunc``'s rule, or None. A ufunc without one that may be one of the ``scipy.special``
    ufuncs above (its name is theirs, and ``scipy.special`` is imported: otherwise it cannot
    be) first installs their rules."""
    rule = RULES.get(ufunc)
    if (rule is None and not _installed and getattr(ufunc, "__name__", None) in _NAMES
            and "scipy.special" in sys.modules):
        install()
        rule = RULES.get(ufunc)
    return rule
