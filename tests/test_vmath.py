"""dualad/_vmath.py: the vectorizable sin and cos behind sin's and cos's deferred derivatives.

Oracles: mpmath at 200 bits (correctly rounded references) and libm through numpy; the
documented tolerance is 1 ulp from libm's result.
"""
import math

import numpy as np
import pytest

import dualad as ad
from dualad import config
from dualad.accel import fused as _fused, vmath as _vmath

mpmath = pytest.importorskip("mpmath")

COS = _fused.vector_derivs(np.cos)[2]  # (x, ans, der): der = -sin(x)
SIN = _fused.vector_derivs(np.sin)[2]  # der = cos(x)


def vcos(x):
    out = np.empty_like(x)
    SIN(x, x, out)
    return out


def vsin(x):
    out = np.empty_like(x)
    COS(x, x, out)
    return -out


def _ulps(got, want):
    """|got - want| in units of the last place of want (0 where both are equal)."""
    with np.errstate(invalid="ignore"):
        return np.where(got == want, 0.0, np.abs(got - want) / np.spacing(np.abs(want)))


def _samples(rng):
    k = np.arange(1, 4001, dtype=float)
    near = k * (np.pi / 2)  # the doubles nearest multiples of pi/2: cos or sin is tiny
    return {
        "[-3, 3]": rng.uniform(-3.0, 3.0, 20000),
        "[-1e5, 1e5]": rng.uniform(-1e5, 1e5, 20000),
        "near k pi/2": np.concatenate([near, np.nextafter(near, 0), np.nextafter(near, 9e9)]),
        "up to LIMIT": rng.uniform(-_vmath.LIMIT, _vmath.LIMIT, 20000),
        "tiny": np.concatenate([rng.uniform(-1e-6, 1e-6, 2000), [5e-324, -5e-324, 1e-300]]),
        "powers of two": np.ldexp(1.0, np.arange(-40, 31)),
    }


@pytest.mark.parametrize("which", ["sin", "cos"])
def test_within_one_ulp_of_libm_and_mostly_equal(which):
    ours, libm = (vsin, np.sin) if which == "sin" else (vcos, np.cos)
    for name, x in _samples(np.random.default_rng(0)).items():
        u = _ulps(ours(x), libm(x))
        assert u.max() <= 1.0, (name, x[np.argmax(u)])
        assert np.mean(u > 0) < 0.05, name  # about 1.5 % measured


@pytest.mark.parametrize("which", ["sin", "cos"])
def test_within_one_ulp_of_the_correctly_rounded_value(which):
    ours, exact = (vsin, mpmath.sin) if which == "sin" else (vcos, mpmath.cos)
    rng = np.random.default_rng(1)
    x = np.concatenate([v[:300] for v in _samples(rng).values()])
    with mpmath.workprec(200):
        want = np.array([float(exact(mpmath.mpf(float(v)))) for v in x])
    assert _ulps(ours(x), want).max() <= 1.0


@pytest.mark.filterwarnings("ignore:invalid value")  # libm's cos(inf)
def test_above_the_limit_and_non_finite_arguments_take_libm():
    x = np.array([_vmath.LIMIT * 1.0000001, -3e9, 1e15, 1e300, -1e300, np.inf, -np.inf,
                  np.nan])
    assert np.array_equal(vcos(x), np.cos(x), equal_nan=True)
    assert np.array_equal(vsin(x), np.sin(x), equal_nan=True)
    both = np.concatenate([x, np.linspace(-2, 2, 5)])  # mixed: the fix-up pass only
    assert np.array_equal(vcos(both)[:x.size], np.cos(x), equal_nan=True)
    assert _ulps(vcos(both)[x.size:], np.cos(both[x.size:])).max() <= 1.0


def test_signed_zeros_and_exact_points():
    assert np.array_equal(vcos(np.array([0.0, -0.0])), [1.0, 1.0])
    s = vsin(np.array([0.0, -0.0]))
    assert s[0] == 0.0 and not np.signbit(s[0]) and np.signbit(s[1])


def test_the_constants_against_mpmath():
    with mpmath.workprec(300):
        half_pi = mpmath.pi / 2
        parts = [mpmath.mpf(v) for v in (_vmath._PIO2_HI, _vmath._PIO2_MID, _vmath._PIO2_LO)]
        assert abs(sum(parts) - half_pi) < mpmath.mpf(2) ** -160
        assert _vmath._TWO_OVER_PI == float(2 / mpmath.pi)
        for k, c in enumerate(_vmath._S, start=1):
            assert c == float(mpmath.mpf(-1) ** k / mpmath.factorial(2 * k + 1))
        for k, c in enumerate(_vmath._C, start=2):
            assert c == float(mpmath.mpf(-1) ** k / mpmath.factorial(2 * k))


def test_only_rules_whose_derivative_calls_sin_or_cos_take_them():
    from dualad.rules import scipy_special
    from dualad.rules.table import RULES
    own = [u for u in RULES if u not in scipy_special._installed]  # (sindg's calls cos too)
    taken = {u for u in own if _fused.vector_derivs(u) is not None}
    assert taken == {np.sin, np.cos}


@pytest.fixture
def deferred(monkeypatch):
    monkeypatch.setattr(config, "DEFER_MIN_WORK", 1)  # defer the test's small arrays too


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.filterwarnings("ignore:invalid value")  # sin(inf), as numpy warns
def test_deferred_partials_use_them_and_libm_beyond_the_limit(deferred, n):
    rng = np.random.default_rng(2)
    x = rng.uniform(-3.0, 3.0, 6000)
    big = np.arange(0, 6000, 97)
    x[big] = rng.uniform(2.0, 4.0, big.size) * _vmath.LIMIT
    x[5] = np.inf
    V = rng.standard_normal((x.size, n))

    def f(v):
        return np.sin(v) * v + np.cos(v)
    runs = [ad.jvp_many(f, x, V)[1] for _ in range(3)]  # rule by rule, compiled, cached
    assert all(np.array_equal(r, runs[0], equal_nan=True) for r in runs[1:])
    # the same arithmetic as the rule-by-rule path, with _vmath's cos and sin
    want = ((vcos(x) * x + np.sin(x) - vsin(x))[:, None] * V)
    with np.errstate(invalid="ignore"):
        libm = (np.cos(x) * x + np.sin(x) - np.sin(x))[:, None] * V
    got = runs[0]
    finite = np.isfinite(libm)
    assert np.array_equal(np.isfinite(got), finite)
    assert np.allclose(got[finite], want[finite], rtol=1e-13, atol=1e-13)
    # beyond the limit the derivative is libm's, so the partials equal the eager path's
    with _off():
        _, eager = ad.jvp_many(f, x, V)
    assert np.array_equal(got[big], eager[big])


def _off():
    class Off:
        def __enter__(self):
            self.saved = config.DEFER_MIN_SIZE
            config.DEFER_MIN_SIZE = 1 << 62

        def __exit__(self, *exc):
            config.DEFER_MIN_SIZE = self.saved
    return Off()


def test_scalar_versions_compile_for_users_numba_code():
    import numba
    f = numba.njit(lambda x: _vmath.sin_any(x) ** 2 + _vmath.cos_any(x) ** 2)
    assert all(abs(f(v) - 1.0) < 4e-16 for v in (0.3, -2.0, 1e6, 1e12))
    assert math.isnan(f(math.inf))


def test_a_registered_rule_whose_derivative_calls_cos_takes_it_too(deferred):
    import numba

    @numba.vectorize(["float64(float64)"])
    def wave(x):
        return math.sin(x) + x
    try:
        ad.register_ufunc(wave, lambda v, a: np.cos(v) + 1.0)
        assert _fused.vector_derivs(wave) is not None
        x = np.linspace(-3.0, 3.0, 6000)
        V = np.ones((x.size, 1))
        runs = [ad.jvp_many(wave, x, V)[1][:, 0] for _ in range(3)]
        assert all(np.array_equal(r, runs[0]) for r in runs[1:])
        want = np.cos(x) + 1.0  # within 1 ulp of cos, then the rounding of + 1
        assert np.all(np.abs(runs[0] - want) <= np.spacing(np.abs(np.cos(x)))
                      + np.spacing(np.abs(want)))
    finally:
        if wave in ad.custom._REGISTERED:
            ad.unregister(wave)
    assert _fused.vector_derivs(wave) is None  # forgotten with the rule


# --- the values of sin and cos of duals on large float64 arrays (_fused.value) -------------
@pytest.mark.parametrize("ufunc", [np.sin, np.cos], ids=["sin", "cos"])
def test_values_of_large_arrays_are_within_one_ulp_and_take_numpy_beyond_the_limit(ufunc):
    rng = np.random.default_rng(11)
    special = np.array([0.0, -0.0, _vmath.LIMIT * 1.5, -1e300, np.inf, -np.inf, np.nan])
    x = np.concatenate([rng.uniform(-1e4, 1e4, 2 * config.FUSED_MIN_SIZE), special])
    with np.errstate(invalid="ignore"):  # numpy warns for sin(inf), and so does value
        got, want = _fused.value(ufunc, (x,)), ufunc(x)
    assert got.shape == x.shape and got.dtype == np.float64
    assert _ulps(got[:-special.size], want[:-special.size]).max() <= 1.0
    assert np.array_equal(got[-special.size:], want[-special.size:], equal_nan=True)
    assert np.signbit(got[-special.size + 1]) == np.signbit(want[-special.size + 1])
    # non-contiguous and 2-d arguments keep their layout's order
    y = x[:2 * config.FUSED_MIN_SIZE].reshape(2, -1)[:, ::2]
    assert _ulps(_fused.value(ufunc, (y,)), ufunc(y)).max() <= 1.0


def test_values_of_small_arrays_float32_and_duals_are_numpys_own():
    x = np.linspace(-3.0, 3.0, config.FUSED_MIN_SIZE - 1)
    assert np.array_equal(_fused.value(np.sin, (x,)), np.sin(x))
    x32 = np.linspace(-3.0, 3.0, 2 * config.FUSED_MIN_SIZE, dtype=np.float32)
    assert np.array_equal(_fused.value(np.sin, (x32,)), np.sin(x32))
    x = np.linspace(-3.0, 3.0, 2 * config.FUSED_MIN_SIZE)
    assert np.array_equal(_fused.value(np.exp, (x,)), np.exp(x))


def test_a_jvp_of_sin_gives_the_vectorized_value_and_the_exact_derivative():
    x = np.linspace(-6.0, 6.0, 4 * config.FUSED_MIN_SIZE)
    value, tangent = ad.jvp(np.sin, x, np.ones_like(x))
    assert np.array_equal(value, _fused.value(np.sin, (x,)))
    assert _ulps(value, np.sin(x)).max() <= 1.0
    assert _ulps(tangent, np.cos(x)).max() <= 1.0
