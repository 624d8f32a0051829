"""Taylor mode: high-order derivatives against independent oracles and against nested duals.

Oracles: closed forms, sympy (a test-only dependency; skipped when absent) and the Cauchy
integral formula evaluated with complex numpy on a circle around the point,
f^(k)(x) = k! / r^k * mean_j f(x + r e^(i theta_j)) e^(-i k theta_j),
which is exact up to rounding for functions analytic on a disc of radius > r (the error of
the trapezoidal rule falls like (r / R)^N). It shares nothing with dualad.
"""
import math

import numpy as np
import pytest

import dualad as ad
from dualad import Taylor
from dualad.higher import taylor
from dualad.rules.table import RULES
from dualad.higher.taylor import TaylorUnsupported

from _oracles import live_arguments, rule_cases


def cauchy_derivatives(f, x, order, r=0.5, n=256):
    """f^(k)(x) for k = 0..order from samples of the complex-analytic f on a circle."""
    theta = 2 * np.pi * np.arange(n) / n
    samples = f(x + r * np.exp(1j * theta))
    coeffs = np.fft.fft(samples) / n  # c_k r^k
    k = np.arange(order + 1)
    fact = np.array([math.factorial(j) for j in k], dtype=float)
    return (coeffs[:order + 1] / r ** k).real * fact


def nested(f, x, k):
    """The k-th derivative by k nested first derivatives (never Taylor mode)."""
    if k == 0:
        return f(x)
    return ad.derivative(lambda t: nested(f, t, k - 1), x)


def rel_err(got, expected):
    got, expected = np.asarray(got, float), np.asarray(expected, float)
    return np.max(np.abs(got - expected) / (1.0 + np.abs(expected)))


# --- the acceptance check: order 10 of a composite function -----------------------
def composite(x):
    return np.exp(np.sin(x)) / (1.0 + x * x)


@pytest.mark.parametrize("x", [0.7, -1.3, 0.0])
def test_order_10_of_a_composite_against_cauchy(x):
    # poles at +-i: the circle of radius 0.6 stays at distance >= 0.4 from them
    expected = cauchy_derivatives(composite, x, 10, r=0.6, n=512)
    got = [ad.derivative(composite, x, order=k) for k in range(11)]
    for k in range(11):
        assert abs(got[k] - expected[k]) <= 1e-10 * abs(expected[k]) + 1e-12, k


def test_order_10_of_a_composite_against_sympy():
    sympy = pytest.importorskip("sympy")
    s = sympy.symbols("s", real=True)
    expr = sympy.exp(sympy.sin(s)) / (1 + s ** 2)
    x = 0.7
    derivs, d = [], expr
    for k in range(11):
        derivs.append(float(sympy.N(d.subs(s, sympy.Float(x, 40)), 30)))
        d = sympy.diff(d, s)
    got = ad.derivative(composite, x, order=10)
    assert abs(got - derivs[10]) <= 1e-10 * abs(derivs[10]), (got, derivs[10])
    # the whole Taylor polynomial at once: true coefficients f^(k) / k!
    t = composite(Taylor.variable(x, 10))
    coeffs = [dk / math.factorial(k) for k, dk in enumerate(derivs)]
    assert rel_err(t.coeffs, coeffs) <= 1e-12


def test_derivative_of_order_3_and_above_runs_in_taylor_mode():
    seen = []

    def f(x):
        seen.append(type(x))
        return np.sin(x) * x
    ad.derivative(f, 0.3, order=5)
    assert seen == [Taylor]  # one pass, no nested duals


def test_taylor_coefficients_are_not_factorial_scaled():
    t = np.exp(Taylor.variable(0.0, 40))
    k = np.arange(41)
    expected = np.array([1.0 / math.factorial(j) for j in k])
    assert rel_err(t.coeffs, expected) <= 1e-15
    assert ad.derivative(np.exp, 0.0, order=25) == pytest.approx(1.0, rel=1e-13)
    # a high order that would overflow as k! * c_k only when read out
    big = np.exp(Taylor.variable(0.0, 200)).coeffs
    assert np.all(np.isfinite(big)) and big[170] > 0.0


# --- every rule through the generic route, against nested duals ---------------------------
NAMES = {f: f.__name__ for f in RULES}
CASES = rule_cases()
_live = live_arguments


def _point(ufunc):
    """A point well inside the domain, away from kinks (middle-ish, fixed offsets)."""
    rule = RULES[ufunc]
    p = []
    for k, (lo, hi) in enumerate(rule.domain):
        if k not in _live(rule):
            p.append(np.int64(round(lo + 0.5 * (hi - lo))) if ufunc is np.ldexp
                     else float(round(lo + 0.5 * (hi - lo))))
        else:
            p.append(lo + (0.62 if k == 0 else 0.41) * (hi - lo))
    return p


ORDER = 4
GENERIC_CASES = [pytest.param(f, id=NAMES[f]) for f in RULES]


@pytest.mark.parametrize("ufunc", GENERIC_CASES)
def test_generic_route_matches_nested_duals(ufunc):
    """c' = f'(a) a', order by order, for every rule (also those with a recurrence)."""
    rule = RULES[ufunc]
    live = _live(rule)
    point = _point(ufunc)
    # a curved path through the point: x_i(t) = p_i + u_i t + w_i t^2
    u, w = [1.0, -0.7], [0.3, 0.2]

    def path(t, i):
        return point[i] + u[i] * t + w[i] * t * t

    def g(t):
        args = list(point)
        for i in live:
            args[i] = path(t, i)
        return ufunc(*args)
    inputs = list(point)
    for i in live:
        c = np.zeros(ORDER + 1)
        c[:3] = point[i], u[i], w[i]
        inputs[i] = Taylor(c)
    generic = taylor.apply_rule(ufunc, rule, inputs).derivatives()
    public = ufunc(*inputs).derivatives()  # the dedicated recurrence where there is one
    expected = [nested(g, 0.0, k) for k in range(ORDER + 1)]
    assert rel_err(generic, expected) <= 1e-11, (generic, expected)
    assert rel_err(public, expected) <= 1e-11, (public, expected)
    assert ad.derivative(g, 0.0, order=ORDER) == pytest.approx(expected[ORDER], rel=1e-11,
                                                                abs=1e-11)


# --- the dedicated recurrences at order 6, against closed forms and sympy ------------------
K = 6
ks = np.arange(K + 1)
FACT = np.array([math.factorial(k) for k in ks], dtype=float)
X = 0.3


def _falling(r, k):
    return np.prod([r - j for j in range(k)]) if k else 1.0


CLOSED_FORMS = {
    "exp": (np.exp, lambda x: np.exp(x) * np.ones(K + 1)),
    "exp(2x+1)": (lambda x: np.exp(2 * x + 1), lambda x: 2.0 ** ks * np.exp(2 * x + 1)),
    "exp2": (np.exp2, lambda x: np.exp2(x) * np.log(2) ** ks),
    "2**x (Taylor exponent)": (lambda x: 2.0 ** x, lambda x: 2.0 ** x * np.log(2) ** ks),
    "expm1": (np.expm1, lambda x: np.where(ks == 0, np.expm1(x), np.exp(x))),
    "1/(1-x) divide": (lambda x: 1.0 / (1.0 - x), lambda x: FACT / (1 - x) ** (ks + 1)),
    "1/(1-x) reciprocal": (lambda x: np.reciprocal(1.0 - x),
                           lambda x: FACT / (1 - x) ** (ks + 1)),
    "x/(1+x) two Taylors": (lambda x: x / (1.0 + x),
                            lambda x: np.where(ks == 0, x / (1 + x),
                                               (-1.0) ** (ks + 1) * FACT / (1 + x) ** (ks + 1))),
    "x/2 by constant": (lambda x: x / 2.0, lambda x: np.array([x / 2, 0.5] + [0.0] * (K - 1))),
    "log(1+x)": (lambda x: np.log(1.0 + x),
                 lambda x: np.array([np.log(1 + x)] + [(-1.0) ** (k - 1) * math.factorial(k - 1)
                                                       / (1 + x) ** k for k in ks[1:]])),
    "log2": (np.log2, lambda x: np.array([np.log2(x)] + [(-1.0) ** (k - 1)
                                          * math.factorial(k - 1) / x ** k / np.log(2)
                                          for k in ks[1:]])),
    "log10": (np.log10, lambda x: np.array([np.log10(x)] + [(-1.0) ** (k - 1)
                                            * math.factorial(k - 1) / x ** k / np.log(10)
                                            for k in ks[1:]])),
    "sin": (np.sin, lambda x: np.sin(x + ks * np.pi / 2)),
    "cos": (np.cos, lambda x: np.cos(x + ks * np.pi / 2)),
    "sin(3x)": (lambda x: np.sin(3 * x), lambda x: 3.0 ** ks * np.sin(3 * x + ks * np.pi / 2)),
    "sinh": (np.sinh, lambda x: np.where(ks % 2 == 0, np.sinh(x), np.cosh(x))),
    "cosh": (np.cosh, lambda x: np.where(ks % 2 == 0, np.cosh(x), np.sinh(x))),
    "x**2.5": (lambda x: x ** 2.5, lambda x: np.array([_falling(2.5, k) * x ** (2.5 - k)
                                                      for k in ks])),
    "x**-3 (integer)": (lambda x: x ** -3, lambda x: np.array([_falling(-3, k) * x ** (-3 - k)
                                                              for k in ks])),
    "x**7 (natural)": (lambda x: x ** 7, lambda x: np.array([_falling(7, k) * x ** (7 - k)
                                                            for k in ks])),
    "sqrt": (np.sqrt, lambda x: np.array([_falling(0.5, k) * x ** (0.5 - k) for k in ks])),
    "cbrt": (np.cbrt, lambda x: np.array([_falling(1 / 3, k) * x ** (1 / 3 - k) for k in ks])),
    "square": (np.square, lambda x: np.array([x * x, 2 * x, 2.0] + [0.0] * (K - 2))),
    "float_power": (lambda x: np.float_power(x, 1.5),
                    lambda x: np.array([_falling(1.5, k) * x ** (1.5 - k) for k in ks])),
}


@pytest.mark.parametrize("name", list(CLOSED_FORMS))
def test_recurrences_against_closed_forms(name):
    f, closed = CLOSED_FORMS[name]
    for x in (X, 1.7):
        got = f(Taylor.variable(x, K)).derivatives()
        assert rel_err(got, closed(x)) <= 1e-12, (name, x, got, closed(x))
        assert ad.derivative(f, x, order=K) == pytest.approx(closed(x)[K], rel=1e-12)


#: compositions (the recurrences on inputs with all coefficients set), vs the Cauchy formula
COMPOSITIONS = {
    "x**x (Taylor exponent)": (lambda x: x ** x, lambda z: np.exp(z * np.log(z))),
    "(1+x^2)**x": (lambda x: (1 + x * x) ** x, lambda z: np.exp(z * np.log(1 + z * z))),
    "sqrt(1+x^2)": (lambda x: np.sqrt(1 + x * x), lambda z: np.sqrt(1 + z * z)),
    "cbrt(2+x^2)": (lambda x: np.cbrt(2 + x * x), lambda z: (2 + z * z) ** (1 / 3)),
    "exp(sin x)": (lambda x: np.exp(np.sin(x)), lambda z: np.exp(np.sin(z))),
    "log(2+cos x)": (lambda x: np.log(2 + np.cos(x)), lambda z: np.log(2 + np.cos(z))),
    "sinh(x^2)/cosh(x)": (lambda x: np.sinh(x * x) / np.cosh(x),
                          lambda z: np.sinh(z * z) / np.cosh(z)),
    "cos(x)/(1+exp(x))": (lambda x: np.cos(x) / (1 + np.exp(x)),
                          lambda z: np.cos(z) / (1 + np.exp(z))),
    "reciprocal(1+x^2)": (lambda x: np.reciprocal(1 + x * x), lambda z: 1 / (1 + z * z)),
    "x**1.5 * log1p(x)": (lambda x: x ** 1.5 * np.log1p(x),
                          lambda z: z ** 1.5 * np.log(1 + z)),
    "tanh(arctan(x))": (lambda x: np.tanh(np.arctan(x)), lambda z: np.tanh(np.arctan(z))),
}


@pytest.mark.parametrize("name", list(COMPOSITIONS))
def test_compositions_against_cauchy(name):
    f, fz = COMPOSITIONS[name]
    for x in (0.6, 1.2):
        expected = cauchy_derivatives(fz, x, K, r=0.3, n=256)
        got = f(Taylor.variable(x, K)).derivatives()
        assert rel_err(got, expected) <= 1e-10, (name, x, got, expected)
        assert nested(f, x, 3) == pytest.approx(got[3], rel=1e-11)


def test_recurrences_against_sympy():
    sympy = pytest.importorskip("sympy")
    s = sympy.symbols("s", positive=True)
    cases = [
        (lambda x: np.exp(x) * np.log(x) / np.sqrt(x), sympy.exp(s) * sympy.log(s) / sympy.sqrt(s)),
        (lambda x: np.sin(x) ** 3 * np.cosh(x), sympy.sin(s) ** 3 * sympy.cosh(s)),
        (lambda x: x ** (np.sin(x) + 2), s ** (sympy.sin(s) + 2)),
        (lambda x: np.cbrt(x) / (1 + x) ** 2.5, s ** sympy.Rational(1, 3) / (1 + s) ** 2.5),
    ]
    x = 0.8
    for f, expr in cases:
        expected = [float(sympy.N(sympy.diff(expr, s, k).subs(s, sympy.Float(x, 40)), 30))
                    for k in range(K + 1)]
        got = f(Taylor.variable(x, K)).derivatives()
        assert rel_err(got, expected) <= 1e-11, (expr, got, expected)


# --- functions Taylor mode does not cover: nested duals take over --------------------------
A_FALLBACK = 0.5
_a = 1 + 1j  # x sin(x) e^x = Im(x e^{a x})


def _mat(rows):
    return np.stack([np.stack(r) for r in rows])


FALLBACKS = {
    # d^k [x e^{a x}] = (a^k x + k a^(k-1)) e^{a x}
    "prod": (lambda x: np.prod(np.stack([x, np.sin(x), np.exp(x)])),
             lambda x, k: ((_a ** k * x + k * _a ** (k - 1)) * np.exp(_a * x)).imag),
    # det [[x, 1], [x^2, e^x]] = x e^x - x^2: (x + k) e^x for k >= 3
    "linalg.det": (lambda x: np.linalg.det(_mat([[x, 1 + 0 * x], [x * x, np.exp(x)]])),
                   lambda x, k: (x + k) * np.exp(x)),
    # inv [[1+x, x], [0, 2]] [0, 0] = 1 / (1 + x)
    "linalg.inv": (lambda x: np.linalg.inv(_mat([[1 + x, x], [0 * x, 2 + 0 * x]]))[0, 0],
                   lambda x, k: (-1) ** k * math.factorial(k) / (1 + x) ** (k + 1)),
    # solve [[2, x], [0, 1+x]] y = [1, 1]: y_1 = 1 / (1 + x)
    "linalg.solve": (lambda x: np.linalg.solve(_mat([[2 + 0 * x, x], [0 * x, 1 + x]]),
                                               np.array([1.0, 1.0]))[1],
                     lambda x, k: (-1) ** k * math.factorial(k) / (1 + x) ** (k + 1)),
}


@pytest.mark.parametrize("name", list(FALLBACKS))
@pytest.mark.parametrize("k", [3, 5])
def test_fallback_to_nested_duals(name, k):
    f, closed = FALLBACKS[name]
    with pytest.raises(TaylorUnsupported):  # the fallback is really exercised
        f(Taylor.variable(A_FALLBACK, k))
    got = ad.derivative(f, A_FALLBACK, order=k)
    assert got == pytest.approx(closed(A_FALLBACK, k), rel=1e-11)


# --- natural powers at a zero base ---------------------------------------------------------
def test_natural_powers_at_zero():
    assert ad.derivative(lambda x: x ** 3, 0.0, order=3) == 6.0
    assert ad.derivative(lambda x: x ** 3, 0.0, order=4) == 0.0
    assert ad.derivative(lambda x: x ** 2, 0.0, order=3) == 0.0
    assert ad.derivative(lambda x: x ** 5, 0.0, order=5) == 120.0
    assert ad.derivative(lambda x: x ** 3.0, 0.0, order=3) == 6.0
    assert Taylor.variable(0.0, 5).__pow__(3).derivatives().tolist() == \
        [0.0, 0.0, 0.0, 6.0, 0.0, 0.0]
    assert ad.derivative(lambda x: (x - 1.0) ** 4, 1.0, order=4) == 24.0
    assert ad.derivative(lambda x: np.square(x) * x, 0.0, order=3) == 6.0
    c = (Taylor.variable(0.0, 4) ** 0).derivatives()  # x**0 = 1, no 0 * inf
    assert c.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    # a base so small that its square underflows: the value is 0, the derivatives are not
    tiny = 5.8495773558740086e-226
    assert (Taylor.variable(tiny, 3) ** 2).derivatives().tolist() == [0.0, 2 * tiny, 2.0, 0.0]
    assert ad.derivative(lambda x: np.log1p(x ** 2), tiny, order=4) == pytest.approx(-12.0)
    assert ad.derivative(lambda x: x ** 3, -tiny, order=3) == 6.0
    # a vector of bases, zeros included
    d = ad.derivative(lambda x: np.stack([x, x + 1.0]) ** 3, 0.0, order=3)
    assert np.asarray(d).tolist() == [6.0, 6.0]


# --- arrays, linear functions and products in Taylor mode ----------------------------------
def test_array_valued_function():
    A = np.array([[1.0, 2.0], [-0.5, 3.0]])

    def f(x):
        v = np.stack([np.sin(x), np.exp(-x), x ** 3])
        return np.concatenate([A @ v[:2], [np.sum(v) * v[2]], np.dot(v, v)[None]])
    x = 0.4
    got = np.asarray(ad.derivative(f, x, order=5))
    expected = np.asarray(nested(f, x, 5))
    assert got.shape == (4,)
    assert rel_err(got, expected) <= 1e-11


def test_order_mismatch_and_dtype():
    with pytest.raises(ValueError, match="order"):
        Taylor.variable(1.0, 3) * Taylor.variable(1.0, 4)
    t = Taylor.variable(np.array([0.5, 1.5], np.float32), 4)
    assert t.dtype == np.float32
    y = np.exp(np.sin(t)) / (1.0 + t * t) + np.sqrt(t) * np.log(t)
    assert y.dtype == np.float32
    expected = (np.exp(np.sin(Taylor.variable(np.array([0.5, 1.5]), 4)))
                / (1.0 + Taylor.variable(np.array([0.5, 1.5]), 4) ** 2)
                + np.sqrt(Taylor.variable(np.array([0.5, 1.5]), 4))
                * np.log(Taylor.variable(np.array([0.5, 1.5]), 4)))
    assert np.allclose(y.coeffs, expected.coeffs, rtol=1e-5, atol=1e-5)
    assert Taylor.variable(3, 2).dtype == np.float64


@pytest.mark.parametrize("f", [lambda t: (-2.0) ** (0.0 * t + 3.0) + t,
                               lambda t: np.log(t * 0.0) + t,
                               lambda t: np.arcsin(t * 0.0 + 1.0) + t,
                               lambda t: np.sqrt(t * 0.0) + t])
def test_constant_operands_give_no_nan_at_high_orders(f):
    # orders 1 and 2 (duals) guard 0 · inf = 0 where a tangent is zero; Taylor mode too:
    # each f is a constant (finite or not) plus t, so its derivatives are 1, 0, 0, ...
    with np.errstate(divide="ignore", invalid="ignore"):  # (log 0 warns, as numpy's does)
        for k in range(1, 6):
            assert ad.derivative(f, 1.0, order=k) == (1.0 if k == 1 else 0.0), k


def test_array_exponents_and_math_functions_in_taylor_mode():
    # vander: a column of powers with an array of exponents; Σ = (t² + t + 1) + (4t² + 2t + 1)
    vander = lambda t: np.sum(np.vander(np.stack([t, 2.0 * t]), 3))  # noqa: E731
    assert [ad.derivative(vander, 1.3, order=k) for k in (2, 3, 4)] == [10.0, 0.0, 0.0]
    powers = np.array([0.5, 1.5, 2.5])
    want = sum(r * (r - 1) * (r - 2) * 1.3 ** (r - 3) for r in powers)
    assert ad.derivative(lambda t: np.sum(t ** powers), 1.3, order=3) == pytest.approx(want)
    # dualad.math on a Taylor number (math.remainder(3t, 2) is 3t - 4 near t = 1.3)
    assert ad.derivative(lambda t: ad.math.remainder(3.0 * t, 2.0) * t, 1.3, order=3) == 0.0
    assert ad.derivative(lambda t: ad.math.remainder(3.0 * t, 2.0) * t, 1.3, order=2) == 6.0


def test_ndarray_methods_taylor_lacks_take_nested_duals():
    c = np.array([1.0, 2.0])
    # Σ (c t)⁴ = 17 t⁴ and mean(c t)⁵ = (1.5 t)⁵: third derivatives 408 t and 1.5⁵ · 60 t²
    assert ad.derivative(lambda t: np.sum((c * t).ravel() ** 4), 0.7, order=3) == \
        pytest.approx(408 * 0.7, rel=1e-13)
    assert ad.derivative(lambda t: (c * t).mean() ** 5, 0.7, order=3) == \
        pytest.approx(1.5 ** 5 * 60 * 0.7 ** 2, rel=1e-13)
    assert ad.derivative(lambda t: (c * t).max() ** 4, 0.7, order=4) == pytest.approx(24 * 16)


def _nested(f, k):
    # the k-th derivative by nesting first-order duals, not Taylor mode
    for _ in range(k):
        f = (lambda g: lambda y: ad.derivative(g, y))(f)
    return f


@pytest.mark.parametrize("k", [1, 2, 3, 4, 6])
def test_zero_base_power_is_constant_in_the_exponent_at_every_order(k):
    # README: d/dy 0**y = 0; Taylor mode gave nan from order 3 (exp(y log 0))
    for y in (0.14, 2.5, -0.7):
        assert ad.derivative(lambda e: np.power(0.0, e), y, order=k) == 0.0
        assert ad.derivative(lambda e: np.float_power(0.0, e), y, order=k) == 0.0
        assert ad.derivative(lambda e: 0.0 ** e, y, order=k) == 0.0
    if k <= 3:
        assert _nested(lambda e: np.power(0.0, e), k)(0.14) == 0.0


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_mixed_zero_and_positive_bases_against_the_closed_form(k):
    base = np.array([0.0, 2.0, 0.5, 0.0])
    y = 0.14
    got = ad.derivative(lambda e: np.sum(np.power(base, e)), y, order=k)
    logs = np.log(base[base > 0])
    np.testing.assert_allclose(got, np.sum(logs ** k * base[base > 0] ** y), rtol=1e-13)


def test_power_value_with_a_varying_exponent_is_numpys():
    t = Taylor.variable(0.3, order=4)
    base = np.array([0.0, 2.0, 7.5])
    np.testing.assert_array_equal(np.power(base, t).coeffs[..., 0], np.power(base, 0.3))
