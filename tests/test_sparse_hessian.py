"""The forward-only sparse Hessian (dualad/sparse/hessian.py): a HyperDual pass with one
direction per color, each final reduction's elements read back by the colors.

Oracles: analytic Hessians (chained Rosenbrock, x·Ax/2 + Σ sin x, the arrowhead, logsumexp),
the dense ``dualad.hessian`` and ``dualad.gradient`` (bit for bit where the arithmetic is the
same, else 1e-12 relative), jax where installed, and hypothesis programs of random sums of
element functions. Every fallback and refusal is exercised and its result checked.
"""
import os
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import dualad as ad
from dualad.sparse import hessian as sh
from dualad.sparse.coloring import Pattern
from dualad.sparse.hessian import HessianPlan, colored_hessian


def dense(data, pattern):
    out = np.zeros(pattern.shape)
    out[pattern.rows(), pattern.indices] = data
    return out


def close(a, b, rtol=1e-12):
    scale = max(1.0, float(np.max(np.abs(b)))) if np.size(b) else 1.0
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0)) <= rtol * scale


def sparse_result(f, x, **kw):
    plan = HessianPlan(f, x, **kw)
    value, grad, data = plan(x)
    return plan, value, grad, dense(data, plan.pattern)


# --- the standard problems -------------------------------------------------------------
def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_hessian(x):
    n = len(x)
    H = np.zeros((n, n))
    i = np.arange(n - 1)
    H[i, i] += 1200 * x[:-1] ** 2 - 400 * x[1:] + 2
    H[i + 1, i + 1] += 200
    H[i, i + 1] = H[i + 1, i] = -400 * x[:-1]
    return H


def banded(n, b, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    a = a + a.T
    a[np.abs(np.subtract.outer(np.arange(n), np.arange(n))) > b] = 0.0
    return a


@pytest.mark.parametrize("n", [5, 50, 200])
@pytest.mark.parametrize("mode", ["local", "global"])
def test_chained_rosenbrock(n, mode):
    x = np.random.default_rng(n).normal(size=n)
    plan, value, grad, H = sparse_result(rosen, x, mode=mode)
    assert plan.n_colors == 2 and plan.fallback is None
    assert value == rosen(x)  # numpy's own sum
    assert close(H, rosen_hessian(x), 1e-13)
    assert close(H, ad.hessian(rosen, x))
    assert np.array_equal(grad, ad.gradient(rosen, x))
    assert np.array_equal(plan.pattern.to_dense(), np.abs(rosen_hessian(x)) > 0)


QUADRATICS = {
    "x @ A @ x": lambda A: lambda x: x @ A @ x / 2 + np.sum(np.sin(x)),
    "np.dot(x, A @ x)": lambda A: lambda x: np.dot(x, A @ x) / 2 + np.sum(np.sin(x)),
    "np.sum(x * (A @ x))": lambda A: lambda x: np.sum(x * (A @ x)) / 2 + np.sum(np.sin(x)),
}


@pytest.mark.parametrize("spelling", sorted(QUADRATICS))
@pytest.mark.parametrize("n, b", [(12, 1), (60, 3)])
def test_banded_quadratic_three_spellings(spelling, n, b):
    A = banded(n, b)
    f = QUADRATICS[spelling](A)
    x = np.random.default_rng(1).normal(size=n)
    plan, value, grad, H = sparse_result(f, x)
    assert plan.n_colors == 2 * b + 1 and plan.fallback is None
    assert close(H, A - np.diag(np.sin(x)), 1e-14)
    # the element Hessians are single terms here: the same numbers as the dense pass
    assert np.array_equal(H, ad.hessian(f, x))
    assert close(grad, ad.gradient(f, x)) and close(grad, A @ x + np.cos(x))
    assert value == f(x)


def test_arrowhead_needs_two_colors():
    n = 40
    x = np.random.default_rng(2).normal(size=n)
    f = lambda x: np.sum((x[0] * x[1:]) ** 2)  # noqa: E731
    plan, value, grad, H = sparse_result(f, x)
    assert plan.n_colors == 2
    expected = np.zeros((n, n))
    expected[0, 0] = 2 * np.sum(x[1:] ** 2)
    expected[0, 1:] = expected[1:, 0] = 4 * x[0] * x[1:]
    expected[np.arange(1, n), np.arange(1, n)] = 2 * x[0] ** 2
    assert close(H, expected, 1e-14)
    assert np.array_equal(H, ad.hessian(f, x))
    assert np.array_equal(grad, ad.gradient(f, x))


def test_mean_and_linear_combinations_of_reductions():
    x = np.random.default_rng(3).normal(size=30)
    mean = lambda x: np.mean(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa
    plan, value, grad, H = sparse_result(mean, x)
    assert close(H, rosen_hessian(x) / 29, 1e-14)
    assert np.array_equal(H, ad.hessian(mean, x))
    assert np.array_equal(grad, ad.gradient(mean, x))
    two = lambda x: 3.0 * rosen(x) - np.sum(np.cos(x)) / 2.0 + 7.0  # noqa: E731
    plan, value, grad, H = sparse_result(two, x)
    assert plan.n_latent == 2 and plan.fallback is None
    assert close(H, 3 * rosen_hessian(x) + np.diag(np.cos(x)) / 2, 1e-14)
    assert close(H, ad.hessian(two, x))
    assert close(grad, ad.gradient(two, x))
    assert value == two(x)


@pytest.mark.parametrize("name, f", [
    ("einsum", lambda x: np.einsum("i,i->", x[1:], x[:-1] ** 2) + np.einsum("i->", np.exp(x))),
    ("vdot", lambda x: np.vdot(x.reshape(4, 6), np.sin(x).reshape(4, 6))),
    ("inner", lambda x: np.inner(x[1:], np.cos(x[:-1]))),
    ("methods", lambda x: (x ** 3).sum() + x.dot(np.cos(x)) + np.tanh(x).mean()),
    ("add.reduce", lambda x: np.add.reduce(np.tanh(x[1:] * x[:-1]))),
    ("2-D sum", lambda x: np.sum(np.sin(x.reshape(4, 6)) * x.reshape(4, 6)[::-1])),
    ("partial sums", lambda x: np.sum(np.sum(x.reshape(4, 6) ** 2, axis=1) ** 2)),
    ("no reduction", lambda x: x[0] * x[1] + np.sin(x[2])),
    ("scalar meets a sum", lambda x: x[0] ** 2 * np.sum(np.sin(x[1:]))),
    ("sums of sums", lambda x: np.sum(x[::2] ** 2) * np.sum(np.sin(x[1::2]))),
    ("comparison with a sum", lambda x: np.sum(np.where(x > np.mean(x), x ** 2, np.sin(x)))),
])
def test_reductions_and_compositions(name, f):
    x = np.random.default_rng(4).normal(size=24)
    plan, value, grad, H = sparse_result(f, x, mode="local")
    assert plan.fallback is None, plan.fallback
    assert close(H, ad.hessian(f, x))
    assert close(grad, ad.gradient(f, x))
    assert value == f(x)
    assert plan.n_colors < 24 or name == "no reduction"


# --- nonlinear functions of sums, and the fallbacks ---------------------------------------
def test_logsumexp_is_exact_without_fallback():
    x = np.random.default_rng(5).normal(size=50)
    f = lambda x: np.log(np.sum(np.exp(x)))  # noqa: E731
    plan, value, grad, H = sparse_result(f, x)
    assert plan.fallback is None and plan.n_colors == 1  # one direction: the elements are x_i
    p = np.exp(x) / np.sum(np.exp(x))
    assert close(H, np.diag(p) - np.outer(p, p), 1e-14)
    assert close(H, ad.hessian(f, x)) and close(grad, p, 1e-14)
    # the stable spelling: the max is a scalar meeting a sum, made one more element
    g = lambda x: np.max(x) + np.log(np.sum(np.exp(x - np.max(x))))  # noqa: E731
    plan, value, grad, H = sparse_result(g, x, mode="local")
    assert plan.fallback is None and plan.n_colors == 2
    assert close(H, np.diag(p) - np.outer(p, p), 1e-14) and close(grad, p, 1e-14)


def test_an_array_meeting_a_sum_falls_back_to_the_dense_route():
    x = np.random.default_rng(6).normal(size=20)
    f = lambda x: np.sum(x * np.sum(x ** 2)) + rosen(x)  # noqa: E731
    plan, value, grad, H = sparse_result(f, x)
    assert plan.fallback is not None and "meets a sum" in plan.fallback
    n = len(x)
    expected = 2 * (np.add.outer(x, x) + np.sum(x) * np.eye(n)) + rosen_hessian(x)
    assert close(H, expected, 1e-13)
    assert close(H, ad.hessian(f, x)) and close(grad, ad.gradient(f, x))
    assert value == f(x)


def test_writes_in_place_take_duals_of_duals():
    def f(x):
        y = np.zeros_like(x)
        y[1:] = x[1:] * x[:-1]
        y[0] = np.sin(x[0])
        return np.sum(y ** 2)
    x = np.random.default_rng(7).normal(size=15)
    plan, value, grad, H = sparse_result(f, x)
    assert plan.fallback is None and type(plan._engine) is sh._Nested
    assert close(H, ad.hessian(f, x)) and close(grad, ad.gradient(f, x))


def test_reductions_that_differ_between_runs_take_the_dense_route():
    calls = []

    def f(x):  # (a side effect: the detection and the colored run see different functions)
        calls.append(1)
        return np.sum(x ** 3) if len(calls) == 1 else np.mean(x ** 3) * len(x)
    x = np.random.default_rng(8).normal(size=10)
    plan = HessianPlan(f, x)
    value, grad, data = plan(x)
    assert close(dense(data, plan.pattern), np.diag(6 * x))
    assert close(grad, 3 * x ** 2)


def test_a_caught_fallback_signal_is_not_trusted():
    def f(x):
        try:
            y = x.astype(np.float64)  # (HyperDual refuses: a fallback signal, caught here)
        except TypeError:
            y = x * 1.0
        return np.sum(np.sin(y[1:] * y[:-1]))
    x = np.random.default_rng(9).normal(size=12)
    plan, value, grad, H = sparse_result(f, x)
    assert close(H, ad.hessian(f, x)) and close(grad, ad.gradient(f, x))


def test_the_dense_route_refuses_large_inputs(monkeypatch):
    monkeypatch.setattr(sh, "DENSE_MAX_N", 10)
    f = lambda x: np.sum(x * np.sum(x))  # noqa: E731
    with pytest.raises(ValueError, match="dualad: the sparse Hessian cannot use colored"):
        HessianPlan(f, np.ones(11))(np.ones(11))


# --- patterns: given ones, and nonzeros outside them --------------------------------------
def test_a_given_pattern_is_used_and_checked():
    x = np.random.default_rng(10).normal(size=8)
    full = Pattern.from_dense(np.ones((8, 8)))
    plan, value, grad, H = sparse_result(rosen, x, pattern=full)
    assert plan.pattern.nnz == 64 and close(H, rosen_hessian(x), 1e-13)
    diagonal = Pattern.from_dense(np.eye(8))
    with pytest.raises(ValueError, match="nonzero .*outside the pattern"):
        HessianPlan(rosen, x, pattern=diagonal)(x)
    # the cross terms of a product of sums, and the dense route, check it too
    with pytest.raises(ValueError, match="outside the pattern"):
        HessianPlan(lambda x: np.sum(x) ** 2, x, pattern=diagonal)(x)
    with pytest.raises(ValueError, match="outside the pattern"):
        HessianPlan(lambda x: np.sum(x * np.sum(x)), x, pattern=diagonal)(x)
    with pytest.raises(ValueError, match="shape"):
        HessianPlan(rosen, x, pattern=np.eye(3))


def test_a_local_plan_detects_again_and_refuses_what_its_pattern_lacks():
    f = lambda x: np.sum(np.where(x > 0, x * np.roll(x, 1), 0.0))  # noqa: E731
    x0 = np.array([1.0, 2.0, -1.0, -2.0])
    plan = HessianPlan(f, x0, mode="local")
    value, grad, data = plan(x0)
    assert close(dense(data, plan.pattern), ad.hessian(f, x0))
    with pytest.raises(ValueError, match="outside the pattern"):
        plan(np.array([1.0, 2.0, 3.0, 4.0]))  # (x1 * x2 and x2 * x3 now count)
    value, grad, data = plan(np.array([3.0, 2.0, -1.0, -5.0]))  # same branches: fine
    assert close(dense(data, plan.pattern), ad.hessian(f, np.array([3.0, 2.0, -1.0, -5.0])))


def test_a_global_plan_serves_every_point():
    n = 30
    x0 = np.zeros(n)
    plan = HessianPlan(rosen, x0)
    for seed in range(3):
        x = np.random.default_rng(seed).normal(size=n)
        value, grad, data = plan(x)
        assert close(dense(data, plan.pattern), rosen_hessian(x), 1e-13)
        assert np.array_equal(grad, ad.gradient(rosen, x))


def test_inputs_and_refusals():
    x = np.random.default_rng(11).normal(size=(3, 4))
    f = lambda x: np.sum(x[1:] * x[:-1] ** 2)  # noqa: E731
    plan, value, grad, H = sparse_result(f, x)
    assert grad.shape == (3, 4) and H.shape == (12, 12)
    assert close(H, ad.hessian(f, x).reshape(12, 12))
    x32 = x.astype(np.float32)
    value, grad, data = HessianPlan(f, x32)(x32)
    assert grad.dtype == data.dtype == np.float32
    with pytest.raises(ValueError, match="scalar"):
        HessianPlan(lambda x: x ** 2, x)
    with pytest.raises(ValueError, match="branches on the values"):
        HessianPlan(lambda x: np.sum(x) if x[0] > 0 else 0.0, x)
    with pytest.raises(ValueError, match="prepared for x of shape"):
        plan(np.ones(5))
    with pytest.raises(TypeError, match="real number"):
        HessianPlan(f, np.array(["a"]))
    value, grad, data = HessianPlan(lambda x: 3.0, x)(x)  # a constant
    assert value == 3.0 and not grad.any() and data.size == 0


def test_colored_hessian_returns_the_pattern():
    x = np.random.default_rng(12).normal(size=9)
    value, grad, data, pattern = colored_hessian(rosen, x)
    assert close(dense(data, pattern), rosen_hessian(x), 1e-13)
    assert pattern.shape == (9, 9) and value == rosen(x)


# --- random sums of element functions -------------------------------------------------------
UNARY = [np.sin, np.exp, np.tanh, np.cos, lambda u: u ** 2, lambda u: u ** 3,
         lambda u: np.log1p(u ** 2), lambda u: np.sqrt(1.0 + u ** 2)]
REDUCE = [np.sum, np.mean, lambda a: a @ np.cos(a), lambda a: np.dot(a, a)]
OUTER = [lambda s: s, lambda s: 2.5 * s, lambda s: s ** 2, lambda s: np.log1p(s ** 2)]


@st.composite
def programs(draw):
    n = draw(st.integers(6, 14))
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        shifts = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
        terms.append((draw(st.sampled_from(range(len(UNARY)))), shifts,
                      draw(st.sampled_from(range(len(REDUCE)))),
                      draw(st.sampled_from(range(len(OUTER)))),
                      draw(st.floats(-2, 2, allow_nan=False))))
    x = np.array(draw(st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=n,
                               max_size=n)))
    return terms, x


def program(terms):
    def f(x):
        total = 0.0
        m = len(x) - 3
        for u, shifts, r, o, w in terms:
            arg = x[shifts[0]:shifts[0] + m]
            for s in shifts[1:]:
                arg = arg * x[s:s + m] + w
            total = total + OUTER[o](REDUCE[r](UNARY[u](arg)))
        return total
    return f


@given(programs())
def test_random_sums_of_element_functions(case):
    terms, x = case
    f = program(terms)
    plan, value, grad, H = sparse_result(f, x, mode="local")
    expected = ad.hessian(f, x)
    assert close(H, expected)
    assert close(grad, ad.gradient(f, x))
    assert np.all(expected[~plan.pattern.to_dense()] == 0)
    if plan.fallback is None:  # (as many colors as the widest element, not n)
        assert plan.n_colors <= 4


# --- timings, reported (not asserted) against jax -----------------------------------------
def _best(fn, k):
    fn()
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(k):
            fn()
        best = min(best, (time.perf_counter() - t) / k)
    return best


def test_timings_against_jax_are_reported(capsys):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    hess = jax.jit(jax.hessian(lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2
                                                 + (1.0 - x[:-1]) ** 2)))
    lines = []
    sizes = (200, 10_000) if os.environ.get("DUALAD_BENCH_LARGE") else (200,)
    for n in (200, 10_000):
        x = np.random.default_rng(n).normal(size=n)
        plan = HessianPlan(rosen, x)
        ours = _best(lambda: plan(x), 50 if n == 200 else 3)
        value, grad, data = plan(x)
        line = f"chained Rosenbrock n={n}: dualad colored {ours * 1e6:.0f} us"
        if n in sizes:
            xj = jnp.asarray(x)
            theirs = _best(lambda: hess(xj).block_until_ready(), 50 if n == 200 else 1)
            assert close(dense(data, plan.pattern), np.asarray(hess(xj)), 1e-13)
            line += f", jax.jit(jax.hessian) {theirs * 1e6:.0f} us"
        lines.append(line)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
