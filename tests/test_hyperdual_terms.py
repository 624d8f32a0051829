"""HyperDual's outer-product terms (``config.HYPERDUAL_TERMS_MIN_N``, ``MAX_TERMS``).

The whole second-order suite runs again here, once with terms from one direction on (every
nonlinear function keeps them), once with at most two terms per array (expansion all the
time) and once with no terms at all (the packed kernels everywhere); then checks at sizes
where the default uses them: terms against the packed kernels, through structural functions,
reductions, products, broadcasting, non-finite second derivatives and float32.
"""
import numpy as np
import pytest

import dualad as ad
from dualad import HyperDual
from dualad import config

from _oracles import fd
from test_second_order import *  # noqa: F401,F403  (the suite, collected again under TERMS)


PACKED_ONLY = (10 ** 9, -1, 12)
DEFAULTS = (config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED)  # before the fixture runs


@pytest.fixture(autouse=True, scope="module", params=[(1, 0, 12), (1, 0, 2), PACKED_ONLY],
                ids=["terms-everywhere", "terms-expanding", "packed-everywhere"])
def terms(request):
    names = ("TERMS_MIN_N", "TERMS_MAX_PACKED", "MAX_TERMS")
    saved = [getattr(config, "HYPERDUAL_" + a) for a in names]
    for name, value in zip(names, request.param):
        setattr(config, "HYPERDUAL_" + name, value)
    yield request.param
    for name, value in zip(names, saved):
        setattr(config, "HYPERDUAL_" + name, value)


def _packed_only(f, x):
    saved = config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED
    config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED = PACKED_ONLY[:2]
    try:
        return ad.hessian(f, x)
    finally:
        config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED = saved


N = 20
_RNG = np.random.default_rng(11)
_M = _RNG.normal(size=(N, N)) / N
LARGE = {
    "rosenbrock": lambda v: np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2),
    "quadratic_plus_sin": lambda v: v @ (_M @ v) / 2.0 + np.sum(np.sin(v)),
    "concatenate_mixed_terms": lambda v: np.sum(np.concatenate([np.exp(v[:5]) * v[5:10],
                                                                v[10:], np.sin(v[:3])]) ** 2),
    "stack_and_axis_sums": lambda v: np.sum(np.sum(np.stack([np.tanh(v), v ** 3]), axis=0)
                                            * np.cos(v)),
    "reshape_transpose_2d": lambda v: np.sum(np.sin(v.reshape(4, 5)).T
                                             * np.exp(v.reshape(4, 5)).T ** 2),
    "sum_axis_keepdims": lambda v: np.sum(np.sum(np.log1p(v.reshape(4, 5) ** 2), axis=1,
                                                 keepdims=True) ** 2),
    "sum_axis_then_product": lambda v: np.sum(np.sum(np.sin(v.reshape(5, 4)), axis=0)
                                              * np.sum(v.reshape(5, 4) ** 2, axis=0)),
    "broadcast_outer": lambda v: np.sum(np.cos(v[:, None] * v[None, :5]) * v[:, None]),
    "fancy_indexing": lambda v: np.sum(np.exp(v)[[0, 3, 3, 7]] * v[[1, 1, 2, 0]] ** 2),
    "product_of_nonlinear": lambda v: np.sin(v) @ _M @ np.exp(v / 4.0),
    "mean_and_matmul": lambda v: np.mean(np.tanh(v) ** 2) + np.sum((_M @ np.sin(v)) ** 2),
    "long_chain": lambda v: np.sum(np.exp(np.sin(np.cos(np.tanh(v) * v) + v ** 2) / 3.0)
                                   * np.arctan(v) - np.sqrt(v * v + 1.0)),
    "many_terms": lambda v: np.sum(v * np.sin(v) * np.cos(v) * np.exp(v / 3.0) * (v + 2.0)
                                   * np.tanh(v) * v ** 2),
}


@pytest.mark.parametrize("name", list(LARGE))
def test_terms_equal_the_packed_kernels_at_large_n(name, terms):
    f = LARGE[name]
    x = np.linspace(-0.9, 0.8, N) + 0.05 * np.sin(np.arange(N))
    packed = _packed_only(f, x)
    with_terms = ad.hessian(f, x)
    scale = 1.0 + np.abs(packed).max()
    assert np.array_equal(with_terms, with_terms.T)
    if terms != PACKED_ONLY:  # (there both sides are the packed kernels)
        assert np.abs(with_terms - packed).max() <= 1e-12 * scale, name
    # an oracle that knows nothing of second-order AD: central differences of the gradient
    fd_hess = np.array([fd(lambda t: ad.gradient(f, np.where(np.arange(N) == i, t, x)), x[i])
                        for i in range(N)])
    assert np.abs(with_terms - fd_hess).max() <= 1e-6 * scale, name


def test_terms_are_kept_until_needed_and_sum_contracts_them(terms):
    x = HyperDual.seed(np.linspace(0.1, 1.0, N))
    y = np.sin(x) * x
    if terms[2] >= 3 and terms != PACKED_ONLY:  # sin's term, scaled, the two cross terms
        assert len(y._terms) == 3 and y._hess is None  # no packed Hessian part was made
    s = np.sum(y)
    assert not s._terms
    want = np.diag(-np.sin(x.value) * x.value + 2.0 * np.cos(x.value))
    assert np.abs(s.hessian() - want).max() <= 1e-14


def test_non_finite_second_derivatives_use_the_guarded_kernels(terms):
    # sqrt at 0: f'' is infinite where the tangent is zero; the result must not be nan
    x = np.zeros(N)
    x[1:] = np.linspace(0.5, 2.0, N - 1)

    def f(v):
        return np.sum(np.sqrt(v * v * v)) + np.sum(np.sin(v) ** 2)
    H = ad.hessian(f, x)
    assert np.all(np.isfinite(H))
    assert np.abs(H - _packed_only(f, x)).max() <= 1e-12 * (1.0 + np.abs(H).max())


def test_float32_stays_float32_with_terms(terms):
    x = np.linspace(-0.5, 0.5, N).astype(np.float32)
    H = ad.hessian(LARGE["long_chain"], x)
    assert H.dtype == np.float32
    ref = _packed_only(LARGE["long_chain"], x.astype(np.float64))
    assert np.abs(H - ref).max() <= 1e-4 * (1.0 + np.abs(ref).max())


def test_value_grad_hessian_and_hvp_with_terms(terms):
    f = LARGE["long_chain"]
    x = np.linspace(-0.7, 0.9, N)
    v, g, H = ad.value_grad_hessian(f, x)
    assert v == pytest.approx(f(x), rel=1e-14)
    assert np.allclose(g, ad.gradient(f, x), rtol=1e-13, atol=1e-13)
    u = np.cos(np.arange(N))
    assert np.allclose(ad.hvp(f, x, u), H @ u, rtol=1e-11, atol=1e-11)


def test_by_default_small_hessians_keep_terms_and_large_arrays_with_few_directions_not(
        terms, monkeypatch):
    monkeypatch.setattr(config, "HYPERDUAL_TERMS_MIN_N", DEFAULTS[0])
    monkeypatch.setattr(config, "HYPERDUAL_TERMS_MAX_PACKED", DEFAULTS[1])
    small = np.sin(HyperDual.seed(np.linspace(0.1, 1.0, 5)))
    assert small._terms and small._hess is None
    rng = np.random.default_rng(3)
    h = HyperDual(rng.uniform(-1, 1, 10_000), rng.standard_normal((10_000, 3)))
    large = np.sin(h)
    assert not large._terms and large._hess is not None  # the packed kernels' one pass
    i, j = np.triu_indices(3)  # sin'' g gᵀ, packed
    want = -np.sin(h.value)[:, None] * h.grad[:, i] * h.grad[:, j]
    assert np.allclose(large.hess, want, rtol=1e-13, atol=1e-13)
