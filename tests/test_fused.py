"""The fused per-rule kernels equal the numpy path bit for bit, for every rule they run."""
import numpy as np
import pytest

from dualad import config
from dualad.accel import fused as _fused
from dualad.core import hooks
from dualad.rules.table import RULES
from dualad.core.dual import make

ELEMENTWISE = [u for u, r in RULES.items() if r.kind in ("unary", "binary")]
M = config.FUSED_MIN_SIZE + 37


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def _numpy_route(ufunc, *args, monkeypatch):
    with monkeypatch.context() as mp:
        mp.setattr(hooks, "fused", None)  # never fused
        with np.errstate(all="ignore"):
            return ufunc(*args)


def _data(rule, i, rng, m=M):
    lo, hi = rule.domain[i]
    x = rng.uniform(lo, hi, m)
    x[:3] = [lo, hi, 0.5 * (lo + hi)]
    return x


@pytest.mark.parametrize("ufunc", ELEMENTWISE, ids=lambda u: u.__name__)
def test_every_rule_fused_equals_numpy_path(ufunc, monkeypatch):
    monkeypatch.setattr(_fused, "pays", lambda u: True)  # the kernel, also where it is slower
    rule = RULES[ufunc]
    mode = _fused.mode(ufunc)
    if mode == "numpy":
        assert ufunc.__name__ in _fused.FALLBACK  # with its reason
        return
    rng = np.random.default_rng(abs(hash(ufunc.__name__)) % 2**32)
    cases = []
    for n in (1, 4):
        p = rng.standard_normal((M, n))
        p[::9] = 0.0
        x = make(_data(rule, 0, rng), p, 0)
        if rule.kind == "unary":
            cases.append((x,))
            continue
        q = rng.standard_normal((M, n))
        y = make(_data(rule, 1, rng), q, 0)
        yv, xv = y.value, x.value
        if rule.derivs[0] is not None and rule.derivs[1] is not None:
            cases += [(x, y), (x, x)]
        if rule.derivs[0] is not None:
            cases += [(x, yv), (x, float(yv[5]))]
        if rule.derivs[1] is not None:
            cases += [(xv, y), (float(xv[5]), y)]
    for args in cases:
        want = _numpy_route(ufunc, *args, monkeypatch=monkeypatch)
        with np.errstate(all="ignore"):
            got = ufunc(*args)
        assert _same(got.value, want.value), (ufunc.__name__, "value")
        assert _same(got.partials, want.partials), (ufunc.__name__, "partials")
    assert _fused._KERNELS  # the fused route did run


def test_fallbacks_are_the_documented_ones():
    modes = _fused.calibrate_all()
    numpy_only = {name for name, m in modes.items() if m == "numpy"}
    assert numpy_only == set(_fused.FALLBACK)
    # numba cannot compile these derivatives (a Python helper, np.all on scalars)
    assert {"hypot", "power", "float_power"} <= numpy_only
    assert {"sqrt", "multiply", "divide", "maximum"} <= {
        n for n, m in modes.items() if m == "fused"}
    # sin's and cos's values come from _vmath's vectorized kernels (_fused.value), not libm's
    assert modes["sin"] == modes["cos"] == "derivative"


def test_small_float32_broadcast_and_nested_take_the_numpy_path():
    x32 = make(np.ones(M, np.float32), np.ones((M, 1), np.float32), 0)
    assert _fused.apply(np.sin, RULES[np.sin], (x32.value,), (x32.partials,)) is None
    small = np.ones(10)
    assert _fused.apply(np.sin, RULES[np.sin], (small,), (np.ones((10, 1)),)) is None
    a, b = np.ones((M, 2)), np.ones(2)  # general broadcasting
    assert _fused.apply(np.multiply, RULES[np.multiply], (a, b),
                        (np.ones((M, 2, 1)), None)) is None


def test_a_kernel_runs_only_where_it_was_timed_faster(monkeypatch):
    x = make(np.linspace(0.1, 2.0, M), np.ones((M, 1)), 0)
    assert isinstance(_fused.pays(np.sin), bool) and np.sin in _fused._PAYS
    monkeypatch.setitem(_fused._PAYS, np.sin, False)
    assert _fused.apply(np.sin, RULES[np.sin], (x.value,), (x.partials,)) is None
    monkeypatch.setitem(_fused._PAYS, np.sin, True)
    assert _fused.apply(np.sin, RULES[np.sin], (x.value,), (x.partials,)) is not None
    _fused.forget(np.sin)  # a replaced rule is timed again
    assert np.sin not in _fused._PAYS
