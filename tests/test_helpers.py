"""derivative, gradient, jacobian, jvp, jvp_many: inputs, outputs, chunking and errors.

Oracles are analytic formulas (and finite differences for a matrix-valued example).
"""
import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber

from _fd import fd_jacobian


def plain(r):
    """A plain numpy result: ndarray or numpy/Python float, never a dual or an object array."""
    assert not isinstance(r, DualNumber)
    if isinstance(r, np.ndarray):
        assert r.dtype.kind == "f"
        return True
    return isinstance(r, (float, np.floating))


# =========================================================================================
# derivative
# =========================================================================================
@pytest.mark.parametrize("x", [2, 2.0, np.float64(2.0), np.array(2.0), np.float32(2.0), True])
def test_derivative_scalar_inputs(x):
    d = ad.derivative(lambda t: t ** 3 + np.sin(t), x)
    assert plain(d) and np.ndim(d) == 0
    xf = float(x)
    assert d == pytest.approx(3 * xf ** 2 + np.cos(xf), rel=1e-6 if
                              np.result_type(x) == np.float32 else 1e-15)


def test_derivative_of_array_valued_function():
    d = ad.derivative(lambda t: np.array([1.0, 2.0, 3.0]) * t ** 2, 1.5)
    assert plain(d) and d.shape == (3,)
    np.testing.assert_allclose(d, [3.0, 6.0, 9.0], rtol=1e-15)
    d2 = ad.derivative(lambda t: np.stack([t, t * t]), 2.0)
    np.testing.assert_array_equal(d2, [1.0, 4.0])


def test_derivative_of_a_list_of_duals():
    np.testing.assert_array_equal(ad.derivative(lambda t: [t, 2 * t, t * t], 3.0),
                                  [1.0, 2.0, 6.0])


def test_derivative_of_constant_function():
    assert ad.derivative(lambda t: 5.0, 1.0) == 0.0
    np.testing.assert_array_equal(ad.derivative(lambda t: np.ones(3), 1.0), np.zeros(3))


def test_derivative_orders():
    f = lambda t: t ** 4  # noqa: E731
    assert ad.derivative(f, 2.0, order=0) == 16.0
    assert ad.derivative(f, 2.0, order=1) == 32.0
    assert ad.derivative(f, 2.0, order=2) == 48.0
    assert ad.derivative(f, 2.0, order=3) == 48.0
    assert ad.derivative(f, 2.0, order=4) == 24.0
    assert ad.derivative(f, 2.0, order=5) == 0.0
    assert ad.derivative(np.exp, 0.5, order=3) == pytest.approx(np.exp(0.5), rel=1e-14)


@pytest.mark.parametrize("x", [[1.0, 2.0], np.ones(2), np.ones((1, 1))])
def test_derivative_of_array_x_raises(x):
    with pytest.raises(ValueError, match="scalar"):
        ad.derivative(np.sin, x)


@pytest.mark.parametrize("order", [-1, 1.5, "2", 1.0, True, np.True_])
@pytest.mark.parametrize("x", [1.0, np.array(1.0)])  # the float path and the array path
def test_derivative_bad_order(order, x):
    with pytest.raises(ValueError, match="order"):
        ad.derivative(np.sin, x, order=order)


# =========================================================================================
# gradient
# =========================================================================================
def rosen(v):
    return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)


def rosen_grad(v):
    v = np.asarray(v, dtype=float)
    g = np.zeros_like(v)
    g[:-1] = -400.0 * v[:-1] * (v[1:] - v[:-1] ** 2) - 2.0 * (1.0 - v[:-1])
    g[1:] += 200.0 * (v[1:] - v[:-1] ** 2)
    return g


@pytest.mark.parametrize("x", [[1.5, -0.5, 2.0], np.array([0.3, 0.7, 1.1, -2.0]),
                               (0.1, 0.2), [1, 2, 3]])
def test_gradient_inputs(x):
    g = ad.gradient(rosen, x)
    assert plain(g) and g.shape == np.shape(x) and g.dtype == np.float64
    np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-14)


def test_gradient_keeps_x_shape():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    g = ad.gradient(lambda m: np.sum(m ** 3), x)
    assert g.shape == (2, 3)
    np.testing.assert_allclose(g, 3 * x ** 2, rtol=1e-15)


def test_gradient_of_scalar_x():
    g = ad.gradient(lambda t: t * t, 3.0)
    assert plain(g) and np.ndim(g) == 0 and g == 6.0


def test_gradient_classic_example():
    np.testing.assert_array_equal(
        ad.gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]), [24.0, 10.0])


@pytest.mark.parametrize("f,shape", [(lambda v: v * 2, "(3,)"),
                                     (lambda v: np.outer(v, v), "(3, 3)"),
                                     (lambda v: v[:1], "(1,)")])
def test_gradient_of_non_scalar_function_raises(f, shape):
    with pytest.raises(ValueError, match="scalar") as err:
        ad.gradient(f, [1.0, 2.0, 3.0])
    assert shape in str(err.value)


def test_gradient_float32():
    g = ad.gradient(lambda v: np.sum(v * v), np.ones(3, np.float32))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, 2.0)


# =========================================================================================
# jacobian
# =========================================================================================
@pytest.mark.parametrize("xshape,f,fshape", [
    ((), lambda x: x * x, ()),
    ((), lambda x: np.stack([x, x * x]), (2,)),
    ((3,), lambda x: np.sum(x), ()),
    ((3,), lambda x: np.sin(x), (3,)),
    ((2, 3), lambda x: np.sum(x, axis=0), (3,)),
    ((2, 3), lambda x: x.T @ x, (3, 3)),
    ((4,), lambda x: np.reshape(x, (2, 1, 2)) * 2.0, (2, 1, 2)),
    ((2, 2), lambda x: np.ones(5), (5,)),
])
def test_jacobian_shape(xshape, f, fshape):
    x = np.linspace(0.5, 1.5, int(np.prod(xshape))).reshape(xshape)
    jac = ad.jacobian(f, x)
    assert plain(jac) or np.ndim(jac) == 0
    assert np.shape(jac) == fshape + xshape
    np.testing.assert_allclose(jac, fd_jacobian(f, x), rtol=1e-7, atol=1e-9)


def test_jacobian_inputs_number_list_array():
    f = lambda x: np.array([1.0, 2.0]) * x ** 2  # noqa: E731
    np.testing.assert_array_equal(ad.jacobian(f, 3.0), [6.0, 12.0])
    np.testing.assert_array_equal(ad.jacobian(f, 3), [6.0, 12.0])
    np.testing.assert_array_equal(ad.jacobian(lambda v: v * v, [1, 2]), [[2, 0], [0, 4]])
    np.testing.assert_array_equal(ad.jacobian(lambda v: v * v, np.array([1.0, 2.0])),
                                  [[2, 0], [0, 4]])


def test_jacobian_of_empty_input():
    jac = ad.jacobian(lambda v: np.sum(v) + 1.0, np.zeros(0))
    assert jac.shape == (0,)


CHUNKS = [1, 2, 3, 7, None]


def elementwise(x):
    return np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x) + x[::-1] * x


def with_blas(x):
    m = x.reshape(3, 4)
    return np.tanh(m @ m.T) @ m + np.linalg.norm(x) * np.sum(m, axis=0)


@pytest.mark.parametrize("f,exact", [(elementwise, True), (with_blas, False)])
def test_jacobian_does_not_depend_on_chunk_size(f, exact):
    x = np.linspace(-1.0, 2.0, 12)
    jacs = [ad.jacobian(f, x, chunk_size=c) for c in CHUNKS]
    for j in jacs[1:]:
        assert j.shape == jacs[0].shape
        if exact:
            np.testing.assert_array_equal(j, jacs[0])
        else:
            np.testing.assert_allclose(j, jacs[0], rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(jacs[0], fd_jacobian(f, x), rtol=1e-7, atol=1e-8)


def test_chunk_size_larger_than_input_and_numpy_int():
    x = np.array([1.0, 2.0])
    expected = np.diag(2 * x)
    np.testing.assert_array_equal(ad.jacobian(lambda v: v * v, x, chunk_size=100), expected)
    np.testing.assert_array_equal(ad.jacobian(lambda v: v * v, x, chunk_size=np.int64(1)),
                                  expected)


@pytest.mark.parametrize("chunk", [0, -1, 1.5, "2", True])
@pytest.mark.parametrize("helper", [ad.jacobian,
                                    lambda f, x, chunk_size: ad.hessian(
                                        lambda v: np.sum(f(v)), x, chunk_size=chunk_size)])
def test_bad_chunk_size_raises(chunk, helper):
    with pytest.raises(ValueError, match="chunk_size"):
        helper(np.sin, [1.0, 2.0], chunk_size=chunk)


def test_automatic_chunk_size_bounds_directions(monkeypatch):
    seen = []

    def spy(x):
        seen.append(x.partials.shape[-1])
        return x * x
    monkeypatch.setattr(ad.config, "CHUNK_BUDGET_BYTES", 64 * 8 * 16 * 4)  # tiny budget
    x = np.arange(64.0)
    jac = ad.jacobian(spy, x)
    np.testing.assert_array_equal(jac, np.diag(2 * x))
    assert max(seen) < 64 and sum(seen) == 64


# =========================================================================================
# jvp and jvp_many
# =========================================================================================
def test_jvp():
    value, tangent = ad.jvp(lambda v: np.sin(v) * v[0], [0.5, 1.0], [1.0, -2.0])
    x = np.array([0.5, 1.0])
    assert plain(value) and plain(tangent)
    np.testing.assert_allclose(value, np.sin(x) * x[0], rtol=1e-15)
    expected = np.cos(x) * np.array([1.0, -2.0]) * x[0] + np.sin(x) * 1.0
    np.testing.assert_allclose(tangent, expected, rtol=1e-15)


def test_jvp_scalar():
    value, tangent = ad.jvp(np.exp, 0.0, 3.0)
    assert value == 1.0 and tangent == 3.0 and plain(value) and plain(tangent)


def test_jvp_matches_jacobian_times_v():
    x, v = np.linspace(0.1, 1.2, 12), np.linspace(-1, 1, 12)
    _, t = ad.jvp(with_blas, x, v)
    np.testing.assert_allclose(t, ad.jacobian(with_blas, x) @ v, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("v", [[1.0], [1.0, 2.0, 3.0], np.ones((2, 1)), 1.0])
def test_jvp_wrong_v_shape_raises(v):
    with pytest.raises(ValueError, match=r"v must have x's shape"):
        ad.jvp(np.sin, [1.0, 2.0], v)


def test_jvp_many():
    x = np.array([1.0, 2.0])
    directions = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    value, partials = ad.jvp_many(lambda v: v[0] * v[1], x, directions)
    assert plain(value) and plain(partials)
    assert value == 2.0 and partials.tolist() == [2.0, 1.0, 3.0]


def test_jvp_many_bad_directions_raise():
    with pytest.raises(ValueError, match="directions"):
        ad.jvp_many(np.sin, np.ones(2), np.ones((3, 1)))
    with pytest.raises(ValueError, match="directions"):
        ad.jvp_many(np.sin, np.ones(2), np.ones(2))
    for directions in ([[1.0], [None]], [[1j], [1.0]], [["a"], ["b"]]):  # not nan, not 0
        with pytest.raises(TypeError, match="directions"):
            ad.jvp_many(np.sin, np.ones(2), directions)


# =========================================================================================
# errors: bad inputs and bad function results
# =========================================================================================
@pytest.mark.parametrize("result", ["abc", None, {"a": 1}, {1.0}, object(), True, 1 + 2j])
@pytest.mark.parametrize("helper", ["derivative", "gradient", "jacobian", "jvp"])
def test_function_returning_non_numbers_raises(result, helper):
    f = lambda x: result  # noqa: E731
    call = {"derivative": lambda: ad.derivative(f, 1.0),
            "gradient": lambda: ad.gradient(f, [1.0]),
            "jacobian": lambda: ad.jacobian(f, [1.0]),
            "jvp": lambda: ad.jvp(f, [1.0], [1.0])}[helper]
    with pytest.raises(TypeError, match="return"):
        call()


@pytest.mark.parametrize("x", ["abc", None, [1.0, "a"], 1 + 2j, np.ones(2, complex), {}])
def test_bad_x_raises(x):
    with pytest.raises(TypeError, match="x"):
        ad.jacobian(np.sin, x)


@pytest.mark.parametrize("call", [
    lambda f, x: ad.jacobian(f, x, chunk_size=1),
    lambda f, x: ad.jvp(f, x, np.ones_like(x))[1],
    lambda f, x: ad.hessian(lambda v: np.sum(f(v)), x),
    lambda f, x: ad.hessian(lambda v: np.sum(f(v)), x, method="nested")])
def test_f_writing_into_its_argument_leaves_x_alone(call):
    # f(v) = (2v)² once v *= 2 ran on a copy; each chunk must start from the same x
    def f(v):
        v *= 2.0
        return v ** 2
    x = np.array([1.0, 2.0, 3.0])
    plain = call(lambda v: (2.0 * v) ** 2, x.copy())
    np.testing.assert_array_equal(call(f, x), plain)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_hessian_of_empty_input():
    for method in ("hyperdual", "nested"):
        assert ad.hessian(lambda v: np.sum(v ** 3), np.zeros(0), method=method).shape == (0, 0)


def test_errors_inside_f_propagate():
    def f(x):
        raise KeyError("boom")
    with pytest.raises(KeyError, match="boom"):
        ad.gradient(f, [1.0])


# =========================================================================================
# memory: a helper call leaves no reference cycles (they would keep its arrays alive until
# the garbage collector runs: with 10^6-element chains, tens of MB per call)
# =========================================================================================
def _rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


@pytest.mark.parametrize("call", [
    lambda: ad.jvp(lambda v: np.sin(v) * np.exp(-v * v) + np.sqrt(1.0 + v * v),
                   np.linspace(-1, 1, 1 << 18), np.ones(1 << 18)),  # a deferred chain
    lambda: ad.jvp_many(lambda v: np.cos(v) * v, np.linspace(-1, 1, 1 << 16),
                        np.ones((1 << 16, 4))),
    lambda: ad.hessian(_rosen, np.linspace(-1, 1, 20)),  # HyperDual
    lambda: ad.hessian(lambda v: np.block([[v[:2], v[2:4]]]).sum() ** 2, np.ones(20)),
    lambda: ad.gradient(lambda p: np.sum(p["w"] ** 2) * p["b"], {"w": np.ones(3), "b": 2.0}),
    lambda: ad.derivative(lambda t: np.exp(np.sin(t)) / (1 + t * t), 0.7, order=4),
], ids=["jvp chain", "jvp_many chain", "hessian", "hessian via nested", "gradient of a tree",
        "taylor"])
def test_a_helper_call_leaves_no_reference_cycles(call):
    import gc
    call(), call()  # warm: compile, calibrate, fill caches
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        call()
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_scalar_x_gives_python_floats_from_every_helper():
    f = lambda t: t ** 3  # noqa: E731  f' = 27, f'' = 18 at 3
    for got, want in [(ad.jacobian(f, 3.0), 27.0), (ad.hessian(f, 3.0), 18.0),
                      (ad.hessian(f, 3.0, method="nested"), 18.0),
                      (ad.value_grad_hessian(f, 3.0), (27.0, 27.0, 18.0))]:
        assert got == want and type(got) is type(want)
        assert all(type(g) is float for g in (got if isinstance(got, tuple) else (got,)))


def test_plain_zero_divisor_on_floats_at_second_order():
    # d²/dx² (x / 0) is 0 (x times a constant), not a ZeroDivisionError from 1.0 / 0.0
    assert ad.derivative(lambda x: x / 0.0, 1.0, order=2) == 0.0
    assert ad.derivative(lambda x: x * x / 0.0, 1.0, order=2) == np.inf


def test_helpers_inside_f_at_a_python_float():
    # g(t) = d/dv sin(v t) at v = t = t cos(t²); g' = cos(t²) - 2t² sin(t²)
    g = lambda t: ad.gradient(lambda v: np.sin(v * t), t)  # noqa: E731
    t = 0.7
    want = np.cos(t * t) - 2 * t * t * np.sin(t * t)
    assert ad.derivative(g, t) == pytest.approx(want, rel=1e-14)
    assert ad.derivative(g, t) == ad.derivative(g, np.float64(t))


def test_directions_that_depend_on_the_variable():
    # h(t) = J(t) v(t) with J = d/dv sin(v t) at v = t and v = t²: t³ cos(t²)
    h = lambda t: ad.jvp(lambda v: np.sin(v * t), t, t ** 2)[1]  # noqa: E731
    t = 0.7
    want = 6 * t * np.cos(t * t) - 14 * t ** 3 * np.sin(t * t) - 4 * t ** 5 * np.cos(t * t)
    assert ad.derivative(h, np.float64(t), order=2) == pytest.approx(want, rel=1e-12)
    # a Hessian of a Hessian-vector product along x itself, against differences of its gradient
    f = lambda x: np.sum(ad.hvp(lambda y: np.sum(np.sin(y * x) * y ** 3), x, x))  # noqa: E731
    x = np.array([0.3, 0.8, 1.1])
    np.testing.assert_allclose(ad.hessian(f, x), fd_jacobian(lambda z: ad.gradient(f, z), x),
                               rtol=1e-7, atol=1e-7)


def test_float16_computes_as_float32_in_both_hessian_routes():
    x = np.array([1.0, 2.0], np.float16)
    f = lambda v: np.sum(np.sin(v) ** 3 * np.exp(np.sum(v)))  # noqa: E731
    _, g, h = ad.value_grad_hessian(f, x)
    want = ad.gradient(f, x.astype(np.float64))
    assert g.dtype == np.float32 and np.allclose(g, want, rtol=1e-6)  # (not float16's 1e-3)
    assert h.dtype == ad.hessian(f, x, method="nested").dtype == np.float32
    assert np.allclose(h, ad.hessian(f, x.astype(np.float64)), rtol=1e-5)
