"""Jets (dualad/_jet.py): HyperDual's cheap route to each rule's second derivatives.

The oracle here is the other route, the same derivative functions run on tagged DualNumbers
(itself checked against finite differences and closed forms in test_second_order.py, as is
every HyperDual Hessian): for every rule of the table, the jet route must agree with it or
decline (``Unsupported``), never give another number.
"""
import numpy as np
import pytest

from dualad import hyperdual
from dualad._jet import Jet, Unsupported
from dualad._rules import RULES
from dualad._tags import fresh
from dualad.dual import make

CASES = [(u, live) for u, r in RULES.items() if r.kind in ("unary", "binary")
         for live in ([(0,)] if r.kind == "unary" else [(0,), (1,), (0, 1)])
         if all(r.derivs[a] is not None for a in live)]


def _point(rule, rng):
    # an argument that must be constant is an integer (ldexp's exponent, polygamma's order)
    return [rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), 7) if d is not None
            else np.round(rng.uniform(lo, hi, 7)).astype(int)
            for (lo, hi), d in zip(rule.domain, rule.derivs)]


def _dual_route(ufunc, rule, values, live):
    with fresh() as tag:
        return hyperdual._run_derivatives(ufunc, rule, values, list(live),
                                          lambda v, p: make(v, p, tag), tag)


def _close(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return np.allclose(a, b, rtol=1e-13, atol=1e-13 * (1.0 + np.max(np.abs(b))),
                       equal_nan=True)


@pytest.mark.parametrize("ufunc, live", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_the_jet_route_agrees_with_the_dual_route_or_declines(ufunc, live):
    rule = RULES[ufunc]
    values = _point(rule, np.random.default_rng(len(CASES)))
    want_first, want_second = _dual_route(ufunc, rule, values, live)
    try:
        first, second = hyperdual._run_derivatives(ufunc, rule, values, list(live), Jet, None)
    except Unsupported:
        return  # _second_derivatives then takes the dual route
    for got, want in zip(first, want_first):
        assert _close(got, want)
    for row, want_row in zip(second, want_second):
        for got, want in zip(row, want_row):
            assert _close(got, want)


def test_the_common_rules_take_the_jet_route():
    # (Unsupported here would mean HyperDual pays the dual route for its everyday rules)
    rng = np.random.default_rng(0)
    for ufunc, live in [(np.sin, (0,)), (np.exp, (0,)), (np.sqrt, (0,)), (np.tanh, (0,)),
                        (np.power, (0,)), (np.multiply, (0, 1)), (np.divide, (0, 1)),
                        (np.square, (0,))]:
        values = _point(RULES[ufunc], rng)
        first, second = hyperdual._run_derivatives(ufunc, RULES[ufunc], values, list(live),
                                                   Jet, None)
        want_first, want_second = _dual_route(ufunc, RULES[ufunc], values, live)
        assert all(_close(g, w) for g, w in zip(first, want_first)), ufunc
        assert all(_close(g, w) for row, wrow in zip(second, want_second)
                   for g, w in zip(row, wrow)), ufunc
    # and sin'' = -sin, by a closed form
    x = np.linspace(-2.0, 2.0, 9)
    first, second = hyperdual._run_derivatives(np.sin, RULES[np.sin], [x], [0], Jet, None)
    assert _close(first[0], np.cos(x)) and _close(second[0][0], -np.sin(x))


def test_what_jets_do_not_model_is_declined_and_done_on_duals():
    x = Jet(np.array([0.5, 2.0]), np.ones((2, 1)))
    with pytest.raises(Unsupported):
        np.where(x.value > 1.0, x, 2.0 * x)  # an array function
    with pytest.raises(Unsupported):
        float(x)
    # the exponent's derivative of power uses np.where: the dual route answers instead
    values = [np.array([0.5, 2.0]), np.array([1.5, 3.0])]
    first, second = hyperdual._second_derivatives(np.power, RULES[np.power], values, [1])
    x_, y_ = values
    assert _close(first[0], x_ ** y_ * np.log(x_))
    assert _close(second[0][0], x_ ** y_ * np.log(x_) ** 2)


def test_derivatives_constant_in_the_live_arguments_skip_both_routes():
    rule = RULES[np.multiply]
    assert hyperdual._constant_derivatives(rule, (0,))  # d/dx (x y) = y
    assert not hyperdual._constant_derivatives(rule, (0, 1))  # the cross term
    assert not hyperdual._constant_derivatives(RULES[np.sin], (0,))
    values = [np.array([1.0, 2.0]), np.array([3.0, -4.0])]
    first, second = hyperdual._second_derivatives(np.divide, RULES[np.divide], values, [0])
    assert _close(first[0], 1.0 / values[1]) and second == [[0.0]]
