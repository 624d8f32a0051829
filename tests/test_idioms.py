"""Idioms of real numpy code (issue 19, item 7).

- Paths that end in ``__array__``/``__float__`` (no numpy protocol lets dualad in): each
  error says what to write instead, and what it says to write works.
- ``out=`` on dual outputs: ufuncs and every registered numpy function taking out= give what
  they give without out, written into out (views pass it on), or refuse clearly.
- np.convolve, np.correlate, np.cov, np.corrcoef, np.gradient, einsum's sublist form,
  fftshift/ifftshift, np.poly* and numpy.polynomial: values are numpy's own, bit for bit;
  first, second and third derivatives against jax, analytic formulas (numpy.polynomial's
  own derivatives) or central differences.
"""
import math
import sys

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber

from _fd import fd_jacobian

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy
P = np.polynomial

RNG = np.random.default_rng(19)
M35 = RNG.normal(size=(3, 5))


def dual(value, directions=None):
    value = np.asarray(value, dtype=float)
    return DualNumber(value, np.eye(value.size).reshape(value.shape + (value.size,))
                      if directions is None else directions)


def message(call):
    """The dualad message of the TypeError ``call`` raises (numpy may raise its own
    ValueError from it: ``a[0] = x``, np.fromiter, ndarray.fill)."""
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    err = info.value
    if not str(err).startswith("dualad: "):
        err = err.__cause__
    assert err is not None and str(err).startswith("dualad: converting a DualNumber to "), \
        str(info.value)
    return str(err)


# =========================================================================================
# paths that end in __array__ or __float__: what to write instead
# =========================================================================================
X = np.arange(6.0).reshape(2, 3)
W = dual([0.5, -1.0, 2.0])
S = DualNumber(2.0, 1.0)


def test_ndarray_dot_says_matmul_or_np_dot():
    msg = message(lambda: X.dot(W))
    assert "write X @ W or np.dot(X, W)" in msg
    # and that is right: the same value, and derivatives
    assert np.array_equal((X @ W).value, X.dot(W.value))
    assert np.array_equal(np.dot(X, W).partials, X)
    assert "write X * S or np.dot(X, S)" in message(lambda: X.dot(S))  # (0-d: no @)
    assert "write (X + 1) @ W[::-1]" in message(lambda: (X + 1).dot(W[::-1]))


def test_np_array_of_duals_says_np_stack():
    a, b = W[0], W[1] * 3.0
    assert "write np.stack([a, b])" in message(lambda: np.array([a, b]))
    assert "write np.stack([a, 1.0])" in message(lambda: np.asarray([a, 1.0]))
    assert "write np.stack([W, W])" in message(lambda: np.array([W, W]))
    assert "write np.stack([np.stack([a, b]), np.stack([b, a])])" in message(
        lambda: np.array([[a, b], [b, a]]))
    assert "pass np.stack([np.stack([a, b]), np.stack([b, a])])" in message(
        lambda: np.stack([[a, b], [b, a]]))  # (np.stack does not look into inner lists)
    assert "write np.stack(list(map(np.sin, W)))" in message(
        lambda: np.array(list(map(np.sin, W))))
    assert "write np.stack([v * 2 for v in W])" in message(
        lambda: np.array(list(v * 2 for v in W)))
    items = [a, b]
    assert "write np.stack(items)" in message(lambda: np.array(items))
    # the fixes: arrays of duals, derivatives kept (also mixed with plain numbers, nested)
    s = np.stack([a, b])
    assert np.array_equal(s.value, [0.5, -3.0]) and np.array_equal(s.partials, [[1, 0, 0],
                                                                               [0, 3, 0]])
    m = np.stack([np.stack([a, b]), np.stack([b, 1.0])])
    assert m.shape == (2, 2) and np.array_equal(m.partials[1, 1], [0.0, 0.0, 0.0])
    assert np.array_equal(np.stack(list(map(np.sin, W))).value, np.sin(W.value))


def test_asarray_of_a_dual_says_it_is_already_an_array():
    for call in (lambda: np.asarray(W), lambda: np.array(W), lambda: np.ascontiguousarray(W),
                 lambda: np.asarray(W, dtype=float)):
        msg = message(call)
        assert "W is already an array (a DualNumber): use it as it is" in msg
        assert "W.value for the plain values" in msg


def test_lists_of_duals_in_numpy_calls_and_operators_say_np_stack():
    a, b = W[0], W[1]
    assert "pass np.stack([a, b])" in message(lambda: np.sum([a, b]))
    assert "pass np.stack([W, W])" in message(lambda: np.mean([W, W], axis=0))
    assert "write np.stack([a, b, a])" in message(lambda: X + [a, b, a])
    assert np.array_equal(np.sum(np.stack([a, b])).partials, [1.0, 1.0, 0.0])


def test_item_assignment_into_a_plain_array_says_preallocate_a_dual():
    def into_element():
        out = np.zeros(3)
        out[0] = S  # numpy: ValueError "setting an array element with a sequence" from ours

    def into_slice():
        out = np.zeros(3)
        out[:] = W

    for call in (into_element, into_slice):
        msg = message(call)
        assert "out is a plain numpy array" in msg
        assert "out = np.zeros_like(x, shape=...) with x a dual" in msg

    def fixed(x):  # the fix, as the message writes it
        out = np.zeros_like(x, shape=(3,))
        for i in range(3):
            out[i] = x[i] * x[(i + 1) % 3]
        return out
    x0 = np.array([0.5, -1.0, 2.0])
    np.testing.assert_array_equal(ad.jacobian(fixed, x0), fd_jacobian(fixed, x0).round(8))


def test_fromiter_and_fill_say_what_to_write():
    assert "write np.stack([v * 2 for v in W])" in message(
        lambda: np.fromiter((v * 2 for v in W), float))
    it = iter(W)
    assert "write np.stack(list(it))" in message(lambda: np.fromiter(it, float))

    def fill():
        a = np.zeros(3)
        a.fill(S)
    assert "a is a plain numpy array" in message(fill)
    assert np.array_equal(np.full_like(W, W[1]).partials, np.tile([[0.0, 1.0, 0.0]], (3, 1)))


def test_numbers_say_what_to_write():
    assert "keep S as it is (a 0-d DualNumber computes like a number), or S.value" in \
        message(lambda: float(S))
    assert "keep S as it is" in message(lambda: np.float64(S))
    assert "W holds an array of shape (3,)" in message(lambda: float(W))
    assert "int(S.value)" in message(lambda: int(S))
    assert "two real duals" in message(lambda: complex(S))
    assert "int(x.value)" in message(lambda: [1, 2, 3][S])
    assert "int(x.value)" in message(lambda: range(S))
    assert "write np.sin(S) or dualad.math.sin(S)" in message(lambda: math.sin(S))
    assert "write np.exp(W) or dualad.math.exp(W)" in message(lambda: math.exp(W))
    assert "write dualad.math.lgamma(S)" in message(lambda: math.lgamma(S))
    # the fixes
    assert ad.derivative(lambda t: ad.math.lgamma(t), 2.5) == pytest.approx(
        0.7031566406452432, rel=1e-12)  # digamma(2.5)
    assert ad.derivative(lambda t: np.sin(t), 0.3) == math.cos(0.3)


def test_item_and_tolist_raise_dualads_type_error():
    for x in (S, W):
        for method in ("item", "tolist"):
            with pytest.raises(TypeError, match=rf"^dualad: \.{method}\(\) would drop"):
                getattr(x, method)()
    with pytest.raises(TypeError, match=r"^dualad: \.item\(\)"):
        ad.gradient(lambda v: v[0].item() * v[1], np.ones(2))


def test_random_draws_and_vectorize_say_what_to_write():
    mu, rng = DualNumber(0.5, 1.0), np.random.default_rng(0)
    for call in (lambda: rng.normal(mu, 1.0), lambda: np.random.normal(mu, 1.0, size=3)):
        assert "mu + sigma * rng.standard_normal(size)" in message(call)
    z = rng.standard_normal(3)  # the fix: d/dmu and d/dsigma of the draws
    assert np.array_equal(ad.jacobian(lambda p: p[0] + p[1] * z, np.array([0.5, 2.0])),
                          np.stack([np.ones(3), z], axis=-1))
    assert "call it on the dual directly" in message(lambda: np.vectorize(np.sin)(W))


def test_numpy_functions_that_dispatch_on_other_arguments_say_so():
    # np.polyint dispatches on p only: a dual k alone is converted
    msg = message(lambda: np.polyint([1.0, 2.0], 1, S))
    assert "dispatches on" in msg and "x.value" in msg


def test_installed_libraries_converting_duals_are_named(tmp_path, monkeypatch):
    # code under site-packages converting its input: the library is named, with the array
    # API switch as the way out (scipy, scikit-learn)
    pkg = tmp_path / "site-packages" / "fakelib"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("import numpy as np\n\ndef f(x):\n"
                                     "    return np.asarray(x) * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site-packages"))
    import fakelib
    try:
        msg = message(lambda: fakelib.f(W))
    finally:
        sys.modules.pop("fakelib", None)
    assert "fakelib converts its input to a plain numpy array" in msg
    assert "SCIPY_ARRAY_API=1" in msg


def test_without_source_the_common_cases_are_listed():
    scope = {"np": np, "W": W}
    with pytest.raises(TypeError) as info:
        exec("np.asarray(W)", scope)
    msg = str(info.value)
    assert "X.dot(w) -> X @ w or np.dot(X, w)" in msg
    assert "np.array([a, b]) of duals -> np.stack([a, b])" in msg
    assert "x.value is the plain value" in msg


# --- numpy.polynomial: none of its functions dispatches -----------------------------------
C4 = np.array([0.5, -1.0, 2.0, 0.3])
X3 = np.array([0.1, -0.4, 0.7])
BASES = [(P.Polynomial, P.polynomial.polyval, P.polynomial.polyder),
         (P.Chebyshev, P.chebyshev.chebval, P.chebyshev.chebder),
         (P.Legendre, P.legendre.legval, P.legendre.legder),
         (P.Hermite, P.hermite.hermval, P.hermite.hermder),
         (P.HermiteE, P.hermite_e.hermeval, P.hermite_e.hermeder),
         (P.Laguerre, P.laguerre.lagval, P.laguerre.lagder)]
BASE_IDS = [cls.__name__ for cls, _, _ in BASES]


@pytest.mark.parametrize("cls,val,der", BASES, ids=BASE_IDS)
def test_polynomial_class_call_says_module_function(cls, val, der):
    name = f"np.polynomial.{val.__module__.split('.')[-1]}.{val.__name__}"
    p = cls(C4)
    assert f"evaluate it with {name}(x, p.coef)" in message(lambda: p(dual(X3)))
    q = cls(C4, domain=[-2.0, 3.0])
    assert f"off, scl = p.mapparms(); {name}(off + scl * x, p.coef)" in message(
        lambda: q(dual(X3)))
    # the fix: numpy's own values, bit for bit; derivatives from numpy's own derivative
    off, scl = q.mapparms()
    y = val(off + scl * dual(X3), q.coef)
    assert np.array_equal(y.value, q(X3))
    np.testing.assert_allclose(np.diagonal(y.partials), q.deriv()(X3), rtol=1e-13)


@pytest.mark.parametrize("cls,val,der", BASES, ids=BASE_IDS)
def test_polynomial_module_functions_differentiate_in_x(cls, val, der):
    # x a dual, the coefficients plain: numpy's code runs on duals (its arithmetic)
    y = val(dual(X3), C4)
    assert np.array_equal(y.value, val(X3, C4))
    np.testing.assert_allclose(np.diagonal(y.partials), val(X3, der(C4)), rtol=1e-13)
    for k in (2, 3):  # higher orders: Taylor mode, nested duals
        d = [ad.derivative(lambda t: val(t, C4), x0, order=k) for x0 in X3]
        np.testing.assert_allclose(d, val(X3, der(C4, k)), rtol=1e-12, atol=1e-12)
    h = ad.hessian(lambda v: np.sum(val(v, C4)), X3)
    np.testing.assert_allclose(h, np.diag(val(X3, der(C4, 2))), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,val,der", BASES, ids=BASE_IDS)
def test_polynomial_dual_coefficients_say_basis_matrix(cls, val, der):
    name = f"np.polynomial.{val.__module__.split('.')[-1]}.{val.__name__}"
    recipe = f"V = {name}(x[..., None], np.eye(len(c)), tensor=False), then V @ c"
    assert recipe in message(lambda: val(X3, dual(C4)))
    assert recipe in message(lambda: cls(dual(C4)))

    def fixed(z):  # the recipe: x and c both duals
        x, c = z[:3], z[3:]
        return val(x[..., None], np.eye(len(c)), tensor=False) @ c
    z0 = np.concatenate([X3, C4])
    y = ad.jvp(fixed, z0, np.ones(7))[0]
    np.testing.assert_allclose(y, val(X3, C4), rtol=1e-13)
    jac = ad.jacobian(fixed, z0)
    np.testing.assert_allclose(jac[:, :3], np.diag(val(X3, der(C4))), rtol=1e-12, atol=1e-13)
    vander = np.stack([val(X3, e) for e in np.eye(4)], axis=-1)  # d/dc: the basis values
    np.testing.assert_allclose(jac[:, 3:], vander, rtol=1e-12, atol=1e-13)


def test_power_basis_with_dual_coefficients_through_np_polyval():
    msg = message(lambda: P.polynomial.polyval(0.5, dual(C4)))
    assert "np.polyval(c[::-1], x)" in msg
    y = np.polyval(dual(C4)[::-1], dual(X3, np.zeros((3, 4))))
    assert np.array_equal(y.value, P.polynomial.polyval(X3, C4))  # the same Horner steps
    np.testing.assert_allclose(y.partials, X3[:, None] ** np.arange(4), rtol=1e-14)


# =========================================================================================
# out=
# =========================================================================================
def test_ufunc_out_writes_value_and_partials():
    a, b = dual([1.0, 2.0, 3.0]), np.array([2.0, 0.5, 4.0])
    out = np.zeros_like(a)
    r = np.multiply(a, b, out=out)
    assert r is out and np.array_equal(out.value, a.value * b)
    assert np.array_equal(out.partials, np.diag(b))
    d = a.copy()
    d += a * a  # in place: d = d + d**2
    assert np.array_equal(d.partials, np.diag(1 + 2 * a.value))
    z = np.zeros_like(a)  # out= a view: the write reaches the array it views
    np.add(a[:2], 1.0, out=z[1:])
    assert np.array_equal(z.value, [0.0, 2.0, 3.0])
    assert np.array_equal(z.partials, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])


def test_ufunc_where_with_out_keeps_out_elsewhere():
    b = np.array([2.0, 0.0, 4.0])

    def f(t):
        return np.divide(t, b, out=np.full_like(t, 7.0), where=b != 0)
    x0 = np.array([1.0, 2.0, 3.0])
    with np.errstate(all="raise"):  # (no warning from the skipped element)
        y = ad.jvp(f, x0, np.ones(3))
    assert np.array_equal(y[0], [0.5, 7.0, 0.75]) and np.array_equal(y[1], [0.5, 0.0, 0.25])
    np.testing.assert_array_equal(ad.hessian(lambda t: np.sum(f(t) ** 2), x0),
                                  np.diag([0.5, 0.0, 0.125]))


def test_out_into_plain_arrays_is_refused_saying_what_to_write():
    x = dual([1.0, 2.0])
    with pytest.raises(TypeError, match=r"out=ndarray\) would drop the derivative; pass a "
                                        r"DualNumber as out \(np\.zeros_like\(x\)"):
        np.sin(x, out=np.zeros(2))
    with pytest.raises(TypeError, match=r"would drop the derivative; pass a DualNumber as out"):
        np.cumsum(x, out=np.zeros(2))
    a = np.ones(2)
    with pytest.raises(TypeError, match=r"a \+= x with x a dual\) would drop the derivative; "
                                        r"write a = a \+ x"):
        a += x
    with pytest.raises(TypeError, match=r"write a = a \* x"):
        a *= x
    with pytest.raises(ValueError, match=r"numpy\.sum gives shape \(\), which does not fit "
                                         r"out= of shape \(2,\)"):
        np.sum(x, out=np.zeros_like(x))


# (name, f(x, out) -> result with out=out, f(x) -> result without out, out's shape)
_A = np.array([[0.3, -1.2, 0.8], [2.1, 0.4, -0.6]])
OUT_CASES = [
    ("clip", lambda x, o: np.clip(x, -0.5, 1.0, out=o), lambda x: np.clip(x, -0.5, 1.0),
     (2, 3)),
    ("clip-positional", lambda x, o: np.clip(x, -0.5, 1.0, o), lambda x: np.clip(x, -0.5, 1.0),
     (2, 3)),
    ("clip-method", lambda x, o: x.clip(-0.5, 1.0, out=o), lambda x: np.clip(x, -0.5, 1.0),
     (2, 3)),
    ("sum", lambda x, o: np.sum(x, axis=0, out=o), lambda x: np.sum(x, axis=0), (3,)),
    ("sum-positional", lambda x, o: np.sum(x, 1, None, o), lambda x: np.sum(x, 1), (2,)),
    ("mean", lambda x, o: np.mean(x, axis=1, out=o), lambda x: np.mean(x, axis=1), (2,)),
    ("prod", lambda x, o: np.prod(x, axis=0, out=o), lambda x: np.prod(x, axis=0), (3,)),
    ("cumsum", lambda x, o: np.cumsum(x, axis=1, out=o), lambda x: np.cumsum(x, axis=1),
     (2, 3)),
    ("cumprod", lambda x, o: np.cumprod(x, out=o), lambda x: np.cumprod(x), (6,)),
    ("max", lambda x, o: np.max(x, axis=0, out=o), lambda x: np.max(x, axis=0), (3,)),
    ("min", lambda x, o: np.min(x, axis=1, out=o), lambda x: np.min(x, axis=1), (2,)),
    ("ptp", lambda x, o: np.ptp(x, axis=0, out=o), lambda x: np.ptp(x, axis=0), (3,)),
    ("var", lambda x, o: np.var(x, axis=1, out=o), lambda x: np.var(x, axis=1), (2,)),
    ("std", lambda x, o: np.std(x, axis=0, ddof=1, out=o), lambda x: np.std(x, axis=0, ddof=1),
     (3,)),
    ("nanmean", lambda x, o: np.nanmean(x, axis=0, out=o), lambda x: np.nanmean(x, axis=0),
     (3,)),
    ("nansum", lambda x, o: np.nansum(x, axis=0, out=o), lambda x: np.nansum(x, axis=0), (3,)),
    ("nanvar", lambda x, o: np.nanvar(x, axis=1, out=o), lambda x: np.nanvar(x, axis=1), (2,)),
    ("median", lambda x, o: np.median(x, axis=1, out=o), lambda x: np.median(x, axis=1), (2,)),
    ("quantile", lambda x, o: np.quantile(x, 0.3, axis=0, out=o),
     lambda x: np.quantile(x, 0.3, axis=0), (3,)),
    ("percentile", lambda x, o: np.percentile(x, 30.0, axis=0, out=o),
     lambda x: np.percentile(x, 30.0, axis=0), (3,)),
    ("round", lambda x, o: np.round(x * 10, 1, out=o), lambda x: np.round(x * 10, 1), (2, 3)),
    ("trace", lambda x, o: np.trace(x[:, :2], out=o), lambda x: np.trace(x[:, :2]), ()),
    ("dot", lambda x, o: np.dot(x, _A.T, out=o), lambda x: np.dot(x, _A.T), (2, 2)),
    ("matmul", lambda x, o: np.matmul(_A.T, x, out=o), lambda x: np.matmul(_A.T, x), (3, 3)),
    ("outer", lambda x, o: np.outer(x[0], x[1], out=o), lambda x: np.outer(x[0], x[1]),
     (3, 3)),
    ("einsum", lambda x, o: np.einsum("ij,kj->ik", x, x, out=o),
     lambda x: np.einsum("ij,kj->ik", x, x), (2, 2)),
    ("concatenate", lambda x, o: np.concatenate([x, x * x], out=o),
     lambda x: np.concatenate([x, x * x]), (4, 3)),
    ("take", lambda x, o: np.take(x, [2, 0, 5], out=o), lambda x: np.take(x, [2, 0, 5]), (3,)),
    ("multi_dot", lambda x, o: np.linalg.multi_dot([x, _A.T, x], out=o),
     lambda x: np.linalg.multi_dot([x, _A.T, x]), (2, 3)),
]


@pytest.mark.parametrize("name,with_out,without,shape", OUT_CASES,
                         ids=[c[0] for c in OUT_CASES])
def test_functions_with_out_equal_the_result_without(name, with_out, without, shape):
    x0 = np.array([[0.5, -0.3, 1.7], [0.9, 2.2, -0.8]])
    x = dual(x0)
    out = np.zeros_like(x, shape=shape)
    r = with_out(x, out)
    assert r is out
    want = without(x)
    assert np.array_equal(out.value, want.value) and np.array_equal(out.partials,
                                                                    want.partials)

    def f(v):
        o = np.zeros_like(v, shape=shape)
        with_out(v, o)
        return np.sum(np.sin(o))  # (o itself, not the returned value)
    h = ad.hessian(f, x0)
    h_want = ad.hessian(lambda v: np.sum(np.sin(without(v))), x0)
    np.testing.assert_allclose(h, h_want, rtol=1e-13, atol=1e-14)
    assert ad.derivative(lambda t: f(x0 + t), 0.0, order=3) == pytest.approx(
        ad.derivative(lambda t: np.sum(np.sin(without(x0 + t))), 0.0, order=3), rel=1e-12)


def test_out_may_alias_the_input_and_views_pass_it_on():
    def f(v):
        d = v * 1.0
        np.clip(d, 0.0, 1.0, out=d)  # in place, as numpy writes it
        z = np.zeros_like(v, shape=(5,))
        np.cumsum(d, out=z[1:4])  # a view of z
        return z
    x0 = np.array([0.5, -0.2, 0.7])
    y = ad.jvp(f, x0, np.ones(3))[0]
    assert np.array_equal(y, np.concatenate([[0.0], np.cumsum(np.clip(x0, 0, 1)), [0.0]]))
    np.testing.assert_array_equal(ad.jacobian(f, x0),
                                  [[0, 0, 0], [1, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 0]])


def test_plain_inputs_into_a_dual_out():
    out = dual([5.0, 6.0])
    assert np.sum(np.ones((2, 2)), axis=0, out=out) is out
    assert np.array_equal(out.value, [2.0, 2.0]) and not np.any(out.partials)


# =========================================================================================
# the new functions: numpy's values; derivatives against independent oracles
# =========================================================================================
def fd_hessian(f, x):
    return fd_jacobian(lambda z: fd_jacobian(f, z), x)


def fd_third(g, t, h=2e-2):
    """The third derivative of a scalar function: the 6-point central stencil, O(h**4),
    extrapolated (Richardson) to O(h**6)."""
    def stencil(h):
        return sum(c * (g(t + k * h) - g(t - k * h))
                   for k, c in ((3, -1.0), (2, 8.0), (1, -13.0))) / (8 * h ** 3)
    return (16 * stencil(h / 2) - stencil(h)) / 15


def check_orders(f, x0, jacobian=None):
    """f's value is numpy's own, bit for bit; its Jacobian matches ``jacobian`` (exact, from
    numpy) or central differences; the Hessian of a scalar reduction matches differences of
    differences, and its third derivative along a line the 1-d stencil."""
    value = ad.jvp(f, x0, np.ones_like(x0))[0]
    assert np.array_equal(value, f(x0))
    jac = ad.jacobian(f, x0)
    if jacobian is not None:
        np.testing.assert_allclose(jac, jacobian, rtol=1e-14, atol=1e-15)
    else:
        np.testing.assert_allclose(jac, fd_jacobian(f, x0), rtol=1e-8, atol=1e-9)

    def loss(z):
        return np.sum(np.sin(f(z)) ** 2)
    h = ad.hessian(loss, x0)
    np.testing.assert_allclose(h, fd_hessian(loss, x0), rtol=1e-6, atol=1e-7)
    d = np.linspace(-1.0, 1.0, x0.size).reshape(x0.shape)
    t3 = ad.derivative(lambda t: loss(x0 + t * d), 0.1, order=3)
    assert t3 == pytest.approx(fd_third(lambda t: loss(x0 + t * d), 0.1), rel=1e-6, abs=1e-6)


def linear_operator(f, shape):
    """The Jacobian of a function linear in its input, from numpy's calls on unit arrays."""
    size = int(np.prod(shape))
    columns = [np.asarray(f(e.reshape(shape))) for e in np.eye(size)]
    return np.stack(columns, axis=-1).reshape(columns[0].shape + shape)


# --- convolution and correlation ---------------------------------------------------------
MODES = ["full", "same", "valid"]
LENGTHS = [(5, 3), (3, 5), (4, 4), (1, 3), (6, 1)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n,m", LENGTHS)
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_convolve_and_correlate(name, n, m, mode):
    f = getattr(np, name)
    a0, v0 = RNG.normal(size=n), RNG.normal(size=m)
    z0 = np.concatenate([a0, v0])
    # bilinear: the exact Jacobian is numpy's own function of unit vectors
    jac = np.concatenate([linear_operator(lambda a: f(a, v0, mode), (n,)),
                          linear_operator(lambda v: f(a0, v, mode), (m,))], axis=-1)
    check_orders(lambda z: f(z[:n], z[n:], mode), z0, jac)
    # one operand a dual, the other plain
    np.testing.assert_array_equal(ad.jacobian(lambda a: f(a, v0, mode), a0), jac[:, :n])
    np.testing.assert_array_equal(ad.jacobian(lambda v: f(a0, v, mode), v0), jac[:, n:])


def test_convolve_mode_numbers_and_errors_are_numpys():
    a, v = dual([1.0, 2.0, 3.0]), np.array([0.5, 1.0])
    for mode, same_as in ((0, "valid"), (1, "same"), (np.int64(2), "full")):
        y = np.convolve(a, v, mode)
        assert np.array_equal(y.value, np.convolve(a.value, v, mode))
        assert np.array_equal(y.partials, np.convolve(a, v, same_as).partials)
    with pytest.raises(ValueError):
        np.convolve(a, np.array([]))
    with pytest.raises(ValueError):
        np.correlate(a, v, mode="nope")


# --- covariance and correlation coefficients ---------------------------------------------
M34 = RNG.normal(size=(3, 4))
FW = np.array([1, 2, 1, 3])
AW = np.array([0.5, 2.0, 1.0, 3.0])
COV_CASES = [
    ("plain", lambda m: np.cov(m)),
    ("rowvar", lambda m: np.cov(m.T, rowvar=False)),
    ("bias", lambda m: np.cov(m, bias=True)),
    ("ddof", lambda m: np.cov(m, ddof=2)),
    ("y", lambda m: np.cov(m[0], m[1:])),
    ("y-rowvar", lambda m: np.cov(m.T, m[0], rowvar=False)),
    ("1-d", lambda m: np.cov(m[1])),
    ("fweights", lambda m: np.cov(m, fweights=FW)),
    ("aweights", lambda m: np.cov(m, aweights=AW)),
    ("both-ddof", lambda m: np.cov(m, fweights=FW, aweights=AW, ddof=1)),
    ("corrcoef", lambda m: np.corrcoef(m)),
    ("corrcoef-rowvar", lambda m: np.corrcoef(m.T, rowvar=False)),
    ("corrcoef-y", lambda m: np.corrcoef(m[0], m[2])),
]


@pytest.mark.parametrize("name,f", COV_CASES, ids=[c[0] for c in COV_CASES])
def test_cov_and_corrcoef(name, f):
    check_orders(f, M34)


def test_cov_refuses_dual_weights():
    with pytest.raises(TypeError, match=r"numpy\.cov\(\.\.\., aweights=\) takes plain "
                                        r"\(constant\) weights; pass aweights=w\.value"):
        np.cov(M34, aweights=dual(AW))
    with pytest.raises(TypeError, match=r"would drop the derivative"):
        np.cov(dual(M34), dtype=int)


# --- np.gradient: linear in f -------------------------------------------------------------
GRADIENT_CASES = [
    ("default", lambda f: np.gradient(f)),
    ("axis", lambda f: np.gradient(f, axis=1)),
    ("axis-neg-spacing", lambda f: np.gradient(f, 0.5, axis=-1, edge_order=2)),
    ("two-spacings", lambda f: np.gradient(f, 0.5, 2.0, edge_order=2)),
    ("coordinates", lambda f: np.gradient(f, [0.0, 0.4, 1.5, 1.7], axis=1)),
    ("coordinates-2", lambda f: np.gradient(f, [0.0, 0.4, 1.5, 1.7], axis=1, edge_order=2)),
    ("axes", lambda f: np.gradient(f, axis=(1, 0))),
]


def _stacked(y):
    return np.stack(y) if isinstance(y, (list, tuple)) else y


@pytest.mark.parametrize("name,g", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradient(name, g):
    def f(a):
        return _stacked(g(a))
    check_orders(f, M34, linear_operator(f, M34.shape))


def test_gradient_refuses_dual_spacing():
    with pytest.raises(TypeError, match=r"numpy\.gradient with DualNumber spacing.*x\.value"):
        np.gradient(dual([1.0, 2.0, 4.0]), DualNumber(0.5, 1.0))


# --- einsum's sublist form, fftshift / ifftshift ------------------------------------------
SUBLIST_CASES = [
    ("matmul", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), "ij,jk->ik"),
    ("implicit", lambda a, b: np.einsum(a, [0, 1], b, [1, 2]), "ij,jk"),
    ("transpose", lambda a, b: np.einsum(a, [1, 0]), "ji"),
    ("gram", lambda a, b: np.einsum(a, [0, 1], a, [2, 1], [0, 2]), "ij,kj->ik"),
    ("three", lambda a, b: np.einsum(a, [0, 1], b, [1, 2], b, [3, 2], [0, 3]),
     "ij,jk,lk->il"),
    ("ellipsis", lambda a, b: np.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2]),
     "...j,jk->...k"),
    ("high-labels", lambda a, b: np.einsum(a, [30, 1], b, [1, 5]), "ej,jb"),  # (30, 1, 5: e, B, F)
]


def _ab(z):
    return z[:6].reshape(2, 3), z[6:].reshape(3, 2)


@pytest.mark.parametrize("name,f,string", SUBLIST_CASES, ids=[c[0] for c in SUBLIST_CASES])
def test_einsum_sublist_form(name, f, string):
    z0 = RNG.normal(size=12)
    check_orders(lambda z: f(*_ab(z)), z0)
    # the same numbers as the string form: sublist labels 0-25 are A-Z, 26-51 a-z
    a, b = _ab(dual(z0))
    operands = {"gram": (a, a), "transpose": (a,), "three": (a, b, b)}.get(name, (a, b))
    y, y_string = f(a, b), np.einsum(string, *operands)
    assert np.array_equal(y.value, y_string.value)
    assert np.array_equal(y.partials, y_string.partials)


def test_einsum_sublist_labels_out_of_range():
    with pytest.raises(ValueError, match=r"integers in \[0, 52\) or Ellipsis, got 52"):
        np.einsum(dual([1.0, 2.0]), [52])


@pytest.mark.parametrize("name", ["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 1, (0,), (1, 0)])
def test_fftshift(name, axes):
    f = getattr(np.fft, name)
    check_orders(lambda a: f(a, axes), M34, linear_operator(lambda a: f(a, axes), M34.shape))


# --- np.poly* on coefficient arrays -------------------------------------------------------
POLY_CASES = [
    ("polyval", lambda a, b: np.polyval(a, b)),
    ("polyder", lambda a, b: np.polyder(a * b[0], 2)),
    ("polyint", lambda a, b: np.polyint(a, 2, k=b[:2])),
    ("polyadd", lambda a, b: np.polyadd(a, b[:2])),
    ("polysub", lambda a, b: np.polysub(b[:2], a)),
    ("polymul", lambda a, b: np.polymul(a, b[:3])),
    ("polydiv-q", lambda a, b: np.polydiv(a, b[:2])[0]),
    ("polydiv-r", lambda a, b: np.polydiv(a, b[:3])[1]),
    ("poly", lambda a, b: np.poly(a)),
]
Z7 = np.array([0.7, -1.3, 0.4, 2.0, 1.5, -0.5, 0.8])


@pytest.mark.parametrize("name,f", POLY_CASES, ids=[c[0] for c in POLY_CASES])
def test_np_poly_functions(name, f):
    check_orders(lambda z: f(z[:4], z[4:]), Z7)  # numpy's own steps: bit for bit


def test_poly1d_with_duals_is_refused():
    with pytest.raises(TypeError, match=r"pass its coefficients p\.coeffs"):
        np.polyadd(np.poly1d([1.0, 2.0]), dual([1.0, 2.0]))


@pytest.mark.parametrize("name", ["polyval2d", "polygrid2d"])
def test_polyval2d_and_polygrid2d(name):
    f = getattr(P.polynomial, name)
    c0 = RNG.normal(size=(3, 2))
    x0, y0 = np.array([0.3, -0.8, 1.1]), np.array([0.5, 0.2, -0.4])
    check_orders(lambda z: f(z[:3], z[3:6], z[6:].reshape(3, 2)),
                 np.concatenate([x0, y0, c0.ravel()]))
    # a dual x alone counts as an array, as a plain one does (tensor semantics)
    assert np.array_equal(ad.jvp(lambda x: f(x, y0, c0), x0, np.ones(3))[0], f(x0, y0, c0))


# --- a representative of each against jax, to rounding ------------------------------------
def _jax_third(f, x0, d, t):
    def g(s):
        return f(x0 + s * d)
    for _ in range(3):
        g = (lambda h: lambda s: jax.jvp(h, (s,), (1.0,))[1])(g)
    return float(jax.jit(g)(t))


JAX_CASES = [
    ("convolve-same", lambda xp, z: xp.convolve(z[:3], z[3:], "same")),
    ("correlate-valid", lambda xp, z: xp.correlate(z[:5], z[5:], "valid")),
    ("cov-weights", lambda xp, z: xp.cov(z.reshape(2, 4), fweights=FW, aweights=AW, ddof=1)),
    ("corrcoef", lambda xp, z: xp.corrcoef(z.reshape(2, 4))),
    ("einsum-sublist", lambda xp, z: xp.einsum(z[:6].reshape(2, 3), [0, 1],
                                               z[:6].reshape(2, 3), [2, 1], [0, 2])),
    ("polydiv", lambda xp, z: xp.polydiv(z[:5], z[5:])[0]),
]


@pytest.mark.parametrize("name,f", JAX_CASES, ids=[c[0] for c in JAX_CASES])
def test_against_jax(name, f):
    z0 = RNG.normal(size=8)

    def loss(z, xp):
        return xp.sum(xp.sin(f(xp, z)) ** 2)
    np.testing.assert_allclose(ad.jacobian(lambda z: f(np, z), z0),
                               jax.jit(jax.jacfwd(lambda z: f(jnp, z)))(z0), rtol=1e-12,
                               atol=1e-13)
    np.testing.assert_allclose(ad.hessian(lambda z: loss(z, np), z0),
                               jax.jit(jax.hessian(lambda z: loss(z, jnp)))(z0), rtol=1e-11,
                               atol=1e-12)
    d = np.linspace(-1.0, 1.0, 8)
    assert ad.derivative(lambda t: loss(z0 + t * d, np), 0.1, order=3) == pytest.approx(
        _jax_third(lambda z: loss(z, jnp), z0, d, 0.1), rel=1e-10, abs=1e-12)
