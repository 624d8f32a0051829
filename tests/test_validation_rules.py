"""Bad input gets a clear dualad error, never a silently wrong number or a crash deep inside
numpy: Taylor mode, custom rules, operands, np.where/var/quantile, ufunc keywords, math.dist,
and high orders. Derivatives are checked against closed forms."""
import fractions
import math
import warnings

import numba
import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber, Taylor


# --- 1. Taylor mode refuses complex numbers, as DualNumber does ----------------------------
@pytest.mark.parametrize("f", [lambda t: t ** 3 * 1j, lambda t: t ** 3 + 1j,
                               lambda t: t ** 3 * np.array([1j])])
def test_taylor_refuses_complex_operands(f):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a ComplexWarning and a dropped imaginary part
        with pytest.raises(TypeError, match="dualad: complex"):
            ad.derivative(f, 2.0, order=3)


def test_taylor_refuses_complex_coefficients():
    with pytest.raises(TypeError, match="dualad: complex"):
        Taylor([1j, 1.0])
    with pytest.raises(TypeError, match="dualad: complex"):
        Taylor.variable(1j, 3)
    t = Taylor.variable(np.zeros(2), 3)
    with pytest.raises(TypeError, match="dualad: complex"):
        t[0] = 1j
    with pytest.raises(TypeError, match="real numbers, got dtype <U1"):
        Taylor(["a", "b"])


# --- 2. custom rules: the user's outputs are validated at the boundary ---------------------
def _custom(deriv):
    f = ad.custom_jvp(lambda x: x * 1.0)
    f.__name__ = "ident"
    f.defderiv(deriv)
    return f


@pytest.mark.parametrize("x", [1.0, np.ones(3)])
@pytest.mark.parametrize("deriv, err, match", [
    (lambda x, ans: 1j + 0 * x, TypeError, "derivative 0 of ident must be real.*complex"),
    (lambda x, ans: None, TypeError, "derivative 0 of ident must be real.*NoneType"),
    (lambda x, ans: "a", TypeError, "derivative 0 of ident must be real.*str"),
    (lambda x, ans: np.ones((4, 5)), ValueError, r"derivative 0 of ident has shape \(4, 5\)"),
])
def test_defderiv_bad_derivative_outputs(x, deriv, err, match):
    f = _custom(deriv)
    with pytest.raises(err, match=match):
        ad.jvp(f, x, np.ones_like(x))
    with pytest.raises(err, match=match):  # Taylor mode
        ad.derivative(f, 1.0, order=3)


def test_defderiv_broadcastable_derivative_is_fine():
    f = _custom(lambda x, ans: np.float64(3.0))
    assert np.array_equal(ad.jacobian(f, np.ones(2)), 3.0 * np.eye(2))


def test_custom_jvp_complex_tangent_and_value():
    f = ad.custom_jvp(lambda x: x * 1.0)
    f.defjvp(lambda p, t: (p[0], t[0] * 1j))
    with pytest.raises(TypeError, match="tangent.*must be real.*complex"):
        ad.derivative(f, 1.0)
    g = ad.custom_jvp(lambda x: x * 1.0)
    g.defjvp(lambda p, t: (np.asarray(p[0]) * 1j, t[0]))
    with pytest.raises(TypeError, match="value of .* must be real numbers.*complex"):
        ad.derivative(g, 1.0)


def test_defderiv_non_numeric_value():
    f = ad.custom_jvp(lambda x: "a")
    f.defderiv(lambda x, ans: 1.0)
    with pytest.raises(TypeError, match="value of .* must be real numbers, got (str|dtype <U1)"):
        ad.derivative(f, 1.0)
    with pytest.raises(TypeError, match="value of .* must be real numbers, got (str|dtype <U1)"):
        f(DualNumber(1.0, 1.0))
    with pytest.raises(TypeError, match="value of .* must be real numbers, got (str|dtype <U1)"):
        ad.derivative(f, 1.0, order=3)


def test_defderiv_arity_is_checked_at_the_call():
    f = ad.custom_jvp(lambda x, y=1.0: x * y)
    f.defderiv(lambda x, y, ans: y, lambda x, y, ans: x)
    with pytest.raises(TypeError, match="2 derivatives.*called with 1"):
        ad.derivative(f, 1.0)
    assert ad.derivative(lambda x: f(x, 3.0), 1.0) == 3.0


@pytest.mark.parametrize("domain, err", [(5, TypeError), ("ab", TypeError),
                                         ((1.0, "b"), TypeError), (((1.0, 2.0, 3.0),), ValueError),
                                         ((2.0, 1.0), ValueError)])
def test_domain_is_validated_at_registration(domain, err):
    with pytest.raises(err, match="dualad: domain"):
        ad.custom_jvp(lambda x: x).defderiv(lambda x, ans: 1.0, domain=domain)


@numba.vectorize(["float64(float64)"])
def _cube(x):
    return x * x * x


_CUBE = f"{_cube.__module__}._cube"  # errors name a numba ufunc by its module


@pytest.mark.parametrize("deriv, err, match", [
    (lambda x, ans: 3j * x * x, TypeError, f"derivative 0 of {_CUBE} must be real"),
    (lambda x, ans: None, TypeError, f"derivative 0 of {_CUBE} must be real.*NoneType"),
    (lambda x, ans: np.ones(7), ValueError, rf"derivative 0 of {_CUBE} has shape \(7,\)"),
])
def test_register_ufunc_bad_derivative_outputs(deriv, err, match):
    ad.register_ufunc(_cube, deriv)
    try:
        with pytest.raises(err, match=match):
            ad.jacobian(_cube, np.ones(3))
        with pytest.raises(err, match=match):
            ad.derivative(_cube, 1.0, order=3)
    finally:
        ad.unregister(_cube)


def test_register_ufunc_good_derivative_against_closed_form():
    ad.register_ufunc(_cube, lambda x, ans: 3.0 * x * x)
    try:
        x = np.array([0.5, -1.0, 2.0])
        assert np.allclose(ad.jacobian(_cube, x), np.diag(3 * x ** 2), rtol=1e-15)
        assert ad.derivative(_cube, 2.0, order=3) == 6.0
    finally:
        ad.unregister(_cube)


# --- 3. operands and items that are not real numbers ---------------------------------------
X = DualNumber([1.0, 2.0], [1.0, 1.0])


@pytest.mark.parametrize("other, match", [
    (np.array([1, 2], dtype=object), "dtype object"),
    (fractions.Fraction(1, 2), "Fraction"),
    (["1", "2"], "dtype <U1"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    (1j, "complex"),
    (np.array([1j, 2]), "complex"),
])
def test_operands_must_be_real(other, match):
    with pytest.raises(TypeError, match=f"dualad: .*{match}"):
        X + other
    with pytest.raises(TypeError, match=f"dualad: .*{match}"):
        other * X


@pytest.mark.parametrize("item, match", [("a", "str"), (1j, "complex"),
                                         (np.array([None, 1]), "dtype object")])
def test_assigned_items_must_be_real(item, match):
    y = X.copy()
    with pytest.raises(TypeError, match=f"dualad: .*{match}"):
        y[0] = item
    assert np.array_equal(y.value, [1.0, 2.0])


@pytest.mark.parametrize("other", [1, True, 2.5, np.int32(1), np.float32(1.5), np.bool_(True),
                                   np.array([1, 2]), [1, 2], np.uint8(3)])
def test_real_operands_keep_working(other):
    got = X + other
    assert np.array_equal(got.value, np.array([1.0, 2.0]) + np.asarray(other, dtype=float))
    assert np.array_equal(got.partials, [[1.0], [1.0]])
    y = X.copy()
    y[...] = other
    assert np.array_equal(y.partials, [[0.0], [0.0]])


# --- 4. np.where with a dual condition and plain branches --------------------------------
def test_where_with_a_dual_condition_only():
    got = np.where(DualNumber([1.0, 0.0, -2.0], [1.0, 1.0, 1.0]), 1.0, 0.0)
    assert type(got) is np.ndarray and np.array_equal(got, [1.0, 0.0, 1.0])
    got = np.where(X > 1.5, np.array([3.0, 4.0]), 0.0)
    assert type(got) is np.ndarray and np.array_equal(got, [0.0, 4.0])


# --- 5. var with ddof >= n: numpy's inf/nan and warning, not ZeroDivisionError ------------
@pytest.mark.parametrize("ddof", [3, 4])
def test_var_with_no_degrees_of_freedom(ddof):
    v = np.array([1.0, 2.0, 4.0])
    with pytest.warns(RuntimeWarning), np.errstate(invalid="ignore", divide="ignore"):
        want = np.var(v, ddof=ddof)
    with pytest.warns(RuntimeWarning):
        got = np.var(DualNumber(v, [[1.0], [0.0], [0.0]]), ddof=ddof)
    assert got.value == want == np.inf
    # d/dv0 of sum((v - mean)^2) / 0 = 2 (v0 - mean) / 0 = -inf (v0 < mean)
    assert got.partials[0] == -np.inf
    with pytest.warns(RuntimeWarning):
        flat = np.var(DualNumber(np.ones(3), np.ones((3, 1))), ddof=3)
        assert np.isnan(flat.value) and np.isnan(np.var(np.ones(3), ddof=3))


# --- 6. quantile outside [0, 1] ------------------------------------------------------------
@pytest.mark.parametrize("q", [1.5, -0.1, [0.5, 2.0], np.nan])
def test_quantile_out_of_range(q):
    x = DualNumber(np.arange(5.0), np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        np.quantile(x, q)
    with pytest.raises(ValueError, match=r"range \[0, 100\]"):
        np.percentile(x, np.asarray(q) * 100)


# --- 7. ufunc keywords that are arrays ----------------------------------------------------
def test_ufunc_where_keyword_is_refused_clearly():
    with pytest.raises(TypeError, match=r"dualad: numpy.sin\(..., where=...\) is not supported"):
        np.sin(X, where=np.array([True, False]))
    assert np.sin(X, where=True).value[0] == np.sin(1.0)


# --- 8. dtypes the numba kernels do not support take the numpy path ----------------------
def test_longdouble_large_arrays():
    x = np.linspace(0.0, 1.0, 70000, dtype=np.longdouble)
    value, tangent = ad.jvp(np.sin, x, np.ones_like(x))
    assert tangent.dtype == np.longdouble and np.allclose(tangent, np.cos(x), rtol=1e-15)


# --- 9. math.dist of points of different dimensions ---------------------------------------
def test_dist_dimension_mismatch():
    with pytest.raises(ValueError, match="same number of dimensions"):
        math.dist([1.0, 3.0], [0.0])
    with pytest.raises(ValueError, match="dualad: both points must have the same number"):
        ad.math.dist([DualNumber(1.0, 1.0), 3.0], [0.0])
    d = ad.math.dist([DualNumber(3.0, 1.0), 4.0], [0.0, 0.0])
    assert d.value == 5.0 and d.partials[0] == 3.0 / 5.0


# --- 10. orders beyond 170 ----------------------------------------------------------------
def test_orders_beyond_170():
    assert ad.derivative(lambda x: x ** 2, 1.0, order=171) == 0.0
    assert ad.derivative(lambda x: x ** 2, 1.0, order=300) == 0.0
    # exp(2x): f^(k)(0) = 2**k, finite (while k! is not) and exactly a power of two
    got = ad.derivative(lambda x: np.exp(2.0 * x), 0.0, order=180)
    assert math.isclose(got, 2.0 ** 180, rel_tol=1e-12)
    # 1/(1-x): f^(k)(0) = k!, beyond the float range from k = 171 on
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert ad.derivative(lambda x: 1.0 / (1.0 - x), 0.0, order=171) == np.inf


def test_derivatives_below_171_are_unchanged():
    t = np.exp(Taylor.variable(0.0, 170))
    assert np.array_equal(t.derivatives(), t.coeffs * np.array(
        [float(math.factorial(j)) for j in range(171)]))


# --- 11. sqrt at 0 in Taylor mode follows the README's convention (inf, as nested duals) ---
def test_sqrt_at_zero_in_taylor_mode():
    # f^(k)(0+) of sqrt: 1/2 * (-1/2) * ... * (3/2 - k) * 0**(1/2 - k): +inf, -inf, +inf, ...
    for k in range(3, 7):
        assert ad.derivative(np.sqrt, 0.0, order=k) == (np.inf if k % 2 else -np.inf)
    assert ad.derivative(lambda x: np.sqrt(2.0 * x), 0.0, order=3) == np.inf
    assert ad.derivative(lambda x: x ** 2.5, 0.0, order=3) == np.inf  # 2.5 * 1.5 * 0.5 * 0**-0.5
    assert ad.derivative(lambda x: x ** 2.5, 0.0, order=4) == -np.inf
    t = Taylor.variable(np.array([0.0, 4.0]), 3)
    t.coeffs[0, 1] = 0.0  # a zero tangent at the zero base: 0, not nan (the 0 * inf guard)
    c = np.sqrt(t).coeffs
    assert np.array_equal(c[0], [0.0, 0.0, 0.0, 0.0])
    assert np.allclose(c[1], [2.0, 1 / 4, -1 / 64, 1 / 512], rtol=1e-15)  # sqrt(4 + t)


# --- 12. Taylor order and len ---------------------------------------------------------------
def test_taylor_order_and_len():
    with pytest.raises(ValueError, match="order must be a non-negative integer, got -1"):
        Taylor.variable(1.0, -1)
    with pytest.raises(ValueError, match="order must be a non-negative integer, got 2.5"):
        Taylor.variable(1.0, 2.5)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d Taylor"):
        len(Taylor.variable(1.0, 2))
    assert len(Taylor.variable(np.zeros(4), 2)) == 4


# --- a plain zero divisor divides as numpy does: inf and a warning, not ZeroDivisionError ---
@pytest.mark.parametrize("zero", [0.0, 0, np.float64(0.0)])
def test_division_by_a_plain_zero(zero):
    with np.errstate(divide="ignore"):
        v, t = ad.jvp(lambda x: x / zero, np.array([1.0, -2.0]), np.ones(2))
        assert v.tolist() == [np.inf, -np.inf] and t.tolist() == [np.inf, np.inf]
        assert ad.hessian(lambda x: np.sum(x / zero), np.ones(2)).tolist() == [[0.0] * 2] * 2


# --- out= must fit the result as in numpy; array functions with out= write into a dual -----
def test_out_shapes_follow_numpy():
    w = DualNumber(np.arange(3.0), np.ones((3, 1)))
    a = DualNumber(np.ones(3))
    with pytest.raises(ValueError, match="does not fit out="):
        a @= w  # numpy: in-place matmul needs a 2-d right operand
    b = DualNumber(np.ones(1))
    with pytest.raises(ValueError, match="does not fit out="):
        b += w
    c = DualNumber(np.zeros(3))
    np.add(DualNumber(np.ones(1), np.ones((1, 1))), 1.0, out=c)  # broadcasting into out: fine
    assert c.value.tolist() == [2.0] * 3 and c.partials.ravel().tolist() == [1.0] * 3


def test_concatenate_into_out():
    with pytest.raises(TypeError, match="drop the derivative"):
        np.concatenate([DualNumber(np.ones(2), np.ones((2, 1)))] * 2, out=np.zeros(4))
    jac = ad.jacobian(lambda x: np.concatenate([x, x * x], out=np.zeros_like(np.tile(x, 2))),
                      np.array([1.0, 2.0]))
    np.testing.assert_array_equal(jac, [[1, 0], [0, 1], [2, 0], [0, 4]])


def test_stop_gradient_maps_over_dicts():
    g = ad.gradient(lambda p: p["w"] * ad.stop_gradient(p)["w"], {"w": 3.0})
    assert g["w"] == 3.0  # d/dw (w · c) with c = w
