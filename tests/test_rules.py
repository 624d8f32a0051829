"""Every entry of the rule table, tested from the table: adding a rule adds its tests.

For each ``ufunc -> Rule`` in ``dualad.rules.RULES``, at random points of the entry's own
domain, the dual derivative is compared with oracles that do not use dualad:

- a 4th-order central finite difference of the plain numpy function (every entry);
- the complex step ``Im f(x + ih) / h`` (exact to rounding) for the entries numpy evaluates
  on complex numbers and that are analytic (the two explicit sets below list the others);

with every argument dual at once (one direction each), with one argument dual and the others
constant arrays or Python scalars (broadcasting), with a 0-d dual against constant arrays, in
float64 and float32. Second derivatives come from nesting (``derivative(f, x, order=2)``).
"""
import math
import zlib

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber
from dualad.rules.table import RULES

from _oracles import assert_close, complex_step, fd

N = 6  # points per test
DTYPES = [np.float64, np.float32]

#: numpy (or numba) refuses complex input for these entries: no complex step
NO_COMPLEX = frozenset({
    "deg2rad", "radians", "rad2deg", "degrees", "cbrt", "logaddexp", "logaddexp2", "arctan2",
    "erf", "erfc", "gamma", "lgamma", "digamma", "polygamma", "fabs", "hypot", "copysign",
    "remainder", "fmod", "ldexp", "nextafter", "floor", "ceil", "trunc", "spacing",
    "floor_divide", "heaviside"})
#: these accept complex input but are not analytic there, so the complex step is no oracle
NOT_ANALYTIC = {
    "conjugate": "conj(x + ih) = x - ih",
    "absolute": "|x + ih| is real",
    "maximum": "compares complex numbers lexicographically",
    "minimum": "compares complex numbers lexicographically",
    "fmax": "compares complex numbers lexicographically",
    "fmin": "compares complex numbers lexicographically",
    "sign": "sign(z) = z / |z|",
}

#: numpy computes these in float64 whatever the float input (their partials follow)
WIDENS = {"float_power": "numpy's float_power promotes float16/float32 to float64"}

ENTRIES = list(RULES.items())


def _params(entries):
    return [pytest.param(u, r, id=u.__name__) for u, r in entries]


ALL = _params(ENTRIES)
COMPLEX_STEP = _params((u, r) for u, r in ENTRIES
                       if u.__name__ not in NO_COMPLEX and u.__name__ not in NOT_ANALYTIC)
CONSTANT_ONLY = _params((u, r) for u, r in ENTRIES
                        if r.kind in ("unary", "binary") and None in r.derivs)
ZERO = _params((u, r) for u, r in ENTRIES if r.kind == "zero")


# --- sampling --------------------------------------------------------------------------
def constant_only(rule, i):
    """Argument ``i`` must be a constant (an integer exponent, a polygamma order)."""
    return rule.kind in ("unary", "binary") and rule.derivs[i] is None


def differentiable(rule):
    return [i for i in range(len(rule.domain)) if not constant_only(rule, i)]


def sample(ufunc, rule, dtype):
    """Points of the entry's domain, one array of ``N`` per argument (seeded by name)."""
    rng = np.random.default_rng(zlib.crc32(ufunc.__name__.encode()))
    args = []
    for i, (lo, hi) in enumerate(rule.domain):
        if constant_only(rule, i):
            ints = rng.integers(math.ceil(lo), math.floor(hi) + 1, N)
            args.append(ints)
        else:
            args.append(rng.uniform(lo, hi, N).astype(dtype))
    for i in range(len(args)):  # integer constants in the float dtype, where accepted
        if constant_only(rule, i):
            trial = list(args)
            trial[i] = args[i].astype(dtype)
            try:
                ufunc(*trial)
            except TypeError:
                continue
            args[i] = trial[i]
    return args


def as64(a):
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a


def cases(rule, args, dtype):
    """``(label, inputs, dual_positions, oracle_points)`` for the ways to call an entry.

    ``inputs`` are what the ufunc receives (duals and constants), ``dual_positions`` the
    arguments seeded (direction ``k`` for the ``k``-th of them) and ``oracle_points`` the
    plain float64 arguments, broadcast, at which the oracle is evaluated.
    """
    diff = differentiable(rule)
    nargs = len(args)

    def seeded(positions, values):
        k = len(positions)
        inputs = list(values)
        for j, i in enumerate(positions):
            p = np.zeros(np.shape(values[i]) + (k,), dtype=dtype)
            p[..., j] = 1.0
            inputs[i] = DualNumber(values[i], p)
        return inputs

    def points(values):
        return [as64(a) for a in np.broadcast_arrays(*[np.asarray(v) for v in values])]

    if diff:
        yield "all dual", seeded(diff, args), diff, points(args)
    if nargs == 1:
        yield "0-d dual", seeded([0], [args[0][0]]), [0], points([args[0][0]])
        return
    for i in diff:
        yield f"arg {i} dual, constant arrays", seeded([i], args), [i], points(args)
        scalars = [a if j == i else a[0].item() for j, a in enumerate(args)]
        yield f"arg {i} dual, Python scalars", seeded([i], scalars), [i], points(scalars)
        zero_d = [a[0] if j == i else a for j, a in enumerate(args)]
        yield f"0-d arg {i} dual, constant arrays", seeded([i], zero_d), [i], points(zero_d)


def restricted(ufunc, pts, i):
    """The plain function of argument ``i`` with the others fixed at ``pts``."""
    return lambda t: ufunc(*[t if j == i else p for j, p in enumerate(pts)])


def check_case(ufunc, dtype, label, inputs, positions, pts, oracle):
    what = f"{ufunc.__name__} [{label}, {np.dtype(dtype)}]"
    with np.errstate(all="ignore"):
        res = ufunc(*inputs)
        plain = ufunc(*[x.value if isinstance(x, DualNumber) else x for x in inputs])
    assert isinstance(res, DualNumber), what
    # the value is numpy's own, in numpy's dtype, which for these inputs is ``dtype``
    np.testing.assert_array_equal(res.value, plain, err_msg=what)
    assert res.value.dtype == plain.dtype, f"{what}: value dtype {res.value.dtype}"
    expected_dtype = np.float64 if ufunc.__name__ in WIDENS else dtype
    assert res.value.dtype == expected_dtype, f"{what}: value dtype {res.value.dtype}"
    assert res.partials.dtype == expected_dtype, f"{what}: partials dtype {res.partials.dtype}"
    assert res.partials.shape == np.shape(plain) + (len(positions),), what
    for k, i in enumerate(positions):
        step = fd if oracle == "fd" else complex_step
        expected = step(restricted(ufunc, pts, i), pts[i])
        assert_close(res.partials[..., k], expected, dtype, oracle, what=f"{what} d/darg{i}")


# --- first derivatives -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ufunc, rule", ALL)
def test_first_derivative_vs_finite_differences(ufunc, rule, dtype):
    args = sample(ufunc, rule, dtype)
    for label, inputs, positions, pts in cases(rule, args, dtype):
        check_case(ufunc, dtype, label, inputs, positions, pts, "fd")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ufunc, rule", COMPLEX_STEP)
def test_first_derivative_vs_complex_step(ufunc, rule, dtype):
    args = sample(ufunc, rule, dtype)
    for label, inputs, positions, pts in cases(rule, args, dtype):
        check_case(ufunc, dtype, label, inputs, positions, pts, "cs")


@pytest.mark.parametrize("ufunc, rule", ZERO)
def test_zero_kind_gives_exact_zero_partials(ufunc, rule):
    for dtype in DTYPES:
        args = sample(ufunc, rule, dtype)
        for label, inputs, positions, pts in cases(rule, args, dtype):
            res = ufunc(*inputs)
            assert res.partials.shape == np.shape(res.value) + (len(positions),), label
            assert np.all(res.partials == 0.0), label
        for i in range(len(args)):
            f = restricted(ufunc, [a[0].item() for a in args], i)
            assert ad.derivative(f, args[i][0].item(), order=2) == 0.0


@pytest.mark.parametrize("ufunc, rule", CONSTANT_ONLY)
def test_dual_at_a_constant_only_argument_raises(ufunc, rule):
    args = sample(ufunc, rule, np.float64)
    for i in range(len(args)):
        if constant_only(rule, i):
            inputs = list(args)
            inputs[i] = DualNumber(args[i].astype(np.float64), 1.0)
            with pytest.raises(TypeError):
                ufunc(*inputs)


# --- second derivatives through nesting --------------------------------------------------
@pytest.mark.parametrize("ufunc, rule", ALL)
def test_second_derivative_by_nesting(ufunc, rule):
    name = ufunc.__name__
    analytic = name not in NO_COMPLEX and name not in NOT_ANALYTIC
    args = sample(ufunc, rule, np.float64)
    for i in differentiable(rule):
        for m in range(3):
            consts = [a[m].item() for a in args]
            f = restricted(ufunc, consts, i)
            t0 = consts[i]
            got = ad.derivative(f, t0, order=2)
            if analytic:  # finite differences of the complex-step derivative
                expected = fd(lambda t: complex_step(f, t), t0)
            else:  # finite differences of the first derivative (checked above)
                expected = fd(lambda t: ad.jvp(f, t, np.ones_like(t))[1], t0)
            assert np.ndim(got) == 0
            assert_close(got, expected, tol=1e-6, what=f"{name}'' wrt arg {i} at {consts}")


# --- the explicit lists stay true ------------------------------------------------------
def test_exception_lists_name_table_entries():
    names = {u.__name__ for u in RULES}
    assert NO_COMPLEX <= names
    assert set(NOT_ANALYTIC) <= names
    assert not NO_COMPLEX & set(NOT_ANALYTIC)


@pytest.mark.parametrize("ufunc, rule", ALL)
def test_complex_capability_is_as_listed(ufunc, rule):
    z = [np.full(2, 0.5 + 1e-20j)] * len(rule.domain)
    if ufunc.__name__ in NO_COMPLEX:
        with pytest.raises(TypeError):
            ufunc(*z)
    else:
        assert np.iscomplexobj(ufunc(*z)) or ufunc.__name__ in NOT_ANALYTIC
