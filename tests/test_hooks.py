"""The core works without dualad.accel: with its hook slots empty, every helper runs on the
numpy route and gives the same numbers as with the numba routes filled in.

The one documented exception (core/hooks.py): sin and cos values of large float64 arrays come
from accel's vectorized kernels, within 1 ulp of numpy's; the programs here avoid them on
large arrays and compare those to 1 ulp.
"""
import numpy as np
import pytest

import dualad as ad
from dualad import accel, config
from dualad.core import hooks

N = 20_000  # above every size threshold of the numba routes


def elementwise(x):
    return np.sqrt(1.0 + x * x) * np.exp(-x * x) + np.log1p(x * x) / (2.0 + x) - np.tanh(x)


def mixed(x):
    y = elementwise(x)
    return np.cumsum(y * y)[::7] + np.maximum(x, 0.1)[::7]


def small_linalg(v):
    a = np.outer(v, v) + np.eye(v.size)
    return np.linalg.solve(a, np.sin(v)) @ v


def _run(helper, f, x, *args):
    with np.errstate(all="ignore"):
        return helper(f, x, *args)


CASES = [
    ("jvp elementwise", ad.jvp, elementwise, np.linspace(-3, 3, N), (np.cos(np.arange(N)),)),
    ("jvp_many elementwise", ad.jvp_many, elementwise, np.linspace(-3, 3, N),
     (np.random.default_rng(0).standard_normal((N, 4)),)),
    ("jvp mixed", ad.jvp, mixed, np.linspace(-2, 2, N), (np.ones(N),)),
    ("jacobian", ad.jacobian, elementwise, np.linspace(-1, 1, 300), ()),
    ("hessian", ad.hessian, small_linalg, np.linspace(-1, 1, 12), ()),
    ("gradient", ad.gradient, lambda v: np.sum(elementwise(v)), np.linspace(-1, 1, N), ()),
]


@pytest.mark.parametrize("name, helper, f, x, args", CASES, ids=[c[0] for c in CASES])
def test_numpy_route_equals_numba_route(name, helper, f, x, args, request):
    with_accel = _run(helper, f, x, *args)
    request.getfixturevalue("numpy_only")
    assert hooks.fused is None and hooks.defer is None and hooks.chain_kernels is None
    without = _run(helper, f, x, *args)
    for a, b in zip(np.atleast_1d(with_accel) if not isinstance(with_accel, tuple)
                    else with_accel,
                    np.atleast_1d(without) if not isinstance(without, tuple) else without):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_sin_and_cos_values_within_one_ulp(numpy_only):
    x = np.linspace(-50, 50, N)
    without = ad.jvp(np.sin, x, np.ones(N))
    accel.install()
    with_accel = ad.jvp(np.sin, x, np.ones(N))
    assert np.all(np.abs(with_accel[0] - without[0]) <= np.spacing(np.abs(without[0])))


def test_install_fills_every_slot():
    slots = ("defer", "fused", "value", "chain_kernels", "hyper_kernels", "before_write")
    assert all(getattr(hooks, s) is not None for s in slots)
    accel.uninstall()
    try:
        assert all(getattr(hooks, s) is None for s in slots)
    finally:
        accel.install()


def test_clear_caches_keeps_results():
    x = np.linspace(-2, 2, N)
    before = _run(ad.jvp, elementwise, x, np.ones(N))
    config.clear_caches()
    after = _run(ad.jvp, elementwise, x, np.ones(N))
    np.testing.assert_array_equal(before[1], after[1])
    with pytest.raises(ValueError, match="no cache named"):
        config.clear_caches("no such cache")
