"""Deferred partials (dualad/_lazy.py): chains of elementwise rules in one pass.

The oracle is the rule-by-rule path with the chains switched off, itself checked against
finite differences and closed forms elsewhere: the chain pass must give the same bits (within
a few ulps where it takes sin's or cos's derivative from dualad/_vmath.py), the first time a
chain is seen (rule by rule) and after it is compiled (second time), which agree with each
other bit for bit, for random chains over the whole rule table, shared subexpressions,
constants, the 0·inf guard, long chains and in-place writes that would change a value the
chain still has to read.
"""
import numpy as np
import pytest

import dualad as ad
from dualad import config
from dualad.accel import chains as _lazy, fused as _fused, loops
from dualad.rules.table import RULES

from _oracles import fd

M = 5000  # above MIN_SIZE


@pytest.fixture(autouse=True, scope="module")
def small_chains_too():
    # M elements times a few directions is below MIN_WORK: defer them anyway, to test
    saved = config.DEFER_MIN_WORK
    config.DEFER_MIN_WORK = 1
    yield
    config.DEFER_MIN_WORK = saved


def test_chains_are_deferred_here():
    seen = []
    ad.jvp_many(lambda v: seen.append(type((np.sin(v) * v)._p)) or v, np.ones(M),
                np.ones((M, 1)))
    assert seen == [_lazy.Deferred]


def _eager(f, x, V):
    saved = config.DEFER_MIN_SIZE
    config.DEFER_MIN_SIZE = 1 << 62
    try:
        return ad.jvp_many(f, x, V)
    finally:
        config.DEFER_MIN_SIZE = saved


def _same(a, b):
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _close(a, b):
    # sin and cos's derivatives in the chain pass come from dualad/_vmath.py, within 1 ulp
    # of libm's (tests/test_vmath.py): a few ulps of the largest partial after the chain rule
    finite = np.isfinite(b)
    scale = max(1.0, float(np.max(np.abs(b[finite]), initial=0.0)))
    return (a.shape == b.shape and np.array_equal(np.isfinite(a), finite)
            and np.allclose(a[finite], b[finite], rtol=1e-13, atol=1e-13 * scale))


def _check(f, x, V, vmath=False):
    """Compare with the rule-by-rule path: bit for bit, or within a few ulps where the chain
    takes sin's or cos's derivative (``vmath``); the first, compiled and cached runs agree
    bit for bit with each other in any case."""
    want_value, want = _eager(f, x, V)
    runs = []
    for _ in range(3):  # rule by rule, then compiled, then from the cache
        value, got = ad.jvp_many(f, x, V)
        assert _same(value, want_value)
        assert (_close if vmath else _same)(got, want), np.nanmax(np.abs(got - want))
        runs.append(got)
    assert all(_same(r, runs[0]) for r in runs[1:])
    return got


UNARY = [u for u, r in RULES.items() if r.kind == "unary" and _fused.mode(u) != "numpy"]
BINARY = [u for u, r in RULES.items() if r.kind == "binary" and None not in r.derivs
          and _fused.mode(u) != "numpy"]
LINEAR = [np.add, np.subtract, np.negative, np.positive, np.deg2rad]


def _inside(u, v):
    lo, hi = RULES[u].domain[0]
    return lo + (hi - lo) * (0.1 + 0.8 * (np.tanh(v) + 1.0) / 2.0)  # into the domain


def _random_chain(rng, depth=6):
    ops = []
    for _ in range(depth):
        kind = rng.choice(["unary", "binary", "linear", "const"])
        if kind == "unary":
            ops.append(("u", UNARY[rng.integers(len(UNARY))]))
        elif kind == "binary":
            ops.append(("b", BINARY[rng.integers(len(BINARY))]))
        elif kind == "linear":
            ops.append(("l", LINEAR[rng.integers(len(LINEAR))]))
        else:
            ops.append(("c", float(rng.uniform(0.5, 2.0))))

    def f(x):
        y = x
        for kind, op in ops:
            if kind == "u":
                y = op(_inside(op, y) if RULES[op].domain[0] != (-3.0, 3.0) else y)
            elif kind == "b":
                y = op(_inside(op, y), _inside(op, x * 0.5 + 0.1))
            elif kind == "l":
                y = op(y, x) if RULES[op].derivs.__len__() == 2 else op(y)
            else:
                y = y * op + np.sin(y)  # a constant and a shared subexpression
        return y
    f.ops = ops
    return f


@pytest.mark.parametrize("seed", range(6))
def test_random_chains_equal_the_rule_by_rule_path(seed):
    rng = np.random.default_rng(seed)
    n = 1 + 2 * (seed % 2)
    f = _random_chain(rng)
    x = rng.uniform(-1.5, 1.5, M)
    V = rng.standard_normal((M, n))
    vmath = any(op in (np.sin, np.cos) or kind == "c" for kind, op in f.ops)
    with np.errstate(all="ignore"):
        _check(f, x, V, vmath)


def test_value_and_derivative_in_one_pass_equal_the_rule_by_rule_path(monkeypatch):
    # force the pass on every rule it could serve, so the test does not depend on the timing
    # in _fused.shared_pass (sin and cos are not among them: _vmath computes their values)
    fused = [u for u in UNARY if _fused.mode(u) == "fused"]
    assert np.sqrt in fused and np.sin not in fused
    monkeypatch.setattr(_fused, "_SHARES", {u: loops.value_derivative(u) for u in fused})
    rng = np.random.default_rng(7)
    V = rng.standard_normal((M, 2))
    V[::9] = 0.0  # with zero tangents where a derivative is infinite (the 0 * inf guard)
    for u in fused:
        x = _inside(u, rng.uniform(-2.0, 2.0, M))
        x[:3] = RULES[u].domain[0][0]  # the domain's edge
        used = []

        def f(v):
            y = u(v)
            used.append(getattr(y._p, "deriv", None) is not None)
            return y * v + u(v * 0.5) - 1.0
        with np.errstate(all="ignore"):
            _check(f, x, V)
        assert used[0] is False and all(used[1:]), u  # eager first, then deferred


def test_the_shared_pass_only_serves_unary_rules_numba_computes_the_value_of():
    for u, rule in RULES.items():
        if rule.kind != "unary" or _fused.mode(u) != "fused":
            assert _fused.shared_pass(u) is None, u


def test_the_benchmark_expression_against_its_closed_form():
    x = np.linspace(-3.0, 3.0, M)
    V = np.cos(np.arange(M))[:, None] * np.array([1.0, -2.0])

    def f(v):
        return np.sin(v) * np.exp(-v * v) + np.sqrt(1.0 + v * v)
    got = _check(f, x, V, vmath=True)
    d = np.cos(x) * np.exp(-x * x) - 2 * x * np.sin(x) * np.exp(-x * x) + x / np.sqrt(1 + x * x)
    assert np.allclose(got, d[:, None] * V, rtol=1e-13, atol=1e-13)


def test_zero_tangents_stay_zero_where_a_derivative_is_infinite():
    x = np.linspace(0.0, 2.0, M)  # sqrt'(0) is infinite
    V = np.ones((M, 2))
    V[0] = 0.0
    got = _check(lambda v: np.sqrt(v * v * v) + np.exp(v) * v, x, V)
    assert np.all(np.isfinite(got))


def test_long_chains_are_cut_into_pieces():
    def f(v):
        for k in range(3 * config.DEFER_MAX_NODES):
            v = np.sin(v) + 0.1 * k
        return v
    _check(f, np.linspace(-1.0, 1.0, M), np.ones((M, 2)), vmath=True)


def test_a_write_into_a_value_a_chain_still_reads_is_seen_first():
    def f(v):
        a = np.exp(v)
        b = a * a  # reads a's value to form its partials
        a[:100] = 0.0  # in place: b's partials must use the old values
        return b + a
    x = np.linspace(-1.0, 1.0, M)
    got = _check(f, x, np.ones((M, 1)))
    assert np.allclose(got[100:, 0], 2 * np.exp(2 * x[100:]) + np.exp(x[100:]), rtol=1e-14)
    assert np.allclose(got[:100, 0], 2 * np.exp(2 * x[:100]), rtol=1e-14)


def test_chains_mixed_with_other_operations():
    def f(v):
        y = np.tanh(v) * v
        z = np.cumsum(y[::-1])[::-1] / M  # not elementwise: the chain is materialized
        return np.exp(-z) * y + np.repeat(y[::2], 2)
    x = np.linspace(-1.0, 1.0, M)
    _check(f, x, np.ones((M, 2)))
    jac = ad.jacobian(lambda v: f(v)[:3], x)
    assert np.allclose(jac[:, :3], [[fd(lambda t: f(np.r_[x[:j], t, x[j + 1:]])[i], x[j])
                                     for j in range(3)] for i in range(3)], rtol=1e-7,
                       atol=1e-9)


def test_second_order_through_chains():
    x = np.linspace(-1.0, 1.0, M)
    v = np.cos(np.arange(M))

    def f(y):
        return np.sum(np.sin(y) * np.exp(y / 3.0) + y * y * y)
    hv = ad.hvp(f, x, v)
    d2 = -np.sin(x) * np.exp(x / 3) + 2 / 3 * np.cos(x) * np.exp(x / 3) \
        + np.sin(x) * np.exp(x / 3) / 9 + 6 * x
    assert np.allclose(hv, d2 * v, rtol=1e-12, atol=1e-12)


def test_hand_built_duals_are_not_deferred():
    d = ad.DualNumber(np.linspace(0, 1, M), np.ones((M, 1)))
    y = np.sin(d) * d
    assert type(y._p) is np.ndarray  # outside a helper: computed at once


def test_a_replaced_rule_is_not_served_from_old_kernels():
    import numba

    @numba.vectorize(["float64(float64)"])
    def cube(x):
        return x * x * x
    x = np.linspace(-1.0, 1.0, M)
    f = lambda v: np.sin(cube(v)) * v  # noqa: E731
    try:
        ad.register_ufunc(cube, lambda v, a: 2.0 * v)  # deliberately wrong, then fixed
        for _ in range(3):  # per-rule kernels, chain compiled
            ad.jvp(f, x, np.ones(M))
        ad.unregister(cube)
        ad.register_ufunc(cube, lambda v, a: 3.0 * v * v)
        for _ in range(3):
            _, t = ad.jvp(f, x, np.ones(M))
            assert np.allclose(t, np.cos(x ** 3) * 3 * x ** 3 + np.sin(x ** 3), rtol=1e-13,
                               atol=1e-13)
    finally:
        if cube in ad.custom._REGISTERED:
            ad.unregister(cube)


def test_writing_into_a_result_that_shares_partials_leaves_the_input_alone():
    def f(v):
        y = v + 1.0  # linear, one live argument: the partials are v's own
        y[:10] = 0.0
        return y * v + v
    x = np.linspace(-1.0, 1.0, M)
    V = np.ones((M, 1))
    got = _check(f, x, V)
    assert np.all(V == 1.0)  # the caller's directions are untouched
    assert np.allclose(got[10:, 0], 2 * x[10:] + 2.0, rtol=1e-14)
    assert np.allclose(got[:10, 0], 1.0)


def test_a_chain_that_cannot_be_compiled_runs_rule_by_rule(monkeypatch):
    def broken(desc):
        raise RuntimeError("no compiler today")
    monkeypatch.setattr(_lazy, "_generate", broken)
    monkeypatch.setattr(_lazy, "_GRAPH_KERNELS", {})
    monkeypatch.setattr(_lazy, "_SEEN", {})
    _check(lambda v: np.cos(v) * np.exp(v) - v, np.linspace(-1.0, 1.0, M), np.ones((M, 2)),
           vmath=True)


def test_copies_and_pickles_carry_computed_partials():
    import copy
    import pickle
    kept = []

    def f(v):
        y = np.exp(v) * v  # deferred
        kept.extend([copy.copy(y), copy.deepcopy(y), pickle.loads(pickle.dumps(y))])
        return y
    x = np.linspace(-1.0, 1.0, M)
    _, want = ad.jvp_many(f, x, np.ones((M, 1)))
    for y in kept:
        assert type(y._p) is np.ndarray and np.array_equal(y.partials, want)
