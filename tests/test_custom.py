"""Custom derivative rules, registered ufuncs and functions, stop_gradient.

Oracles are analytic formulas and finite differences (tests/_oracles.py), never the rule
under test.
"""
import math

import numba
import numpy as np
import pytest

import dualad as ad
from dualad.core import functions as _functions
from dualad.rules.table import RULES

from _oracles import assert_close, fd, fd_jacobian


# --- fixtures: a stable softplus (defjvp), the same with defderiv, a bisection root -------
def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def make_softplus():
    @ad.custom_jvp
    def softplus(x):
        return np.logaddexp(0.0, x)

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), _sigmoid(x)[..., None] * t
    return softplus


def make_softplus_deriv():
    f = ad.custom_jvp(lambda x: np.logaddexp(0.0, x))
    f.defderiv(lambda x, ans: _sigmoid(x), bounded=True)
    return f


SOFTPLUS = {"defjvp": make_softplus(), "defderiv": make_softplus_deriv()}


def d_softplus(x, k):
    """Analytic k-th derivative of softplus: sigmoid and its derivatives."""
    s = 1.0 / (1.0 + np.exp(-x))
    with np.errstate(over="ignore"):
        return [np.log1p(np.exp(x)), s, s * (1 - s), s * (1 - s) * (1 - 2 * s),
                s * (1 - s) * (1 - 6 * s + 6 * s * s)][k]


def _bisect(a):
    lo, hi = -abs(a) - 1.0, abs(a) + 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid ** 3 + mid < a:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@ad.custom_jvp
def cubic_root(a):
    """The real root r of r**3 + r = a, found by bisection (elementwise): a black box."""
    a = np.asarray(a, dtype=np.float64)
    return np.vectorize(_bisect, otypes=[np.float64])(a)


@cubic_root.defjvp
def _cubic_root_jvp(primals, tangents):
    (a,), (t,) = primals, tangents
    r = cubic_root(a)
    # implicit function theorem: g(r, a) = r^3 + r - a = 0, dr = -g_a / g_r da
    return r, (1.0 / (3.0 * r * r + 1.0))[..., None] * t


def cubic_root_derivs(a):
    r = cubic_root(a)
    d1 = 1.0 / (3 * r * r + 1)
    d2 = -6 * r * d1 ** 3
    return r, d1, d2


# --- custom_jvp ------------------------------------------------------------------------
@pytest.mark.parametrize("style", SOFTPLUS)
def test_plain_call_is_the_function(style):
    x = np.linspace(-3, 3, 7)
    assert np.array_equal(SOFTPLUS[style](x), np.logaddexp(0.0, x))


@pytest.mark.parametrize("style", SOFTPLUS)
@pytest.mark.parametrize("x", [-30.0, -1.5, 0.0, 0.7, 40.0, 800.0])
def test_softplus_orders_1_to_4(style, x):
    f = SOFTPLUS[style]
    for k in (1, 2, 3, 4):  # 3 and 4: Taylor mode (defderiv) or the nested fallback (defjvp)
        got = ad.derivative(f, x, order=k)
        assert got == pytest.approx(d_softplus(x, k), rel=1e-10, abs=1e-14), k


def test_stability_is_the_point():
    with np.errstate(over="ignore", invalid="ignore"):
        naive = ad.derivative(lambda t: np.exp(t) / (1 + np.exp(t)), np.float64(800.0))
    assert np.isnan(naive)
    assert ad.derivative(SOFTPLUS["defjvp"], np.float64(800.0)) == 1.0


def _doubled_sin(style):
    """sin with the rule 2 cos: a rule that differs from the function's own derivative, so
    the tests see whether the rule (and not differentiation of the body) was used."""
    f = ad.custom_jvp(lambda x: np.sin(x))
    if style == "defjvp":
        f.defjvp(lambda p, t: (f(p[0]), np.expand_dims(2.0 * np.cos(p[0]), -1) * t[0]))
    else:
        f.defderiv(lambda x, ans: 2.0 * np.cos(x))
    return f


@pytest.mark.parametrize("style", ["defjvp", "defderiv"])
def test_the_rule_is_what_is_used_everywhere(style):
    f = _doubled_sin(style)
    x = np.array([0.3, -1.1, 2.0])
    assert ad.derivative(f, 0.5) == pytest.approx(2 * np.cos(0.5), rel=1e-15)
    assert ad.derivative(f, np.float64(0.5)) == pytest.approx(2 * np.cos(0.5), rel=1e-15)
    assert ad.derivative(f, 0.5, order=2) == pytest.approx(-2 * np.sin(0.5), rel=1e-15)
    assert ad.derivative(f, 0.5, order=3) == pytest.approx(-2 * np.cos(0.5), rel=1e-14)
    assert_close(ad.jacobian(f, x), np.diag(2 * np.cos(x)), oracle="cs")
    assert_close(ad.jvp(f, x, x)[1], 2 * np.cos(x) * x, oracle="cs")
    for method in ("hyperdual", "nested"):
        H = ad.hessian(lambda v: np.sum(f(v)), x, method=method)
        assert_close(H, np.diag(-2 * np.sin(x)), oracle="cs")
    assert_close(ad.hvp(lambda v: np.sum(f(v)), x, np.ones(3)), -2 * np.sin(x), oracle="cs")


def test_a_rule_reading_its_output_is_the_rule_at_second_order_too():
    # the rule says f' = 2 f for f = exp: by the rule, f'' = 2 f' = 4 f (the body's own
    # second derivative, exp, is what a route differentiating the body would give)
    f = ad.custom_jvp(lambda x: np.exp(x))
    f.defderiv(lambda x, ans: 2.0 * ans)
    x = np.array([0.3, -1.1, 2.0])
    for method in ("hyperdual", "nested"):
        H = ad.hessian(lambda v: np.sum(f(v)), x, method=method)
        assert_close(H, np.diag(4.0 * np.exp(x)), oracle="cs")
    assert ad.derivative(f, 0.5, order=2) == pytest.approx(4.0 * np.exp(0.5), rel=1e-15)


@pytest.mark.parametrize("style", SOFTPLUS)
@pytest.mark.parametrize("method", ["hyperdual", "nested"])
def test_hessian_and_gradient_with_a_custom_rule(style, method):
    sp = SOFTPLUS[style]
    x = np.array([-1.0, 0.5, 2.0, 3.0])

    def f(v):
        return np.sum(sp(v) * v[::-1]) + sp(v[0] * v[1])

    def f_plain(v):
        return np.sum(np.logaddexp(0, v) * v[::-1]) + np.logaddexp(0, v[0] * v[1])
    assert_close(ad.gradient(f, x), fd_jacobian(f_plain, x), oracle="fd")
    H = ad.hessian(f, x, method=method)
    assert_close(H, fd_jacobian(lambda v: ad.gradient(f_plain, v), x), oracle="fd")
    assert np.array_equal(H, H.T)


@pytest.mark.parametrize("style", SOFTPLUS)
def test_jacobian_of_matrix_argument(style):
    sp = SOFTPLUS[style]
    x = np.array([0.3, -0.8, 1.1])
    J = ad.jacobian(lambda v: sp(np.outer(v, v)), x, chunk_size=2)
    assert_close(J, fd_jacobian(lambda v: np.logaddexp(0, np.outer(v, v)), x), oracle="fd")


@pytest.mark.parametrize("style", SOFTPLUS)
def test_float32_stays_float32(style):
    x = np.array([0.5, -2.0], dtype=np.float32)
    value, tangent = ad.jvp(SOFTPLUS[style], x, np.ones(2, np.float32))
    assert value.dtype == tangent.dtype == np.float32
    assert_close(tangent, d_softplus(x.astype(float), 1), dtype=np.float32, oracle="cs")


@pytest.mark.parametrize("a", [-5.0, 0.0, 2.0, 10.0])
def test_black_box_root_by_implicit_function(a):
    r, d1, d2 = cubic_root_derivs(a)
    assert r ** 3 + r == pytest.approx(a, abs=1e-12)
    assert ad.derivative(cubic_root, a) == pytest.approx(d1, rel=1e-12)
    assert ad.derivative(cubic_root, a, order=2) == pytest.approx(d2, rel=1e-10, abs=1e-14)
    assert ad.derivative(cubic_root, a) == pytest.approx(fd(cubic_root, a), rel=1e-7)
    # order 3 goes through Taylor mode, which refuses, then nested duals
    d3 = fd(lambda s: cubic_root_derivs(s)[2], a)
    assert ad.derivative(cubic_root, a, order=3) == pytest.approx(d3, rel=1e-6, abs=1e-9)


def test_black_box_root_in_jacobian_and_hessian():
    a = np.array([0.5, 2.0, -1.0])
    r, d1, d2 = cubic_root_derivs(a)
    assert_close(ad.jacobian(cubic_root, a), np.diag(d1), oracle="cs")
    for method in ("hyperdual", "nested"):
        H = ad.hessian(lambda v: np.sum(cubic_root(v)), a, method=method)
        assert_close(H, np.diag(d2), tol=1e-10)
    # through a composition: d/da sin(r(a)^2)
    g = ad.gradient(lambda v: np.sum(np.sin(cubic_root(v) ** 2)), a)
    assert_close(g, np.cos(r ** 2) * 2 * r * d1, tol=1e-12)


def test_the_black_box_only_sees_plain_floats():
    seen = []

    @ad.custom_jvp
    def spy(x):
        seen.append(type(x))
        return np.asarray(np.sin(np.asarray(x, dtype=float)))

    @spy.defjvp
    def _(p, t):
        return spy(p[0]), np.cos(p[0])[..., None] * t[0]
    ad.hessian(lambda v: np.sum(spy(v)), np.array([0.1, 0.2]))
    ad.derivative(spy, 0.3, order=2)
    assert seen and all(issubclass(s, np.ndarray) for s in seen), seen


def test_constant_arguments_get_none_tangents():
    calls = []

    @ad.custom_jvp
    def scale(x, c):
        return x * c

    @scale.defjvp
    def _(primals, tangents):
        calls.append(tuple(t is None for t in tangents))
        (x, c), (tx, tc) = primals, tangents
        out = scale(x, c)
        terms = []
        if tx is not None:
            terms.append(np.expand_dims(c, -1) * tx)  # c may be a float, array or dual
        if tc is not None:
            terms.append(np.expand_dims(x, -1) * tc)
        return out, sum(terms)
    assert ad.derivative(lambda x: scale(x, 3.0), 2.0) == 3.0
    assert ad.derivative(lambda c: scale(2.0, c), 3.0) == 2.0
    assert ad.derivative(lambda x: scale(x, x), 3.0) == 6.0
    assert calls[:3] == [(False, True), (True, False), (False, False)]
    assert ad.derivative(lambda x: scale(x, x), 3.0, order=2) == 2.0


def test_several_outputs_and_keyword_arguments():
    @ad.custom_jvp
    def polar(x, y, scale=1.0):
        return scale * np.hypot(x, y), np.arctan2(y, x)

    @polar.defjvp
    def _(primals, tangents, scale=1.0):
        (x, y), (tx, ty) = primals, tangents
        r, th = polar(x, y, scale=scale)
        rr = np.hypot(x, y)
        dr = (x / rr)[..., None] * tx + (y / rr)[..., None] * ty
        dth = (-y / rr ** 2)[..., None] * tx + (x / rr ** 2)[..., None] * ty
        return (r, th), (scale * dr, dth)

    def f(v):
        r, th = polar(v[0], v[1], scale=2.0)
        return np.stack([r, th])

    def f_plain(v):
        return np.array([2.0 * np.hypot(v[0], v[1]), np.arctan2(v[1], v[0])])
    v = np.array([1.2, -0.7])
    assert_close(ad.jacobian(f, v), fd_jacobian(f_plain, v))
    H = ad.hessian(lambda w: polar(w[0], w[1], scale=2.0)[0], v)
    assert_close(H, fd_jacobian(lambda w: ad.gradient(lambda z: 2 * np.hypot(z[0], z[1]), w),
                                v))


def test_rule_errors_are_clear():
    f = ad.custom_jvp(np.sin)
    assert f(0.5) == np.sin(0.5)
    with pytest.raises(TypeError, match="no derivative rule"):
        ad.derivative(f, 0.5)
    with pytest.raises(TypeError, match=r"\(primals, tangents\)"):
        f.defjvp(lambda p: p)

    g = ad.custom_jvp(np.sin)
    g.defjvp(lambda p, t: (np.sin(p[0]), np.cos(p[0]) * t[0][..., 0]))  # forgot the axis
    with pytest.raises(ValueError, match=r"expected the output's shape plus the directions"):
        ad.jacobian(g, np.ones(3))
    with pytest.raises(ValueError, match="already has"):
        g.defjvp(lambda p, t: None)

    h = ad.custom_jvp(np.sin)
    h.defjvp(lambda p, t: np.sin(p[0]))
    with pytest.raises(TypeError, match=r"\(primal_out, tangent_out\)"):
        ad.derivative(h, 0.5)

    k = ad.custom_jvp(lambda x, c=1.0: x * c)
    k.defjvp(lambda p, t, c=1.0: (p[0] * c, c * t[0]))
    with pytest.raises(TypeError, match="keyword arguments are not differentiated"):
        ad.derivative(lambda c: k(2.0, c=c), 1.0)
    with pytest.raises(TypeError, match="lists"):
        ad.derivative(lambda x: k([x, x]), 1.0)

    with pytest.raises(TypeError, match=r"\(x, ans\)"):
        ad.custom_jvp(np.sin).defderiv(lambda x: np.cos(x))
    with pytest.raises(TypeError, match="needs a function"):
        ad.custom_jvp(3.0)


def test_defderiv_binary_and_constant_arguments():
    mul = ad.custom_jvp(lambda x, y: x * y)
    mul.defderiv(lambda x, y, a: y, lambda x, y, a: x)

    def f(v):
        return mul(v[0], v[1]) * mul(v[1], v[1])   # x y^3
    v = np.array([2.0, 3.0])
    expected = np.array([[0.0, 27.0], [27.0, 36.0]])
    for method in ("hyperdual", "nested"):
        assert np.array_equal(ad.hessian(f, v, method=method), expected)
    assert ad.derivative(lambda s: mul(s, s) ** 2, 2.0, order=3) == 48.0  # (s^4)''' = 24 s

    ldexp = ad.custom_jvp(lambda x, i: np.ldexp(x, i))
    ldexp.defderiv(lambda x, i, a: np.ldexp(1.0, i), None)
    assert ad.derivative(lambda x: ldexp(x, 3), 1.5) == 8.0
    with pytest.raises(TypeError, match="argument 1"):
        ad.jacobian(lambda x: mul(1.0, x) + ldexp(1.0, x), np.ones(2))


def test_custom_function_as_a_method():
    class Model:
        def __init__(self, k):
            self.k = k

        @ad.custom_jvp
        def energy(self, x):
            return self.k * x ** 2

        @energy.defjvp
        def _(primals, tangents):
            (self, x), (_, t) = primals, tangents
            return self.k * x ** 2, (2 * self.k * x)[..., None] * t
    m = Model(3.0)
    assert ad.derivative(m.energy, 2.0) == 12.0
    assert ad.derivative(m.energy, 2.0, order=2) == 6.0


# --- register_ufunc ----------------------------------------------------------------------
@pytest.fixture
def cleanup():
    """Registrations made by a test are undone after it."""
    made = []
    yield made
    for func in made:
        if func in ad.custom._REGISTERED:
            ad.unregister(func)


@numba.vectorize(["float32(float32)", "float64(float64)"])
def _softsign(x):
    return x / (1.0 + abs(x))


@numba.vectorize(["float64(float64, float64)"])
def _weighted_log(x, w):
    return w * math.log(x)


def test_register_numba_ufunc_all_orders(cleanup):
    cleanup.append(ad.register_ufunc(_softsign, lambda x, a: 1.0 / (1.0 + np.abs(x)) ** 2,
                                     domain=(0.1, 3.0)))
    x = np.array([0.3, 1.0, 2.5])
    # (x / (1 + x))' = 1 / (1 + x)^2, '' = -2 / (1 + x)^3, ''' = 6 / (1 + x)^4 for x > 0
    assert_close(ad.jacobian(_softsign, x), np.diag(1 / (1 + x) ** 2), oracle="cs")
    H = ad.hessian(lambda v: np.sum(_softsign(v)), x)                    # HyperDual
    assert_close(H, np.diag(-2 / (1 + x) ** 3), oracle="cs")
    assert ad.derivative(_softsign, 1.0, order=3) == pytest.approx(6 / 16, rel=1e-12)  # Taylor
    value, tangent = ad.jvp(_softsign, np.ones(2, np.float32), np.ones(2, np.float32))
    assert value.dtype == tangent.dtype == np.float32 and np.all(tangent == 0.25)


@numba.vectorize(["float64(float64)"])
def _cube(x):
    return x * x * x


@numba.vectorize(["float64(float64)"])
def _sq(x):
    return x * x


def test_hessians_follow_a_rule_registered_again(cleanup):
    # _cube's derivative calls _sq, so its second derivative comes from _sq's rule: after
    # _sq is registered again, a HyperDual Hessian must use the new rule, not a program
    # traced from the old one (a deliberately wrong rule makes the difference visible)
    cleanup.append(ad.register_ufunc(_sq, lambda x, a: 2.0 * x))
    cleanup.append(ad.register_ufunc(_cube, lambda x, a: 3.0 * _sq(x)))
    x = np.array([0.5, 2.0])
    assert_close(ad.hessian(lambda v: np.sum(_cube(v)), x), np.diag(6.0 * x), oracle="cs")
    ad.unregister(_sq)
    ad.register_ufunc(_sq, lambda x, a: 0.0 * x)
    assert np.all(ad.hessian(lambda v: np.sum(_cube(v)), x) == 0.0)


def test_register_binary_ufunc_with_a_constant_argument(cleanup):
    cleanup.append(ad.register_ufunc(_weighted_log, lambda x, w, a: w / x, None,
                                     domain=((0.5, 3.0), (1.0, 3.0))))
    assert ad.derivative(lambda x: _weighted_log(x, 2.0), 4.0) == 0.5
    with pytest.raises(TypeError, match="constant"):
        ad.derivative(lambda w: _weighted_log(4.0, w), 2.0)
    assert RULES[_weighted_log].kind == "binary"


def test_register_scipy_ufunc(cleanup):
    special = pytest.importorskip("scipy.special")
    if special.dawsn in RULES:
        pytest.skip("already registered")
    # Dawson's integral F: F' = 1 - 2 x F
    cleanup.append(ad.register_ufunc(special.dawsn, lambda x, a: 1.0 - 2.0 * x * a))
    x = np.array([-1.0, 0.2, 1.7])
    assert_close(ad.jvp(special.dawsn, x, np.ones(3))[1], fd(special.dawsn, x))
    d2 = fd(lambda t: 1.0 - 2.0 * t * special.dawsn(t), x)
    assert_close(np.diag(ad.hessian(lambda v: np.sum(special.dawsn(v)), x)), d2)
    assert ad.derivative(special.dawsn, 0.2, order=3) == pytest.approx(
        fd(lambda t: fd(lambda s: 1.0 - 2.0 * s * special.dawsn(s), t, 1e-2), 0.2, 1e-2),
        rel=1e-6)


def test_register_linear_ufunc(cleanup):
    halve = numba.vectorize(["float64(float64)"])(lambda x: 0.5 * x)
    cleanup.append(ad.register_ufunc(halve, 0.5))
    assert RULES[halve].kind == "linear"
    assert ad.derivative(lambda x: halve(x) ** 2, 3.0) == 1.5


def test_register_ufunc_errors(cleanup):
    with pytest.raises(TypeError, match="needs a numpy ufunc"):
        ad.register_ufunc(math.sin, np.cos)
    with pytest.raises(ValueError, match="already has a derivative rule"):
        ad.register_ufunc(np.sin, lambda x, a: np.cos(x))
    with pytest.raises(ValueError, match="already handled"):
        ad.register_ufunc(np.gcd, None, None)
    with pytest.raises(ValueError, match="already handled"):
        ad.register_ufunc(np.greater, None, None)
    with pytest.raises(ValueError, match="outputs"):
        ad.register_ufunc(np.frompyfunc(lambda x: (x, x), 1, 2), lambda x, a: 1.0)
    with pytest.raises(ValueError, match="one or two arguments"):
        ad.register_ufunc(np.frompyfunc(lambda x, y, z: x, 3, 1), None, None, None)
    with pytest.raises(TypeError, match=r"give 1 derivative\(s\), got 2"):
        ad.register_ufunc(_softsign, np.cos, np.sin)
    with pytest.raises(TypeError, match=r"\(x, ans\)"):
        ad.register_ufunc(_softsign, lambda x: x)
    with pytest.raises(ValueError, match="domain"):
        ad.register_ufunc(_softsign, lambda x, a: x, domain=(3.0, 1.0))
    assert _softsign not in RULES  # failed registrations leave no trace
    cleanup.append(ad.register_ufunc(_softsign, lambda x, a: 1.0 / (1.0 + np.abs(x)) ** 2))
    with pytest.raises(ValueError, match="unregister it first"):
        ad.register_ufunc(_softsign, lambda x, a: x)
    with pytest.raises(ValueError, match="was not registered"):
        ad.unregister(np.sin)


# --- register_function -------------------------------------------------------------------
def _i1(x):
    k = np.arange(40.0)
    fact = np.cumprod(np.concatenate([[1.0], np.arange(1.0, 40.0)]))
    return np.sum((0.5 * x[..., None]) ** (2 * k + 1) / (fact * fact * (k + 1)), -1)


def _i0_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return np.i0(x), _i1(x)[..., None] * t


def test_register_function_i0(cleanup):
    assert np.i0 in _functions.UNSUPPORTED
    with pytest.raises(TypeError, match="numpy.i0 is not supported"):
        ad.derivative(np.i0, 1.0)
    cleanup.append(ad.register_function(np.i0, _i0_jvp))
    assert _functions.CATEGORY[np.i0] == "custom" and np.i0 not in _functions.UNSUPPORTED
    x = np.array([0.2, 1.0, 2.5])
    assert_close(ad.jacobian(np.i0, x), np.diag(fd(np.i0, x)))
    d2 = fd(lambda t: fd(np.i0, t, 1e-2), x, 1e-2)
    for method in ("hyperdual", "nested"):
        H = ad.hessian(lambda v: np.sum(np.i0(v)), x, method=method)
        assert_close(np.diag(H), d2, tol=1e-6)
        assert np.count_nonzero(H - np.diag(np.diag(H))) == 0
    assert ad.derivative(np.i0, 1.0, order=3) == pytest.approx(   # Taylor falls back
        fd(lambda t: ad.derivative(np.i0, t, order=2), 1.0), rel=1e-7)
    ad.unregister(np.i0)
    assert np.i0 in _functions.UNSUPPORTED and np.i0 not in _functions.HANDLED


def test_register_function_errors(cleanup):
    with pytest.raises(TypeError, match="register_ufunc"):
        ad.register_function(np.sin, _i0_jvp)
    with pytest.raises(TypeError, match="custom_jvp"):
        ad.register_function(lambda x: x, _i0_jvp)
    with pytest.raises(ValueError, match="already handled"):
        ad.register_function(np.sum, _i0_jvp)
    with pytest.raises(TypeError, match=r"\(primals, tangents\)"):
        ad.register_function(np.i0, lambda p: p)
    assert np.i0 in _functions.UNSUPPORTED


# --- stop_gradient -----------------------------------------------------------------------
def test_stop_gradient_values():
    x = ad.DualNumber([1.0, 2.0], [[1.0], [3.0]])
    assert np.array_equal(ad.stop_gradient(x), [1.0, 2.0])
    plain = np.ones(3)
    assert ad.stop_gradient(plain) is plain and ad.stop_gradient(2.5) == 2.5
    h = ad.HyperDual.seed(np.array([1.0, 2.0]))
    assert type(ad.stop_gradient(h)) is np.ndarray
    t = ad.Taylor.variable(2.0, 3)
    assert ad.stop_gradient(t) == 2.0
    out = ad.stop_gradient((x, [x, 3.0]))
    assert isinstance(out, tuple) and isinstance(out[1], list) and out[1][1] == 3.0


def test_stop_gradient_in_every_helper():
    # d/dx [x * c] where c = x held constant: c; second derivative 0
    assert ad.derivative(lambda x: x * ad.stop_gradient(x), 3.0) == 3.0
    assert ad.derivative(lambda x: x * ad.stop_gradient(x), np.float64(3.0)) == 3.0
    assert ad.derivative(lambda x: x * ad.stop_gradient(x), 3.0, order=2) == 0.0
    assert ad.derivative(lambda x: x ** 3 * ad.stop_gradient(x), 2.0, order=3) == 12.0
    v = np.array([1.0, 2.0])
    for method in ("hyperdual", "nested"):
        H = ad.hessian(lambda z: np.sum(z ** 2 * ad.stop_gradient(z)), v, method=method)
        assert np.array_equal(H, np.diag(2 * v))
    # stopped inside a nested derivative, all levels are stopped
    inner = ad.derivative(lambda x: ad.derivative(lambda y: y * ad.stop_gradient(x * y), x),
                          2.0)
    assert inner == 0.0  # the inner result x * x is a plain number: constant for the outer
    assert ad.jacobian(lambda z: ad.stop_gradient(z) * 2.0, v).tolist() == [[0, 0], [0, 0]]


def test_a_dict_of_duals_is_refused_not_differentiated_through_fun():
    # the rule says 2; silently taking cos(0) through fun would skip it
    f = ad.custom_jvp(lambda d: np.sin(d["a"]))
    f.defjvp(lambda p, t: (f(p[0]), 2.0 * t[0]["a"]))
    with pytest.raises(TypeError, match="lists or dicts holding duals"):
        ad.gradient(lambda d: np.sum(f(d)), {"a": np.array([0.0])})
    with pytest.raises(TypeError, match="keyword arguments are not differentiated"):
        ad.gradient(lambda d: np.sum(f(x=d)), {"a": np.array([0.0])})


def test_a_ragged_tangent_names_the_rule():
    g = ad.custom_jvp(np.sin)
    g.defjvp(lambda p, t: (g(p[0]), (np.cos(p[0])[..., None] * t[0], 0)))
    with pytest.raises(TypeError, match="tangent of sin's jvp rule"):
        ad.derivative(g, 0.3)
