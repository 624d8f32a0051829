"""Helpers in one thread do not change the route of helpers in another: the Taylor and
HyperDual passes are marked running per thread (contextvars), not per process."""
import threading

import numpy as np

import dualad as ad


def _while_another_thread_is_inside(outer, inner):
    """Run ``inner()`` in a second thread while the first is inside ``outer(block)``."""
    inside, done = threading.Event(), threading.Event()
    got = {}

    def block():
        inside.set()
        assert done.wait(30)

    def first():
        got["outer"] = outer(block)
    t = threading.Thread(target=first)
    t.start()
    try:
        assert inside.wait(30)
        got["inner"] = inner()
    finally:
        done.set()
        t.join()
    return got


def test_a_taylor_pass_in_another_thread_leaves_this_one_on_taylor_mode():
    def outer(block):
        def f(x):
            block()
            return np.exp(x)
        return ad.derivative(f, 0.3, order=5)

    seen = []

    def inner():
        def g(x):
            seen.append(type(x))
            return np.sin(x) * x
        return ad.derivative(g, 0.7, order=6)
    got = _while_another_thread_is_inside(outer, inner)
    assert seen == [ad.Taylor]  # one Taylor pass, not k nested duals
    assert np.isclose(got["outer"], np.exp(0.3), rtol=1e-12)
    # d^6/dx^6 (x sin x) = -x sin x + 6 cos x
    assert np.isclose(got["inner"], -0.7 * np.sin(0.7) + 6 * np.cos(0.7), rtol=1e-12)


def test_a_hyperdual_pass_in_another_thread_leaves_this_one_on_hyperduals():
    def outer(block):
        def f(v):
            block()
            return np.sum(v ** 3)
        return ad.hessian(f, np.array([1.0, 2.0]))

    seen = []

    def inner():
        def g(v):
            seen.append(type(v))
            return v[0] ** 2 * v[1] + v[1] + 2
        return ad.hessian(g, [3.0, 4.0])
    got = _while_another_thread_is_inside(outer, inner)
    assert seen == [ad.HyperDual]
    np.testing.assert_array_equal(got["outer"], np.diag([6.0, 12.0]))
    np.testing.assert_array_equal(got["inner"], [[8.0, 6.0], [6.0, 0.0]])
