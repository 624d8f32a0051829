"""``dualad.math``: Python's ``math`` for floats (bit for bit) and for duals (derivatives).

The float oracle is ``math`` itself; the derivative oracle is a finite difference of the
``math`` function. A completeness test keeps the module in step with ``math``: a new ``math``
function fails it until it is exported or listed as non-differentiable.
"""
import math
import zlib

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber
from dualad.rules.table import RULES

from _oracles import assert_close, fd, fd_jacobian

#: math's own functions, re-exported unchanged: integers, or no derivative (ulp)
NON_DIFFERENTIABLE = {"comb", "factorial", "gcd", "isqrt", "lcm", "perm", "ulp"}
CONSTANTS = {"pi", "e", "tau", "inf", "nan"}
#: results that are not differentiable quantities (predicates on the value)
PREDICATES = {"isfinite", "isinf", "isnan", "isclose"}
#: functions of sequences
SEQUENCE = {"fsum", "prod", "dist", "sumprod"}

MATH_CALLABLES = sorted(n for n in dir(math) if not n.startswith("_")
                        and callable(getattr(math, n)))
EXPORTED = sorted(n for n in ad.math.__all__ if callable(getattr(ad.math, n)))
DIFFERENTIABLE = sorted(set(EXPORTED) - NON_DIFFERENTIABLE - PREDICATES - SEQUENCE)


# --- float arguments per function ----------------------------------------------------------
def _from_rules():
    """Arguments on each rule's domain, for the rules that name a math function."""
    table = {}
    for ufunc, rule in RULES.items():
        if not rule.math or not hasattr(math, rule.math):
            continue
        rng = np.random.default_rng(zlib.crc32(rule.math.encode()))
        calls = []
        for _ in range(4):
            args = []
            for i, (lo, hi) in enumerate(rule.domain):
                if rule.kind in ("unary", "binary") and rule.derivs[i] is None:
                    args.append(int(rng.integers(math.ceil(lo), math.floor(hi) + 1)))
                else:
                    args.append(float(rng.uniform(lo, hi)))
            calls.append(tuple(args))
        table[rule.math] = calls
    return table


ARGS = _from_rules()
ARGS.update({
    "log": [(0.3,), (2.5,), (0.3, 2.0), (2.5, 10.0), (7.0, 0.5), (8.0, 2)],
    "remainder": [(7.3, 2.0), (5.2, 3.0), (-4.2, 1.5), (1.1, -0.7)],
    "hypot": [(3.0,), (3.0, 4.0), (1.0, -2.0, 2.5), (0.3, 1.2, -0.7, 2.0)],
    "modf": [(2.75,), (-1.25,)],
    "frexp": [(10.0,), (0.3,), (-5.5,)],
    "floor": [(2.5,), (-1.3,)],
    "ceil": [(2.5,), (-1.3,)],
    "trunc": [(2.5,), (-1.3,)],
})
if hasattr(math, "fma"):
    ARGS["fma"] = [(2.0, 3.0, 0.5), (-1.5, 0.25, 4.0)]

FLOAT_ONLY = {  # no derivative to check; the float result must still be math's
    "isfinite": [(1.0,), (math.inf,), (math.nan,)],
    "isinf": [(1.0,), (-math.inf,), (math.nan,)],
    "isnan": [(1.0,), (math.inf,), (math.nan,)],
    "isclose": [(1.0, 1.0 + 1e-10), (1.0, 1.1)],
    "fsum": [([0.1] * 10,), ([1e100, 1.0, -1e100],)],
    "prod": [([1.5, 2.0, -3.0],), ([],)],
    "dist": [([1.0, 2.0], [4.0, 6.0]), ([0.5], [-0.5])],
    "sumprod": [([1.0, 2.0], [3.0, 4.0])],
    "comb": [(5, 2)], "factorial": [(5,)], "gcd": [(12, 18)], "isqrt": [(17,)],
    "lcm": [(4, 6)], "perm": [(5, 2)], "ulp": [(1.5,)],
}


def same(got, want):
    if isinstance(want, tuple):
        return type(got) is tuple and len(got) == len(want) and all(map(same, got, want))
    if isinstance(want, float) and math.isnan(want):
        return isinstance(got, float) and math.isnan(got)
    return type(got) is type(want) and got == want


# --- completeness --------------------------------------------------------------------------
def test_every_math_callable_is_exported_or_listed():
    missing = [n for n in MATH_CALLABLES if n not in EXPORTED and n not in NON_DIFFERENTIABLE]
    assert not missing, f"math functions missing from dualad.math: {missing}"
    stale = sorted((NON_DIFFERENTIABLE | PREDICATES | SEQUENCE) - set(MATH_CALLABLES))
    assert stale in ([], ["sumprod"]), stale  # sumprod is new in Python 3.12


def test_non_differentiable_functions_and_constants_are_maths_own():
    for name in NON_DIFFERENTIABLE | CONSTANTS:
        if hasattr(math, name):
            assert getattr(ad.math, name) is getattr(math, name), name
    for name in DIFFERENTIABLE:
        assert getattr(ad.math, name) is not getattr(math, name), name


def test_every_export_has_test_arguments():
    untested = [n for n in EXPORTED if n not in ARGS and n not in FLOAT_ONLY]
    assert not untested, f"add test arguments for {untested}"


# --- floats: exactly math's result -----------------------------------------------------------
@pytest.mark.parametrize("name", EXPORTED)
def test_floats_give_exactly_what_math_gives(name):
    for args in ARGS.get(name, []) + FLOAT_ONLY.get(name, []):
        got, want = getattr(ad.math, name)(*args), getattr(math, name)(*args)
        assert same(got, want), f"{name}{args}: {got!r} != math's {want!r}"


def test_integer_and_bool_arguments_as_math():
    for name, args in [("sqrt", (4,)), ("pow", (2, 3)), ("floor", (3,)), ("exp", (True,)),
                       ("atan2", (1, 2)), ("log", (8, 2)), ("ldexp", (3, 2)),
                       ("hypot", (3, 4)), ("fsum", ([1, 2],)), ("prod", ([2, 3],))]:
        got, want = getattr(ad.math, name)(*args), getattr(math, name)(*args)
        assert same(got, want), (name, got, want)


@pytest.mark.parametrize("call", [("sqrt", -1.0), ("log", 0.0), ("acos", 2.0),
                                  ("log", 2.0, 1.0), ("gamma", 0.0), ("atanh", 1.0)])
def test_floats_outside_the_domain_raise_as_math_does(call):
    name, *args = call
    with pytest.raises((ValueError, ZeroDivisionError)) as theirs:
        getattr(math, name)(*args)
    with pytest.raises(theirs.type):
        getattr(ad.math, name)(*args)


# --- duals: derivatives vs finite differences of math --------------------------------------
def _derivative_cases():
    for name in DIFFERENTIABLE:
        if name in ("modf", "frexp"):
            continue  # tuple results: below
        for args in ARGS[name]:
            for i, a in enumerate(args):
                if isinstance(a, float):
                    yield pytest.param(name, args, i, id=f"{name}{args}-d{i}")


@pytest.mark.parametrize("name, args, i", list(_derivative_cases()))
def test_dual_derivative_vs_finite_differences(name, args, i):
    def along(fn):
        return lambda t: fn(*[t if j == i else a for j, a in enumerate(args)])

    res = along(getattr(ad.math, name))(DualNumber(args[i], 1.0))
    assert isinstance(res, DualNumber)
    want = getattr(math, name)(*args)
    assert res.value == want or np.isclose(res.value, want, rtol=1e-15), (res.value, want)
    got = ad.derivative(along(getattr(ad.math, name)), args[i])
    expected = fd(np.vectorize(along(getattr(math, name))), args[i])
    assert_close(got, expected, what=f"d/darg{i} {name}{args}")


@pytest.mark.parametrize("name", ["modf", "frexp"])
def test_tuple_results(name):
    for (x,) in ARGS[name]:
        first, second = getattr(ad.math, name)(DualNumber(x, 1.0))
        want = getattr(math, name)(x)
        assert first.value == want[0]
        d_first = fd(np.vectorize(lambda t: getattr(math, name)(t)[0]), x)
        assert_close(first.partials[..., 0], d_first, what=name)
        if name == "modf":  # the integral part is piecewise constant
            assert second.value == want[1] and np.all(second.partials == 0)
        else:  # frexp's exponent is an integer, not a dual
            assert not isinstance(second, DualNumber) and second == want[1]


@pytest.mark.parametrize("name", sorted(SEQUENCE & set(EXPORTED)))
def test_sequence_functions_gradient(name):
    for args in FLOAT_ONLY[name]:
        if not args[0] or np.max(np.abs(np.concatenate(args))) > 1e6:
            continue  # empty, or beyond what a finite difference resolves
        sizes = [len(a) for a in args]
        flat = np.concatenate([np.asarray(a, dtype=float) for a in args])

        def unflatten(v, split=np.cumsum(sizes)[:-1]):
            return [list(part) for part in np.split(v, split)]

        got = ad.gradient(lambda v: getattr(ad.math, name)(*unflatten(v)), flat)
        expected = fd_jacobian(lambda v: getattr(math, name)(*unflatten(v)), flat, h=1e-4)
        assert_close(got, expected, what=f"{name}{args}")


def test_sequence_functions_of_duals_keep_maths_values():
    for name in sorted(SEQUENCE & set(EXPORTED) - {"sumprod"}):  # sumprod: math's own rounding
        for args in FLOAT_ONLY[name]:
            if not args[0]:
                continue
            duals = [[DualNumber(v, 1.0) for v in a] for a in args]
            got = getattr(ad.math, name)(*duals)
            want = getattr(math, name)(*args)
            assert isinstance(got, DualNumber)
            assert got.value == want or (name == "dist" and np.isclose(got.value, want,
                                                                        rtol=1e-15, atol=0))


def test_predicates_act_on_the_value():
    assert ad.math.isfinite(DualNumber(1.0, 1.0)) is True
    assert ad.math.isinf(DualNumber(math.inf, 1.0)) is True
    assert ad.math.isnan(DualNumber(math.nan, 1.0)) is True
    assert ad.math.isclose(DualNumber(1.0, 1.0), 1.0 + 1e-12) is True


def test_log_with_a_dual_base():
    # d/db log_b(x) = -ln x / (b ln(b)^2)
    x, b = 5.0, 3.0
    got = ad.derivative(lambda t: ad.math.log(x, t), b)
    assert_close(got, -math.log(x) / (b * math.log(b) ** 2), oracle="cs")


# --- what must not silently drop a derivative ----------------------------------------------
@pytest.mark.parametrize("call", [
    lambda d: ad.math.factorial(d), lambda d: ad.math.isqrt(d), lambda d: ad.math.comb(d, 2),
    lambda d: ad.math.perm(5, d), lambda d: ad.math.gcd(d, 6), lambda d: ad.math.lcm(4, d),
    lambda d: ad.math.ulp(d),
], ids=["factorial", "isqrt", "comb", "perm", "gcd", "lcm", "ulp"])
def test_non_differentiable_functions_reject_duals(call):
    with pytest.raises(TypeError):
        call(DualNumber(3.0, 1.0))


# (math.floor, ceil and trunc of a 0-d dual give the plain int, as for a scalar dual:
# piecewise constant, no derivative lost; see tests/test_foreign_types.py)
@pytest.mark.parametrize("name", ["sin", "exp", "sqrt", "log", "atan2", "fabs"])
def test_standard_math_on_a_dual_raises(name):
    fn = getattr(math, name)
    args = (DualNumber(0.5, 1.0),) * (2 if name == "atan2" else 1)
    with pytest.raises(TypeError, match="dualad.math"):
        fn(*args)


def test_float_and_int_of_a_dual_raise():
    for conv in (float, int):
        with pytest.raises(TypeError, match=r"\.value"):
            conv(DualNumber(0.5, 1.0))
