"""Fallback signals that user code swallows: Taylor mode (derivative, order >= 3) and the
HyperDual route of hessian / value_grad_hessian ask for the work to be redone with nested
duals by raising TaylorUnsupported / PerturbationMix, which are TypeErrors. A function that
wraps an operation in ``try/except TypeError`` (or ``except Exception``) swallows the signal;
the helper must notice afterwards and redo the work, never return the swallowed result.

Oracles: closed-form derivatives, and the nested-dual route (``method="nested"``), which
raises no fallback signal.
"""
import contextvars
import threading

import numpy as np
import pytest

import dualad as ad
from dualad import Taylor
from dualad.higher.kinds import PerturbationMix, TaylorUnsupported

CATCHES = [TypeError, Exception]


def det_power(x, k, catch):
    """x ** (k + 1) as the determinant of diag(x, x ** k); Taylor mode has no det."""
    try:
        return np.linalg.det(np.stack([np.stack([x, 0 * x]), np.stack([0 * x, x ** k])]))
    except catch:
        return 0.0 * x


# --- Taylor mode ---------------------------------------------------------------------------
@pytest.mark.parametrize("catch", CATCHES)
def test_taylor_order_3_swallowed_det(catch):
    # d^3/dx^3 x^3 = 6 (the wrong answer was 0.0)
    assert ad.derivative(lambda x: det_power(x, 2, catch), 2.0, order=3) == pytest.approx(6.0)


@pytest.mark.parametrize("catch", CATCHES)
@pytest.mark.parametrize("order, expected", [(3, 60 * 2.0 ** 2), (4, 120 * 2.0), (5, 120.0)])
def test_taylor_higher_orders_swallowed_det(catch, order, expected):
    # d^k/dx^k x^5 at 2: 60 x^2 = 240 (k = 3), 120 x = 240, 120
    got = ad.derivative(lambda x: det_power(x, 4, catch), 2.0, order=order)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("catch", CATCHES)
def test_taylor_swallowed_missing_method(catch):
    # x.mean() exists on duals, not on Taylor numbers (missing_method): f = x^3 everywhere
    def f(x):
        try:
            m = x.mean()
        except catch:
            m = 0.0 * x
        return m * x * x
    assert ad.derivative(f, 1.5, order=3) == pytest.approx(6.0)
    assert ad.derivative(f, 1.5, order=4) == 0.0


@pytest.mark.parametrize("catch", CATCHES)
def test_taylor_swallowed_float_conversion(catch):
    # float() of a Taylor number signals; of a nested dual it is a real error too, so f is
    # sin(x) ** 3 whichever route runs (a guard, right before the fix as well: the redo with
    # nested duals that the swallowed signal now causes must give the same number)
    def f(x):
        try:
            c = float(x) * 0.0
        except catch:
            c = 0.0
        return np.sin(x) ** 3 + c
    x = 0.7
    s, c = np.sin(x), np.cos(x)
    expected = 6 * c ** 3 - 21 * s ** 2 * c  # d^3/dx^3 sin^3 x
    assert ad.derivative(f, x, order=3) == pytest.approx(expected, rel=1e-12)


def test_taylor_swallowed_then_other_error():
    # a swallowed signal turned into another exception: the nested route computes det
    def f(x):
        try:
            return np.linalg.det(np.stack([np.stack([x, 0 * x]), np.stack([0 * x, x * x])]))
        except TypeError:
            raise ValueError("no determinant") from None
    assert ad.derivative(f, 2.0, order=3) == pytest.approx(6.0)


def test_taylor_swallowed_in_copied_context():
    # f runs the operation in a copy of the context (as callbacks of some libraries do)
    def f(x):
        return contextvars.copy_context().run(det_power, x, 2, TypeError)
    assert ad.derivative(f, 2.0, order=3) == pytest.approx(6.0)


# --- HyperDual route of hessian / value_grad_hessian ---------------------------------------
def write_in_place(catch):
    def g(x):  # x0^6 + x1^2 (HyperDual refuses the write x[0] = ...)
        y = x * 1.0
        try:
            y[0] = x[0] ** 3
        except catch:
            pass
        return np.sum(y ** 2)
    return g


def mean_times_product(catch):
    def h(x):  # (x0 + x1) / 2 * x0 * x1 (HyperDual has no .mean())
        try:
            m = x.mean()
        except catch:
            m = 0.0
        return m * x[0] * x[1]
    return h


X = np.array([1.5, 2.0])


@pytest.mark.parametrize("catch", CATCHES)
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_hessian_swallowed_write(catch, chunk_size):
    g = write_in_place(catch)
    expected = np.array([[30 * X[0] ** 4, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(ad.hessian(g, X, chunk_size=chunk_size), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.hessian(g, X, method="nested"), expected, rtol=1e-12)
    value, grad, hess = ad.value_grad_hessian(g, X, chunk_size=chunk_size)
    assert value == pytest.approx(X[0] ** 6 + X[1] ** 2)
    np.testing.assert_allclose(grad, [6 * X[0] ** 5, 2 * X[1]], rtol=1e-12)
    np.testing.assert_allclose(hess, expected, rtol=1e-12)


@pytest.mark.parametrize("catch", CATCHES)
@pytest.mark.parametrize("chunk_size", [None, 1])
def test_hessian_swallowed_missing_method(catch, chunk_size):
    h = mean_times_product(catch)
    x0, x1 = X
    expected = np.array([[x1, x0 + x1], [x0 + x1, x0]])
    np.testing.assert_allclose(ad.hessian(h, X, chunk_size=chunk_size), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.hessian(h, X, chunk_size=chunk_size),
                               ad.hessian(h, X, method="nested"), rtol=1e-12)


def test_hessian_swallowed_then_other_error():
    def g(x):
        y = x * 1.0
        try:
            y[0] = x[0] ** 3
        except TypeError:
            raise ValueError("cannot write") from None
        return np.sum(y ** 2)
    np.testing.assert_allclose(ad.hessian(g, X), [[30 * X[0] ** 4, 0.0], [0.0, 2.0]])


def test_hessian_in_threads():
    # each thread's helper watches its own calls; all of them get the right Hessian
    g = write_in_place(Exception)
    expected = np.array([[30 * X[0] ** 4, 0.0], [0.0, 2.0]])
    results = [None] * 8

    def work(i):
        results[i] = ad.hessian(g, X)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, rtol=1e-12)


# --- nested helpers ------------------------------------------------------------------------
def test_inner_helper_swallows_signal_of_outer():
    # inner derivative (Taylor) inside hessian (HyperDual): x.mean() on the outer HyperDual
    # signals inside the inner call, and user code swallows it there
    def F(x):
        def inner(t):
            try:
                m = x.mean()
            except Exception:  # noqa: BLE001  (the point of the test)
                m = 0.0
            return t ** 3 * m
        return ad.derivative(inner, 1.0, order=3) * x[0] * x[1]  # 6 mean(x) x0 x1
    x0, x1 = X
    expected = 3 * np.array([[2 * x1, 2 * (x0 + x1)], [2 * (x0 + x1), 2 * x0]])
    np.testing.assert_allclose(ad.hessian(F, X, method="nested"), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.hessian(F, X), expected, rtol=1e-12)


def test_inner_helper_falls_back_on_its_own():
    # an inner helper that falls back (swallowed signal of its own) in f: outer still right
    def F(x):
        c = ad.derivative(lambda t: det_power(t, 2, TypeError), 2.0, order=3)  # 6
        return c * x[0] ** 2 * x[1]
    x0, x1 = X
    expected = 6 * np.array([[2 * x1, 2 * x0], [2 * x0, 0.0]])
    np.testing.assert_allclose(ad.hessian(F, X), expected, rtol=1e-12)
    assert ad.derivative(lambda s: F(np.stack([s, s])), 1.0, order=3) == pytest.approx(36.0)
    assert ad.derivative(lambda s: det_power(s, 2, TypeError) * ad.derivative(
        lambda t: det_power(t, 2, TypeError), 2.0, order=3), 1.0, order=3) \
        == pytest.approx(36.0)


# --- real user errors still behave ---------------------------------------------------------
def counted(f):
    calls = []

    def wrapped(x):
        calls.append(type(x))
        return f(x)
    return wrapped, calls


def own_type_error(x):
    try:
        bad = "a" + 1  # a TypeError of the user's own, nothing to do with dualad
    except TypeError:
        bad = 0.0
    return x ** 4 + bad


def test_own_type_error_taylor_keeps_fast_route():
    f, calls = counted(own_type_error)
    assert ad.derivative(f, 2.0, order=3) == pytest.approx(48.0)  # 24 x
    assert calls == [Taylor]  # one Taylor pass, no redo


def test_own_type_error_hyperdual_keeps_fast_route():
    f, calls = counted(lambda x: own_type_error(x[0]) * x[1])
    np.testing.assert_allclose(ad.hessian(f, X), [[12 * X[0] ** 2 * X[1], 4 * X[0] ** 3],
                                                  [4 * X[0] ** 3, 0.0]], rtol=1e-12)
    assert calls == [ad.HyperDual]  # one HyperDual pass, no redo


def test_own_type_error_propagates():
    def f(x):
        return x ** 2 + "a"  # a real error: both routes raise it
    with pytest.raises(TypeError):
        ad.derivative(f, 2.0, order=3)
    with pytest.raises(TypeError):
        ad.hessian(lambda x: f(x[0]), X)


def test_direct_use_still_raises_type_error():
    # outside the helpers the signals stay ordinary TypeErrors
    t = Taylor.variable(np.float64(2.0), 3)
    with pytest.raises(TaylorUnsupported):
        float(t)
    with pytest.raises(TypeError):
        np.linalg.det(np.stack([np.stack([t, t]), np.stack([t, t])]))
    h = ad.HyperDual.seed(X)
    with pytest.raises(PerturbationMix):
        h.mean()
    with pytest.raises(TypeError):
        float(h[0])
