"""Writes through views and aliases, as numpy code makes them, at every order.

numpy code writes into views (``v = out[:2]; v *= x``) and aliases (``a = out; a *= x``).
The write must reach the viewed array even when the dual storage has to be promoted first
(a younger tag, dual values under nested duals, read-only broadcast partials), deferred
partials that read the array must see the old values, and HyperDual (which cannot write in
place) must hand such functions to nested duals. Oracles: finite differences of the same
function on plain floats (so numpy's own view semantics define the answer) and closed forms.
"""
import numpy as np
import pytest

import dualad as ad
from _fd import fd_jacobian


def view_imul(x):  # o[0] = x * x through a view: x²
    o = x * np.ones(2)
    v = o[:1]
    v *= x
    return o[0]


def view_setitem(x):  # o[0] = x³ written into a view
    o = x * np.ones(3)
    v = o[:2]
    v[0] = x ** 3
    return o[0] + o[2]


def fancy_copy(x):  # advanced indexing copies, in numpy too: the write does not reach o
    o = x * np.ones(2)
    v = o[[0]]
    v[0] = x ** 3
    return o[0] * x


def zeros_view(x):  # a constant array made a dual by a write into its view
    o = np.zeros(3) * x
    o[1:][0] = x ** 3
    return o[1]


FUNCTIONS = [view_imul, view_setitem, fancy_copy, zeros_view]


def scalar_fd(f, x, order):
    g = f
    for _ in range(order - 1):
        g = (lambda h: lambda t: fd_jacobian(lambda s: h(float(s)), np.array(t), h=1e-2))(g)
    return float(fd_jacobian(lambda s: g(float(s)), np.array(x), h=1e-2))


@pytest.mark.parametrize("f", FUNCTIONS)
@pytest.mark.parametrize("order", [1, 2, 3])
def test_derivatives_through_views(f, order):
    got = ad.derivative(f, 1.3, order=order)
    np.testing.assert_allclose(got, scalar_fd(f, 1.3, order), rtol=1e-5, atol=1e-5)


def test_hand_built_constant_dual_promoted_through_its_view():
    def f(x):
        o = ad.DualNumber(np.zeros(2))
        v = o[:1]
        v[0] = x * x
        return o[0]
    assert ad.derivative(f, 3.0) == 6.0


def view_in_product(v):  # out[0] *= v[1] through a view: v0 v1 + v1
    out = v * 1.0
    w = out[:1]
    w *= v[1]
    return np.sum(out)


def alias_imul(v):  # out *= v through an alias: Σ v²
    out = v * 1.0
    a = out
    a *= v
    return np.sum(out)


@pytest.mark.parametrize("method", ["hyperdual", "nested"])
def test_hessians_of_in_place_writes(method):
    x = np.array([1.5, -0.5])
    np.testing.assert_array_equal(ad.hessian(view_in_product, x, method=method),
                                  [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(ad.hessian(alias_imul, x, method=method), 2 * np.eye(2))


def test_hyperdual_refuses_in_place_writes_clearly():
    h = ad.HyperDual.seed(np.array([1.0, 2.0]))
    for write in (lambda: h.__setitem__(0, 1.0), lambda: h.__imul__(h),
                  lambda: np.sin(h, out=h), lambda: np.concatenate([h, h], out=h)):
        with pytest.raises(TypeError, match="in place"):
            write()


def test_deferred_partials_see_a_write_through_a_view():
    # sin's partials may be deferred until read; the write into o's view comes first
    x = np.linspace(0.1, 1.0, 100_000)

    def f(x):
        o = x * 1.0
        y = np.sin(o)
        v = o[:10]
        v[...] = 0.0
        return y
    _, t = ad.jvp(f, x, np.ones_like(x))
    np.testing.assert_allclose(t, np.cos(x), rtol=1e-14, atol=1e-15)


def put_cube(x):  # y[0] = x1³ by np.put
    y = x * 1.0
    np.put(y, [0], x[1] ** 3)
    return np.sum(y)


def copy_squares(x):  # y = x² by np.copyto
    y = np.zeros_like(x)
    np.copyto(y, x ** 2)
    return np.sum(y)


def fill_diagonal(x):  # the diagonal of a 2x2 of ones set to x0 x1
    y = np.outer(x[:2], np.ones(2))
    np.fill_diagonal(y, x[0] * x[1])
    return np.sum(y)


@pytest.mark.parametrize("f, closed_form", [
    (put_cube, lambda x: np.diag([0.0, 6 * x[1], 0.0])),
    (copy_squares, lambda x: 2 * np.eye(3)),
    (fill_diagonal, lambda x: 2 * np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0] * 3]))])
def test_hessians_of_numpy_functions_that_write_in_place(f, closed_form):
    x = np.array([1.0, 2.0, 3.0])
    for method in ("hyperdual", "nested"):
        np.testing.assert_array_equal(ad.hessian(f, x, method=method), closed_form(x))


VIEWS = {"ravel": np.ravel, "reshape": lambda y: y.reshape(4), "T": lambda y: y.T,
         "swapaxes": lambda y: np.swapaxes(y, 0, 1), "moveaxis": lambda y: np.moveaxis(y, 0, 1),
         "flip": np.flip, "rot90": np.rot90, "split": lambda y: np.split(y, 2, axis=1)[1],
         "squeeze": lambda y: np.squeeze(y[None]), "expand_dims": lambda y: np.expand_dims(y, 0),
         "atleast_3d": np.atleast_3d, "basic index": lambda y: y[::-1, 1:]}


@pytest.mark.parametrize("view", VIEWS.values(), ids=VIEWS.keys())
@pytest.mark.parametrize("make_y", [lambda x: x.reshape(2, 2) * 1.0,   # fresh partials
                                    lambda x: x.reshape(2, 2) - 1.0],  # shared, read-only
                         ids=["product", "linear rule"])
def test_writes_through_numpy_views_reach_the_array(view, make_y):
    # boundary-condition style: set one element of a view; the viewed array must follow
    def f(x):
        y = make_y(x)
        v = view(y)
        v[(0,) * np.ndim(v)] = x[3] ** 2 * x[0]
        return y
    x = np.array([0.5, 1.5, -1.0, 2.0])
    np.testing.assert_allclose(ad.jacobian(f, x), fd_jacobian(f, x), rtol=1e-8, atol=1e-9)
    # second order: the Hessian of the sum, against differences of the gradient
    h = ad.hessian(lambda x: np.sum(f(x) ** 2), x)
    want = fd_jacobian(lambda x: ad.gradient(lambda z: np.sum(f(z) ** 2), x), x)
    np.testing.assert_allclose(h, want, rtol=1e-7, atol=1e-7)
