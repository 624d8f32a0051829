"""Traced second derivatives (dualad/_trace.py): HyperDual's cheap route to each rule's f''.

The oracle here is the other route, the same derivative functions run on tagged DualNumbers
(itself checked against finite differences and closed forms in test_second_order.py, as is
every HyperDual Hessian): for every rule of the table, the traced program must agree with it
on the call that traces and on a later call that replays, or decline (``Untraceable``),
never give another number.
"""
import numpy as np
import pytest

import dualad as ad
from dualad.higher import hyperdual, trace as _trace
from dualad.rules.table import RULES, Rule
from dualad.core.tags import fresh
from dualad.higher.trace import Untraceable, second_derivatives

CASES = [(u, live) for u, r in RULES.items() if r.kind in ("unary", "binary")
         for live in ([(0,)] if r.kind == "unary" else [(0,), (1,), (0, 1)])
         if all(r.derivs[a] is not None for a in live)]


def _point(rule, rng):
    # an argument that must be constant is an integer (ldexp's exponent, polygamma's order)
    return [rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), 7) if d is not None
            else np.round(rng.uniform(lo, hi, 7)).astype(int)
            for (lo, hi), d in zip(rule.domain, rule.derivs)]


def _dual_route(ufunc, rule, values, live):
    with np.errstate(all="ignore"), fresh() as tag:
        return hyperdual._dual_derivatives(ufunc, rule, values, list(live), tag)


def _traced(ufunc, rule, values, live):
    with np.errstate(all="ignore"):
        ans = ufunc(*values)
    return second_derivatives(ufunc, rule, values, tuple(live), ans)


def _close(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    finite = np.abs(b[np.isfinite(b)])  # (infinities must match exactly)
    scale = 1.0 + (finite.max() if finite.size else 0.0)
    return np.allclose(a, b, rtol=1e-13, atol=1e-13 * scale, equal_nan=True)


def _agree(got, want):
    (first, second), (want_first, want_second) = got, want
    return (all(_close(g, w) for g, w in zip(first, want_first))
            and all(_close(g, w) for row, want_row in zip(second, want_second)
                    for g, w in zip(row, want_row)))


@pytest.fixture(autouse=True)
def _fresh_programs():
    ad.config.clear_caches("higher.trace")  # each test traces its own programs


@pytest.mark.parametrize("ufunc, live", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_traced_and_replayed_derivatives_agree_with_the_dual_route_or_decline(ufunc, live):
    rule = RULES[ufunc]
    rng = np.random.default_rng(len(CASES))
    for call in ("trace", "replay"):
        values = _point(rule, rng)
        try:
            got = _traced(ufunc, rule, values, live)
        except Untraceable:
            assert call == "trace"  # a program, once made, keeps serving
            return  # _second_derivatives then takes the dual route
        assert _agree(got, _dual_route(ufunc, rule, values, live)), call


def test_the_common_rules_are_traced():
    # (Untraceable here would mean HyperDual pays the dual route for its everyday rules)
    rng = np.random.default_rng(0)
    for ufunc, live in [(np.sin, (0,)), (np.exp, (0,)), (np.sqrt, (0,)), (np.tanh, (0,)),
                        (np.power, (0,)), (np.power, (1,)), (np.power, (0, 1)),
                        (np.multiply, (0, 1)), (np.divide, (0, 1)), (np.square, (0,)),
                        (np.hypot, (0, 1)), (np.maximum, (0, 1)), (np.absolute, (0,))]:
        values = _point(RULES[ufunc], rng)
        got = _traced(ufunc, RULES[ufunc], values, live)
        assert _agree(got, _dual_route(ufunc, RULES[ufunc], values, live)), ufunc
    # and sin'' = -sin, by a closed form, on the replay
    x = np.linspace(-2.0, 2.0, 9)
    first, second = _traced(np.sin, RULES[np.sin], [x], (0,))
    assert _close(first[0], np.cos(x)) and _close(second[0][0], -np.sin(x))


def test_a_guard_that_answers_otherwise_traces_again():
    # power's base derivative branches on np.all(y != 0): traced with y != 0, replayed at y = 0
    rule = RULES[np.power]
    x = np.array([0.0, 2.0, 3.0])
    _traced(np.power, rule, [x, np.array([1.5, 3.0, 2.0])], (0,))
    y = np.array([0.0, 3.0, 2.0])
    first, second = _traced(np.power, rule, [x, y], (0,))
    assert _close(first[0], [0.0, 12.0, 6.0])  # d/dx x**0 = 0, also at x = 0
    assert _close(second[0][0], [0.0, 12.0, 2.0])


def test_what_a_trace_cannot_model_is_declined_and_done_on_duals():
    new = np.frompyfunc(lambda x: x, 1, 1)  # a ufunc of no table: its key is its own
    for d in (lambda x, a: float(x) * x, lambda x, a: np.clip(x, 0.0, 1.0),
              lambda x, a: x.dtype):
        with pytest.raises(Untraceable):
            second_derivatives(new, Rule("unary", (d,), ((0.0, 1.0),)), [np.ones(2)], (0,),
                               np.ones(2))
    values = [np.array([0.5, 2.0]), np.array([1.5, 3.0])]
    rule = RULES[np.fmax]  # its derivatives use bitwise_or of two tangent-free masks: traced
    assert _agree(_traced(np.fmax, rule, values, (0, 1)),
                  _dual_route(np.fmax, rule, values, (0, 1)))


def test_derivatives_constant_in_the_live_arguments_are_programs_of_no_steps():
    values = [np.array([1.0, 2.0]), np.array([3.0, -4.0])]
    first, second = _traced(np.multiply, RULES[np.multiply], values, (0,))
    assert first[0] is values[1] and second == [[0.0]]
    key = (np.multiply, (0,), 2)
    assert _trace._PROGRAMS[key][1].steps == []
    first, second = _traced(np.divide, RULES[np.divide], values, (0,))
    assert _close(first[0], 1.0 / values[1]) and second == [[0.0]]


def test_answers_kept_per_constant_number_serve_that_number_only():
    # x / c: f' = 1/c whatever x is, so the answers are kept per c; ±0.0 (equal keys, answers
    # of opposite signs) and nan (no key) are computed every time
    rule = RULES[np.divide]
    x = np.array([1.0, -2.0])
    for c in (2.0, -3.0, 2.0, 0.0, -0.0, -0.0, 0.0, float("nan"), 0.5, -3.0):
        assert _agree(_traced(np.divide, rule, [x, c], (0,)),  # (inf: sign exact)
                      _dual_route(np.divide, rule, [x, np.float64(c)], (0,))), c
    assert {k[1] for k in _trace._BY_CONSTANTS} == {(2.0,), (-3.0,), (0.5,)}
    # derivatives that read the live argument are not kept: sin, or x ** c
    _traced(np.sin, RULES[np.sin], [x], (0,))
    _traced(np.power, RULES[np.power], [np.abs(x), 2.5], (0,))
    _traced(np.power, RULES[np.power], [np.abs(x), 2.5], (0,))
    assert len(_trace._BY_CONSTANTS) == 3


def test_a_kept_program_whose_guard_reads_a_constant_traces_again():
    # f' in x depends on the constant y only, through a branch on y: kept per y, and a new y
    # that takes the other branch retraces instead of replaying the first one
    new = np.frompyfunc(lambda x, y: x, 2, 1)  # (a key of its own; its rule is below)
    rule = Rule("binary", (lambda x, y, a: 1.0 / y if np.all(y > 0) else -1.0 / y, None),
                ((0.1, 1.0), (0.1, 1.0)))
    x = np.array([1.0, 2.0])
    for y in (2.0, -4.0, 2.0, -4.0, 5.0):
        first, second = second_derivatives(new, rule, [x, y], (0,), x)
        assert np.allclose(first[0], 1.0 / abs(y)) and second == [[0.0]], y


# --- property: a program traced at one point serves every other point ---------------------
from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def _case_and_points(draw):
    ufunc, live = draw(st.sampled_from(CASES))
    rule = RULES[ufunc]

    def point():
        # each argument: a few values from its domain, and sometimes an exact 0 or 1 (where
        # guards such as power's np.all(y != 0) answer otherwise)
        args = []
        for (lo, hi), d in zip(rule.domain, rule.derivs):
            v = draw(st.lists(st.one_of(st.floats(lo, hi), st.sampled_from([0.0, 1.0])),
                              min_size=3, max_size=3))
            args.append(np.array(v) if d is not None else np.round(v).astype(int))
        return args
    return ufunc, live, point(), point()


@given(_case_and_points())
def test_property_a_replayed_program_agrees_with_the_dual_route(case):
    ufunc, live, first_point, later_point = case
    rule = RULES[ufunc]
    _trace._PROGRAMS.clear()
    try:
        _traced(ufunc, rule, first_point, live)  # traces
    except Untraceable:
        return
    got = _traced(ufunc, rule, later_point, live)  # replays (or traces again at a guard)
    assert _agree(got, _dual_route(ufunc, rule, later_point, live))


def test_a_derivative_that_raised_once_is_traced_again_later():
    # a derivative may raise at some points only: the rule is not given up on for good
    calls = {"n": 0}

    def d(x, a):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("outside the domain at this point")
        return np.cos(x)
    new = np.frompyfunc(lambda x: x, 1, 1)  # a ufunc of no table: its key is its own
    rule = Rule("unary", (d,), ((0.0, 1.0),))
    values, live, ans = [np.array([0.3, 0.6])], (0,), np.sin(np.array([0.3, 0.6]))
    with pytest.raises(Untraceable, match="outside the domain"):
        second_derivatives(new, rule, values, live, ans)
    for _ in range(3):  # the next calls wait (the nested route), then it is traced again
        try:
            first, second = second_derivatives(new, rule, values, live, ans)
            break
        except Untraceable:
            continue
    else:
        pytest.fail("the rule was never traced again")
    assert np.allclose(first[0], np.cos(values[0]))
    assert np.allclose(second[0][0], -np.sin(values[0]))
    assert _trace._PROGRAMS[(new, live, 1)][1].steps  # a program now


def test_a_derivative_that_always_raises_is_given_up_after_a_few_tries():
    new = np.frompyfunc(lambda x: x, 1, 1)
    rule = Rule("unary", (lambda x, a: float(x) * x,), ((0.0, 1.0),))
    tries = 0
    for _ in range(2 ** 10):
        try:
            second_derivatives(new, rule, [np.ones(2)], (0,), np.ones(2))
        except Untraceable as e:
            tries += e.__cause__ is not None  # (a fresh trace failed, not a wait)
    assert 2 <= tries <= _trace._MAX_TRIES
