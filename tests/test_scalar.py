"""The scalar path (dualad/scalar.py) against the array path, math, and finite differences.

The array path (0-d DualNumbers, numpy ufuncs) is an independent implementation of the same
table; values are also checked against plain-float code, and derivatives against central
differences, so a shared mistake in the table would still show.
"""
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dualad as ad
from dualad.rules.table import RULES
from dualad.scalar import ScalarDual, dual, to_dual

ROOT = Path(__file__).resolve().parents[1]
# numpy ships its own exp, log, tanh, ...: they may differ from libm's in the last ulp
ULPS = 1e-14


def array_derivative(f, x, order=1):
    return ad.derivative(f, np.float64(x), order=order)


def central(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


MATH_RULES = [(u, r) for u, r in RULES.items() if r.math and hasattr(math, r.math)]


def _points(rule, k=3, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(k):
        args = [rng.uniform(lo + 0.05 * (hi - lo), hi - 0.05 * (hi - lo)) for lo, hi in
                rule.domain]
        if rule.math == "ldexp":
            args[1] = int(round(args[1]))
        out.append(args)
    return out


@pytest.mark.parametrize("ufunc,rule", MATH_RULES, ids=[r.math for _, r in MATH_RULES])
def test_every_math_rule_matches_the_array_path(ufunc, rule):
    fn = getattr(ad.math, rule.math)
    for args in _points(rule):
        for i in range(len(args)):
            if rule.kind == "binary" and rule.derivs[i] is None:
                continue  # a constant argument (ldexp's exponent)

            def f(t, i=i, args=args):
                a = list(args)
                a[i] = t
                return fn(*a)
            got = ad.derivative(f, args[i])
            want = array_derivative(f, args[i])
            assert type(got) is float
            assert got == pytest.approx(want, rel=ULPS, abs=1e-300), (rule.math, args, i)
            if rule.kind != "zero":
                plain = getattr(math, rule.math)

                def g(t, i=i, args=args):
                    a = list(args)
                    a[i] = t
                    return plain(*a)
                assert got == pytest.approx(central(g, args[i]), rel=1e-6, abs=1e-7)
            # the value is exactly what math gives on floats
            seen = []
            ad.derivative(lambda t, f=f: seen.append(f(t)) or seen[-1], args[i])
            assert type(seen[0]) is ScalarDual
            assert seen[0].value == getattr(math, rule.math)(*args)


def _random_expression(rng, depth):
    """A random function of x built from operators and dualad.math calls."""
    if depth == 0:
        return rng.choice([lambda x: x, lambda x: 0.5 + 0.0 * x, lambda x: 1.3 * x])
    a, b = _random_expression(rng, depth - 1), _random_expression(rng, depth - 1)
    m = ad.math
    ops = [lambda x: a(x) + b(x), lambda x: a(x) - b(x), lambda x: a(x) * b(x),
           lambda x: a(x) / (1.5 + b(x) * b(x)), lambda x: m.sin(a(x)) * b(x),
           lambda x: m.exp(-a(x) * a(x)) + b(x), lambda x: m.sqrt(1.0 + a(x) * a(x)),
           lambda x: m.atan(a(x)) - m.cos(b(x)), lambda x: (2.0 + m.tanh(a(x))) ** 1.5,
           lambda x: m.log1p(a(x) * a(x)) * 3.0, lambda x: abs(a(x)) + b(x) ** 2,
           lambda x: m.hypot(a(x), 1.0 + b(x)), lambda x: max(a(x), b(x)) - 1.0 / (2 + b(x) ** 2)]
    return rng.choice(ops)


@pytest.mark.parametrize("seed", range(40))
def test_random_compositions_match_the_array_path(seed):
    rng = random.Random(seed)
    f = _random_expression(rng, 3)
    x = rng.uniform(-2.0, 2.0)
    got = ad.derivative(f, x)
    assert got == pytest.approx(array_derivative(f, x), rel=1e-12, abs=1e-13)
    # both paths share the rule table: differences of the plain-float function are the oracle
    assert got == pytest.approx(central(f, x), rel=1e-6, abs=1e-6)
    # plain floats give the same value (the scalar path computes exactly what floats do)
    seen = []
    ad.derivative(lambda t: seen.append(f(t)) or seen[-1], x)
    assert primal_value(seen[0]) == f(x)
    assert ad.derivative(f, x, order=2) == pytest.approx(
        array_derivative(f, x, order=2), rel=1e-10, abs=1e-10)


def primal_value(y):
    while isinstance(y, ScalarDual):
        y = y.value
    return y


def test_arithmetic_is_bit_identical_to_the_array_path():
    def f(x):
        y = x * x + 3.0 * x - 1.0
        z = (y / (1.0 + y * y)) ** 3 - 2.0 / x
        return 0.5 * (z * y - y / (2.0 + z)) + x - (-x) ** 2
    for x in (0.3, 0.7, 1.9, -2.4):
        assert ad.derivative(f, x) == array_derivative(f, x)


def test_the_scalar_path_is_used_and_nested_for_second_order():
    kinds = []

    def f(x):
        kinds.append(type(x))
        return x ** 4
    assert ad.derivative(f, 2.0) == 32.0
    assert ad.derivative(f, 2.0, order=2) == 48.0
    assert set(kinds) == {ScalarDual}


def test_perturbation_confusion_through_the_scalar_path():
    assert ad.derivative(lambda x: x * ad.derivative(lambda y: x + y, 1.0), 1.0) == 1.0
    # d/dx [x * d/dy (x * y)] = d/dx x^2 = 2x
    assert ad.derivative(lambda x: x * ad.derivative(lambda y: x * y, 1.0), 3.0) == 6.0
    # mixing with the array path inside
    assert ad.derivative(lambda x: ad.gradient(lambda v: x * v[0] ** 2, [2.0])[0], 5.0) == 4.0
    assert ad.derivative(lambda x: x * ad.derivative(lambda y: np.sin(x) + y, 1.0), 1.0) == 1.0


def test_a_stored_dual_of_a_finished_call_is_a_constant():
    stored = []
    ad.derivative(lambda x: stored.append(x * x) or x, 3.0)
    assert ad.derivative(lambda y: stored[0] * y, 2.0) == 9.0


def test_builtins_and_control_flow():
    def f(x):
        xs = [x, 2.0 * x, x * x, 1.0]
        total = sum(xs)
        while total > 1.0:
            total = total / 2.0
        if x > 1.0:
            total = total + 1.0
        return total + max(xs) + min(xs) + sorted(xs)[1] + abs(-x) + round(x) + round(x, 1)
    # at x = 3: xs = [3, 6, 9, 1], sum 19 → 19/32; max 9 = x², min 1, sorted[1] = x
    x = 3.0
    want = (1.0 + 2.0 + 2 * x) / 32 + 2 * x + 0.0 + 1.0 + 1.0
    assert ad.derivative(f, x) == pytest.approx(want, rel=1e-15)
    assert isinstance(round(dual(2.6, 1.0)), int)
    assert math.floor(dual(2.6, 1.0)) == 2 and math.ceil(dual(2.1)) == 3


def test_conversions_that_drop_the_derivative_raise_as_for_dualnumber():
    x = dual(2.0, 1.0)
    with pytest.raises(TypeError) as err_scalar:
        float(x)
    with pytest.raises(TypeError) as err_array:
        float(ad.DualNumber(2.0, 1.0))
    assert str(err_scalar.value) == str(err_array.value)
    for bad in (int, math.sin, np.asarray, lambda v: range(v)):
        with pytest.raises(TypeError, match="dualad"):
            bad(x)


def test_interoperates_with_dualnumber_and_numpy():
    x = dual(0.5, 1.0)
    y = np.sin(x)
    assert isinstance(y, ad.DualNumber)
    assert (y.value, y.partials[0]) == (np.sin(0.5), np.cos(0.5))
    z = x * ad.DualNumber(3.0, 2.0)  # both tag 0: one ε
    assert isinstance(z, ad.DualNumber) and z.partials[0] == 3.0 + 0.5 * 2.0
    s = np.stack([x, 2 * x])
    assert s.partials[:, 0].tolist() == [1.0, 2.0]
    assert (np.float64(2.0) * x).tangent == 2.0
    assert ad.derivative(lambda t: [t, t * t, 3.0], 2.0).tolist() == [1.0, 4.0, 0.0]
    assert ad.derivative(lambda t: np.array([1.0, 2.0]) * t, 2.0).tolist() == [1.0, 2.0]
    assert to_dual(dual(1.0, 2.0)).partials.tolist() == [2.0]


def test_non_smooth_points_follow_the_array_path():
    cases = [lambda x: 1.0 / x, lambda x: ad.math.sqrt(x), lambda x: abs(x),
             lambda x: ad.math.log(x) * 0.0 + x, lambda x: 0.0 * ad.math.sqrt(x),
             lambda x: max(x, 0.0), lambda x: x ** 0.5, lambda x: 0.0 ** x,
             lambda x: ad.math.pow(x, 2.0)]
    with np.errstate(all="ignore"):
        for f in cases:
            got, want = ad.derivative(f, 0.0), array_derivative(f, 0.0)
            assert got == want or (math.isnan(got) and math.isnan(want)), f


def test_math_on_floats_is_still_math():
    assert ad.math.sin(0.5) == math.sin(0.5)
    with pytest.raises(ValueError):
        ad.math.sqrt(-1.0)
    assert ad.math.log(8.0, 2.0) == math.log(8.0, 2.0)
    assert ad.math.hypot(3.0, 4.0, 12.0) == 13.0
    assert ad.derivative(lambda x: ad.math.hypot(x, 4.0, 12.0), 3.0) == pytest.approx(3 / 13)
    assert ad.derivative(lambda x: ad.math.fsum([x, x * x]), 3.0) == 7.0
    assert ad.derivative(lambda x: ad.math.log(x, 2.0), 2.0) == pytest.approx(
        1 / (2 * math.log(2)))


def test_benchmark_quick_runs():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scalar.py"), "--quick"],
                          cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "correctness: passed" in proc.stdout
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    names = [r.split("|")[1].strip() for r in rows[1:]]
    assert names[:3] == ["plain floats (math)", "dualad.derivative (scalar duals)",
                         "dualad.derivative (0-d arrays)"]


# --- the optional C operators (dualad/_cscalar.c) against the pure-Python ones ------------------
from dualad.scalar import number as _scalar  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

C_BUILT = _scalar._cscalar is not None
OPS = {"+": (lambda a, b: a + b, "__add__", "__radd__"),
       "-": (lambda a, b: a - b, "__sub__", "__rsub__"),
       "*": (lambda a, b: a * b, "__mul__", "__rmul__"),
       "/": (lambda a, b: a / b, "__truediv__", "__rtruediv__")}
finite = st.floats(-1e300, 1e300) | st.sampled_from([0.0, -0.0, 1.0, 2.0 ** -1074])
number = finite | st.integers(-10 ** 20, 10 ** 20) | st.sampled_from([
    0, 10 ** 400, math.inf, -math.inf, math.nan])


@st.composite
def operands(draw):
    """A scalar dual of tag 7 (float or nested parts) or of another tag, or a constant."""
    kind = draw(st.sampled_from(["dual", "dual", "other tag", "nested", "constant"]))
    if kind == "constant":
        return draw(number)
    s = ScalarDual()
    s.value, s.tangent = draw(finite), draw(finite)
    s.tag = 7 if kind != "other tag" else draw(st.sampled_from([3, 9]))
    if kind == "nested":
        inner = ScalarDual()
        inner.value, inner.tangent, inner.tag = s.value, draw(finite), 2
        s.value = inner
    return s


def _outcome(fn, *args):
    try:
        r = fn(*args)
    except Exception as err:  # the same exception type on both paths
        return type(err).__name__
    if r is NotImplemented:
        return "NotImplemented"
    return _bits(r)


def _bits(r):
    if type(r) is ScalarDual:
        return ("dual", _bits(r.value), _bits(r.tangent), r.tag)
    return (type(r).__name__, math.copysign(1.0, r) if r == 0 else None,
            "nan" if r != r else r)


@pytest.mark.skipif(not C_BUILT, reason="the C extension was not built (no compiler)")
@settings(max_examples=400)
@given(st.sampled_from(sorted(OPS)), operands(), operands())
def test_c_operators_give_the_bits_of_the_python_operators(op, a, b):
    if type(a) is not ScalarDual and type(b) is not ScalarDual:
        b = dual(0.5, 1.0)
    fn, name, rname = OPS[op]
    want = (_outcome(getattr(_scalar._Operators, name), a, b) if type(a) is ScalarDual
            else _outcome(getattr(_scalar._Operators, rname), b, a))
    if want == "NotImplemented":
        return  # Python then asks the other operand
    assert _outcome(fn, a, b) == want


@pytest.mark.skipif(not C_BUILT, reason="the C extension was not built (no compiler)")
@given(operands())
def test_c_negation_gives_the_bits_of_the_python_operator(a):
    if type(a) is ScalarDual:
        assert _outcome(lambda x: -x, a) == _outcome(_scalar._Operators.__neg__, a)


def test_the_c_extension_is_built_in_ci():
    if not C_BUILT and os.environ.get("CI") and not os.environ.get("DUALAD_PURE_PYTHON"):
        pytest.fail("CI: dualad.scalar._cscalar was not built; is a C compiler installed?")


def test_subclasses_and_copies_keep_the_parts():
    import copy
    import pickle

    class Mine(ScalarDual):
        __slots__ = ()
    m = Mine()
    m.value, m.tangent, m.tag = 2.0, 1.0, 0
    assert _bits(m * 3.0) == _bits(dual(2.0, 1.0) * 3.0)
    assert _bits(3.0 - m) == _bits(3.0 - dual(2.0, 1.0))
    x = dual(2.0, 3.0) * dual(5.0, 7.0)
    for y in (copy.copy(x), copy.deepcopy(x), pickle.loads(pickle.dumps(x))):
        assert _bits(y) == _bits(x)


def test_the_pure_python_operators_pass_this_file():
    # the pure-Python build (no compiler): this file again without the C operators
    env = dict(os.environ, DUALAD_PURE_PYTHON="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          __file__, "-k", "not pure_python_operators and not benchmark"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
