"""One chain rule: every route multiplies a tangent p by a derivative d as ``times`` does.

``dualad.core.partials.times`` is the one definition of the guarded product (p * d, but +0.0
where p == 0 and d is inf or nan). Here the same rule, np.log (d = 1/x covers ±0, ±inf, nan
and normal derivatives), and np.divide runs on every route, numpy, per-rule kernel, chain
kernel, deferred chain pass, HyperDual (numpy and numba), Taylor, scalar duals (Python and C
operators), on the grid p, d in {±0, ±inf, nan, normal}, and the results are compared bit
for bit (signed zeros included; NaNs only as NaN) with ``times`` applied elementwise.
"""
import numpy as np
import pytest

import dualad as ad
from dualad import config
from dualad.accel import chains, fused, kernels, loops
from dualad.core.partials import chain, chain_same, chain_sum, times
from dualad.higher import hyperdual
from dualad.rules import RULES
from dualad.scalar import dual
from dualad.scalar import number as scalar_number

INF, NAN = np.inf, np.nan
TANGENTS = np.array([0.0, -0.0, INF, -INF, NAN, 1.5])
# x for np.log: d = 1/x is inf, -inf, +0, -0, nan, 0.5 (log of a negative number is nan too)
POINTS = np.array([0.0, -0.0, INF, -INF, NAN, 2.0])
P, X = (a.ravel() for a in np.meshgrid(TANGENTS, POINTS, indexing="ij"))
D = 1.0 / X  # log's derivative


def expected(p, d):
    return np.array([times(float(a), float(b)) for a, b in zip(p, d)])


def assert_same_bits(got, want, route):
    got = np.asarray(got, dtype=np.float64).ravel()
    want = np.asarray(want, dtype=np.float64).ravel()
    assert got.shape == want.shape, route
    nan = np.isnan(want)
    ok = np.where(nan, np.isnan(got), got.view(np.int64) == want.view(np.int64))
    bad = [(p, d, g, w) for p, d, g, w, o in zip(P, D, got, want, ok) if not o]
    assert not bad, f"{route}: (p, d, got, want) {bad[:6]}"


def tiled(a, size):
    reps = -(-size // a.size)
    return np.tile(a, reps)


def test_times_is_the_guarded_product():
    assert np.signbit(times(-0.0, INF)) == np.False_  # +0.0, not -0.0 * p
    assert times(0.0, NAN) == 0.0 and np.isnan(times(INF, 0.0))
    assert times(-0.0, 2.0) == 0.0 and np.signbit(times(-0.0, 2.0))  # a finite d: p * d
    assert times(0.0, INF, guard=False) != times(0.0, INF, guard=False)  # unguarded: nan


def test_numpy_route(numpy_only):
    want = expected(P, D)
    assert_same_bits(chain(P[:, None], D), want, "numpy chain")
    assert_same_bits(chain_same(P[:, None], D / 2, D / 2), expected(P, D / 2 + D / 2),
                     "numpy chain_same")
    zeros = np.zeros_like(P)[:, None]
    assert_same_bits(chain_sum(P[:, None], D, zeros, np.ones_like(D)), want + 0.0,
                     "numpy chain_sum")
    with np.errstate(all="ignore"):
        y = ad.jvp_many(np.log, X, P[:, None])[1]
    assert_same_bits(y, want, "numpy route of np.log")


@pytest.mark.parametrize("n", [1, 3])
def test_chain_kernels(n):
    m = config.CHAIN_KERNEL_MIN_SIZE
    p, d = tiled(P, m), tiled(D, m)
    pw = np.repeat(p[:, None], n, axis=1)
    assert kernels.fusable((pw,), (d,))
    out = np.empty_like(pw)
    kernels.chain1(pw, d, True, out)
    want = np.repeat(expected(p, d)[:, None], n, axis=1)
    for k in range(n):
        assert_same_bits(out[:, k][:P.size], want[:, k][:P.size], f"chain1 n={n}")
    assert_same_bits(chain(pw, d)[:P.size, 0], want[:P.size, 0], "partials.chain → kernel")
    kernels.chain_same(pw, d / 2, d / 2, True, out)
    assert_same_bits(out[:P.size, 0], expected(P, D / 2 + D / 2), "chain_same kernel")


def test_fused_per_rule_kernel(monkeypatch):
    if fused.mode(np.log) == "numpy":
        pytest.skip(f"np.log stays on the numpy path here: {fused.FALLBACK.get('log')}")
    monkeypatch.setattr(fused, "pays", lambda u: True)
    m = config.FUSED_MIN_SIZE
    x, p = tiled(X, m), tiled(P, m)
    with np.errstate(all="ignore"):
        ans, out = fused.apply(np.log, RULES[np.log], (x,), (p[:, None],))
    assert_same_bits(out[:P.size, 0], expected(P, D), "fused kernel of np.log")
    assert_same_bits(loops.guarded_times(-0.0, INF, True), 0.0, "compiled times")


@pytest.mark.parametrize("broadcast", [False, True])
def test_fused_binary_kernel(monkeypatch, broadcast):
    # x / y with x varying: d = 1 / y (y = 5e-324: inf without y being 0); y an array or a
    # broadcast scalar (a one-element operand of the generated loop)
    if fused.mode(np.divide) == "numpy":
        pytest.skip(f"np.divide stays on the numpy path here: {fused.FALLBACK.get('divide')}")
    monkeypatch.setattr(fused, "pays", lambda u: True)
    m = config.FUSED_MIN_SIZE
    ys = np.array([5e-324, -5e-324, INF, -INF, NAN, 2.0])
    tangents = tiled(TANGENTS, m)
    for y in ys:
        x = np.ones_like(tangents)
        operand = y if broadcast else np.full_like(tangents, y)
        with np.errstate(all="ignore"):
            got = fused.apply(np.divide, RULES[np.divide], (x, operand),
                              (tangents[:, None], None))
        want = [times(float(p), 1.0 / y) for p in TANGENTS]
        g = got[1][:TANGENTS.size, 0]
        ok = [np.isnan(w) and np.isnan(a) or np.float64(a).tobytes() == np.float64(w).tobytes()
              for a, w in zip(g, want)]
        assert all(ok), (y, list(zip(TANGENTS, g, want)))


def test_deferred_chain_pass(monkeypatch):
    monkeypatch.setattr(config, "DEFER_MIN_WORK", 1)
    m = config.DEFER_MIN_SIZE
    x, p = tiled(X, m), tiled(P, m)[:, None]
    chains._clear()
    with np.errstate(all="ignore"):
        for _ in range(2):  # a chain compiles on its second sighting
            y = ad.jvp_many(lambda v: np.log(v) * 1.0, x, p)[1]
    assert any(k is not False for k in chains._GRAPH_KERNELS.values())
    assert_same_bits(y[:P.size, 0], expected(P, D), "compiled chain pass")


@pytest.mark.parametrize("route", ["numpy", "numba"])
def test_hyperdual_updates(route):
    impl = hyperdual._NumpyKernels if route == "numpy" else kernels
    g = P[:, None].copy()
    h = np.zeros((P.size, 0))
    d2 = np.ones_like(D)
    out_g, out_h = np.empty_like(g), np.empty((P.size, 1))
    with np.errstate(all="ignore"):
        impl.hyper_chain1(g, h, D, d2, True, out_g, out_h)
    assert_same_bits(out_g, expected(P, D), f"HyperDual {route} gradient part")
    assert_same_bits(out_h, expected(P * P, d2), f"HyperDual {route} Hessian part")
    gy = np.zeros_like(g)
    out2 = np.empty_like(g)
    with np.errstate(all="ignore"):
        impl.hyper_chain2(g, h, gy, h, D, d2, d2, d2, d2, True, out2, out_h)
    assert_same_bits(out2, expected(P, D) + 0.0, f"HyperDual {route} two-argument gradient")


def test_hyperdual_numpy_and_numba_agree_on_random_data():
    rng = np.random.default_rng(0)
    m, n = 50, 4
    k = n * (n + 1) // 2
    args = [rng.standard_normal((m, n)), rng.standard_normal((m, k)),
            rng.standard_normal((m, n)), rng.standard_normal((m, k))]
    derivs = [rng.standard_normal(m) for _ in range(5)]
    derivs[2][::7] = INF
    args[0][::3] = 0.0
    outs = []
    for impl in (hyperdual._NumpyKernels, kernels):
        og, oh = np.empty((m, n)), np.empty((m, k))
        with np.errstate(all="ignore"):
            impl.hyper_chain2(*args, *derivs, True, og, oh)
        outs.append((og, oh))
    for a, b in zip(*outs):
        assert np.array_equal(a, b, equal_nan=True)


def test_taylor_first_order():
    t = ad.Taylor(np.stack([X, P], axis=-1))
    with np.errstate(all="ignore"):
        c = np.log(t).coeffs[..., 1]
    assert_same_bits(c, expected(P, D), "Taylor")


def test_scalar_duals_python_operators():
    got = [ad.math.log(dual(float(x), float(p))).tangent for p, x in zip(P, X)]
    assert_same_bits(got, expected(P, D), "ScalarDual (dualad.math.log)")


@pytest.mark.parametrize("c_operators", [False, True])
def test_scalar_division(c_operators, monkeypatch):
    # x / y with a constant y: d = 1 / y; y = 5e-324 makes d inf without y being 0
    ys = np.array([5e-324, -5e-324, INF, -INF, NAN, 2.0])
    tangents, divisors = (a.ravel() for a in np.meshgrid(TANGENTS, ys, indexing="ij"))
    if c_operators and scalar_number._cscalar is None:
        pytest.skip("the C operators are not built")
    if not c_operators:
        monkeypatch.setattr(scalar_number.ScalarDual, "__truediv__",
                            scalar_number._Operators.__truediv__)
    got = [(dual(1.0, float(p)) / float(y)).tangent for p, y in zip(tangents, divisors)]
    want = np.array([times(float(p), 1.0 / float(y)) for p, y in zip(tangents, divisors)])
    with np.errstate(all="ignore"):
        array = ad.jvp_many(lambda v: v / divisors, np.ones_like(divisors),
                            tangents[:, None])[1][:, 0]
    global P, D
    saved = P, D
    P, D = tangents, 1.0 / divisors
    try:
        assert_same_bits(array, want, "DualNumber division")
        assert_same_bits(got, want, "ScalarDual division (C)" if c_operators
                         else "ScalarDual division (Python)")
    finally:
        P, D = saved
