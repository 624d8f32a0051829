"""Perturbation confusion: one-line regressions, as in ForwardDiff.jl's test/ConfusionTest.jl.

Each nested helper call owns a tag; a dual of another call must act as a constant.
"""
import numpy as np
import pytest

import dualad as ad
from dualad import derivative, gradient, jacobian


def test_inner_closes_over_outer():  # d/dx [x * d/dy (x + y)] = d/dx x = 1
    assert derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0) == 1.0


def test_inner_returns_outer_variable():  # d/dy x = 0, whatever x is
    assert derivative(lambda x: derivative(lambda y: x, x), 1.0) == 0.0


def test_inner_product():  # d/dx [x * d/dy (x y)] = d/dx x^2 = 2x
    assert derivative(lambda x: x * derivative(lambda y: x * y, 2.0), 3.0) == 6.0


def test_inner_evaluated_at_outer():  # d/dx [d/dy (x y^2) at y = x] = d/dx 2x^2 = 4x
    assert derivative(lambda x: derivative(lambda y: x * y * y, x), 1.5) == 6.0


def test_three_levels():  # d/dx d/dy d/dz (x y z) = 1
    assert derivative(lambda x: derivative(lambda y: derivative(
        lambda z: x * y * z, 1.0), 1.0), 1.0) == 1.0


def test_three_levels_squared():  # d/dx [x * d/dy (y * x y)] at y = 2 = d/dx 4 x^2 = 8x
    assert derivative(lambda x: x * derivative(lambda y: y * derivative(
        lambda z: x * y * z, 5.0), 2.0), 0.5) == 4.0


def test_gradient_of_inner_derivative():  # d/dt (t v1) = v1: gradient of v0 v1
    assert gradient(lambda v: v[0] * derivative(lambda t: t * v[1], 2.0),
                    [3.0, 4.0]).tolist() == [4.0, 3.0]


def test_jacobian_of_inner_gradient():  # grad_y (x . y)^2 / 2 = x (x . y); d/dx at y = x
    x = np.array([1.0, 2.0])
    jac = jacobian(lambda a: gradient(lambda b: np.dot(a, b) ** 2 / 2, a), x)
    np.testing.assert_allclose(jac, np.outer(x, x) * 2 + np.dot(x, x) * np.eye(2))


def test_sibling_inner_calls():  # d/dx [d/dy (x y) + d/dz (x z)] = 2
    assert derivative(lambda x: derivative(lambda y: x * y, 1.0)
                      + derivative(lambda z: x * z, 1.0), 1.0) == 2.0


class Scaled:
    """f_d(x) = x * f_{d-1}'(x), f_0(x) = x^2: so f_d = 2^d x^2 and f_d' = 2^(d+1) x."""

    def __init__(self, depth):
        self.depth = depth

    def __call__(self, x):
        if self.depth == 0:
            return x * x
        return x * derivative(Scaled(self.depth - 1), x)


def test_callable_differentiating_its_own_class():
    assert derivative(Scaled(1), 1.5) == 6.0 and derivative(Scaled(3), 1.5) == 24.0


def test_closure_mutating_state():  # the function changes between calls: each call is exact
    calls = []
    f = lambda x: (calls.append(1), x * len(calls))[1]  # noqa: E731
    assert [derivative(f, 1.0), derivative(f, 1.0), derivative(f, 1.0)] == [1.0, 2.0, 3.0]


def test_closure_keeping_a_dual_across_calls():  # a stale dual of a finished call is constant
    cache = []
    f = lambda x: x * (cache or cache.append(x) or cache)[0]  # noqa: E731
    results = [derivative(f, 3.0), derivative(f, 2.0), derivative(f, 2.0)]
    assert results == [6.0, 3.0, 3.0] and all(isinstance(r, float) for r in results)


def test_leaked_inner_dual_is_constant():  # y escapes the inner call; outside it is just 2
    def g(x, store):
        return derivative(lambda y: store.setdefault("y", y) * x, 2.0) + store["y"]
    assert derivative(lambda x: g(x, {}), 1.0) == 1.0
    assert isinstance(derivative(lambda x: g(x, {}), 1.0), float)  # plain, no leaked dual


def test_leaked_inner_dual_times_outer():  # x * (stale y = 2) -> derivative 2
    def g(x, store):
        return derivative(lambda y: store.setdefault("y", y) + x, 2.0) * x * store["y"]
    assert derivative(lambda x: g(x, {}), 1.5) == 2.0
    assert isinstance(derivative(lambda x: g(x, {}), 1.5), float)


def test_helper_inside_a_custom_rule_under_every_hessian_method():
    # the rule calls derivative() on its primal; HyperDual runs it on a dual of duals whose
    # (internal) tags must stay live for that inner call, or the Hessian silently becomes 0
    @ad.custom_jvp
    def f(x):
        return np.sin(x) * x

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        d = ad.derivative(lambda y: np.sin(y) * y, x)
        return f(x), np.expand_dims(d, -1) * t

    x0 = 0.7
    exact = 2 * np.cos(x0) - x0 * np.sin(x0)
    for method in ("hyperdual", "nested"):
        hess = ad.hessian(lambda v: f(v[0]), np.array([x0]), method=method)
        assert hess[0, 0] == pytest.approx(exact, rel=1e-12), method
