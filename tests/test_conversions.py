"""Conversions that would drop the derivative (.item(), .tolist(), .astype(int)) raise a
dualad TypeError on every kind of dual, and integers too large for float64 (10**400) as a
helper's input raise a dualad ValueError instead of numpy's OverflowError (issue 20, item 7)."""
import numpy as np
import pytest

import dualad as ad
from dualad import Taylor
from dualad.higher.kinds import PerturbationMix, TaylorUnsupported
from dualad.scalar import ScalarDual, dual

BIG = 10 ** 400


def _duals():
    """One of each kind, 0-d and (where it exists) 1-d."""
    return {
        "DualNumber": ad.DualNumber(2.0, 1.0),
        "DualNumber 1-d": ad.DualNumber([1.0, 2.0], [[1.0], [0.0]]),
        "ScalarDual": dual(2.0, 1.0),
        "Taylor": Taylor.variable(np.float64(2.0), 3),
        "Taylor 1-d": Taylor.variable(np.array([1.0, 2.0]), 3),
        "HyperDual": ad.HyperDual.seed(np.array([1.0, 2.0])),
    }


KINDS = list(_duals())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_and_tolist_refused(kind, method):
    x = _duals()[kind]
    with pytest.raises(TypeError, match=rf"^dualad: \.{method}\(\) would drop the derivative; "
                                        r"use .*dualad\.stop_gradient\(x\)") as info:
        getattr(x, method)()
    # a plain TypeError, not a fallback signal: no helper can redo this with nested duals
    assert not isinstance(info.value, TaylorUnsupported)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [int, np.int32, bool, object, complex, "U3"])
def test_astype_non_float_refused(kind, dtype):
    x = _duals()[kind]
    name = str(np.dtype(dtype))
    with pytest.raises(TypeError, match=rf"^dualad: astype\({name}\) would drop the "
                                        "derivative") as info:
        x.astype(dtype)
    assert not isinstance(info.value, TaylorUnsupported)


@pytest.mark.parametrize("dtype", [float, np.float32, "f8"])
def test_astype_float_still_works(dtype):
    d = ad.DualNumber(2.0, 1.0).astype(dtype)
    assert isinstance(d, ad.DualNumber) and d.dtype == np.dtype(dtype)
    s = dual(2.0, 3.0).astype(dtype)  # a scalar dual becomes a 0-d DualNumber, as for numpy
    assert isinstance(s, ad.DualNumber) and s.dtype == np.dtype(dtype)
    assert s.value == 2.0 and s.partials.tolist() == [3.0]
    # Taylor and HyperDual keep their fallback signal: the helpers redo it with nested duals
    with pytest.raises(TaylorUnsupported):
        Taylor.variable(np.float64(2.0), 3).astype(dtype)
    with pytest.raises(PerturbationMix):
        ad.HyperDual.seed(np.array([1.0, 2.0])).astype(dtype)


def test_astype_float_inside_helpers():
    assert ad.derivative(lambda x: x.astype(np.float64) ** 4, 2.0) == 32.0
    assert ad.derivative(lambda x: x.astype(np.float64) ** 4, 2.0, order=3) == 48.0
    h = ad.hessian(lambda v: np.sum(v.astype(np.float64) ** 3), [1.0, 2.0])
    assert h.tolist() == [[6.0, 0.0], [0.0, 12.0]]


@pytest.mark.parametrize("helper", [
    lambda f: ad.derivative(f, 2.0),
    lambda f: ad.derivative(f, np.float64(2.0)),
    lambda f: ad.derivative(f, 2.0, order=3),
    lambda f: ad.gradient(lambda v: f(v[0]), [2.0, 1.0]),
    lambda f: ad.hessian(lambda v: f(v[0]), [2.0, 1.0]),
])
@pytest.mark.parametrize("method", ["item", "tolist"])
def test_item_inside_helpers(helper, method):
    with pytest.raises(TypeError, match=rf"dualad: \.{method}\(\) would drop the derivative"):
        helper(lambda x: getattr(x, method)())


def test_astype_int_inside_helpers():
    for helper in (lambda f: ad.derivative(f, 2.0), lambda f: ad.derivative(f, 2.0, order=3),
                   lambda f: ad.hessian(lambda v: np.sum(f(v)), [2.0, 1.0])):
        with pytest.raises(TypeError, match=r"dualad: astype\(int64\) would drop"):
            helper(lambda x: x.astype(int))


def test_other_missing_methods_unchanged():
    t = Taylor.variable(np.float64(2.0), 3)
    with pytest.raises(TaylorUnsupported):
        t.mean()
    with pytest.raises(AttributeError):
        t.no_such_method()
    h = ad.HyperDual.seed(np.array([1.0, 2.0]))
    with pytest.raises(PerturbationMix):
        h.ravel()
    with pytest.raises(AttributeError):
        h.no_such_method()
    assert not hasattr(dual(1.0, 1.0), "no_such_method")


# --- integers too large for float64 ---------------------------------------------------------
TOO_LARGE = r"^dualad: {} holds an integer too large for float64 \("


@pytest.mark.parametrize("x", [BIG, -BIG, [BIG, 1], [[1, 2], [3, -BIG]],
                               np.array([BIG, 1], dtype=object), [1.5, BIG]])
def test_helpers_refuse_huge_ints(x):
    scalar = np.ndim(np.asarray(x, dtype=object)) == 0
    calls = [lambda: ad.jacobian(lambda v: v * 2, x),
             lambda: ad.jvp(lambda v: v * 2, x, np.ones(np.shape(np.asarray(x, dtype=object)))),
             lambda: ad.DualNumber(x),
             lambda: ad.hessian(lambda v: np.sum(v ** 2), x)]
    if scalar:
        calls += [lambda: ad.derivative(lambda v: v * 2, x),
                  lambda: ad.derivative(lambda v: v * 2, x, order=2),
                  lambda: ad.derivative(lambda v: v * 2, x, order=3)]
    else:
        calls += [lambda: ad.gradient(lambda v: np.sum(v), x)]
    for call in calls:
        with pytest.raises(ValueError, match=TOO_LARGE.format("(x|value)")):
            call()


def test_directions_and_partials_refuse_huge_ints():
    with pytest.raises(ValueError, match=TOO_LARGE.format("v")):
        ad.jvp(lambda v: v * 2, 1.0, BIG)
    with pytest.raises(ValueError, match=TOO_LARGE.format("v")):
        ad.jvp(lambda v: v * 2, [1.0, 2.0], [BIG, 1])
    with pytest.raises(ValueError, match=TOO_LARGE.format("v")):
        ad.hvp(lambda v: np.sum(v ** 3), [1.0, 2.0], [BIG, 1])
    with pytest.raises(ValueError, match=TOO_LARGE.format("directions")):
        ad.api.jvp_many(lambda v: v * 2, np.ones(2), [[BIG], [1]])
    with pytest.raises(ValueError, match=TOO_LARGE.format("partials")):
        ad.DualNumber(1.0, BIG)


def test_large_ints_within_range_still_work():
    assert ad.derivative(lambda v: v * 2, 10 ** 300) == 2.0
    assert ad.gradient(lambda v: np.sum(v * 3), [10 ** 300, 1]).tolist() == [3.0, 3.0]
    assert ad.DualNumber(10 ** 300).value == 1e300
    # object arrays of other things stay a TypeError
    with pytest.raises(TypeError, match="dualad: x must be real numbers"):
        ad.jacobian(lambda v: v, np.array(["a", 1], dtype=object))


def test_plain_ints_keep_working():
    assert ad.derivative(lambda x: x * x, 3) == 6.0  # (the scalar path: a ScalarDual)
    assert ad.derivative(lambda x: x * 0 + isinstance(x, ScalarDual), 3) == 0.0
    assert ad.gradient(lambda v: np.sum(v * v), [1, 2]).tolist() == [2.0, 4.0]


def test_an_int_beyond_float64_as_an_operand_of_a_dual_is_named():
    x = ad.DualNumber([1.0, 2.0], [1.0, 0.0])
    for op in (lambda: x + 10**400, lambda: 10**400 * x, lambda: np.power(x, -10**400)):
        with pytest.raises(ValueError, match="integer too large for float64"):
            op()
    np.testing.assert_array_equal((x + 2**70).value, [2.0**70 + 1.0, 2.0**70 + 2.0])
