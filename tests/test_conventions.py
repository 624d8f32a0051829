"""The conventions at non-smooth points: one test per row of the README's table.

| point                               | convention                                       |
|-------------------------------------|--------------------------------------------------|
| abs(x) at 0                         | derivative 0                                     |
| sqrt(x) at 0                        | zero tangent -> 0 (not nan); nonzero -> inf      |
| log(x) at 0                         | zero tangent -> 0                                |
| any rule, any point                 | a zero tangent never becomes nan (0 * inf)       |
| hypot(0, 0), linalg.norm(0)         | derivative 0                                     |
| maximum/minimum ties                | the first argument's derivative                  |
| fmax/fmin with a nan argument       | the other argument's derivative                  |
| np.sort ties                        | stable: equal values keep their order            |
| np.max/np.min ties                  | the first occurrence                             |
| np.where(c, a, b)                   | the branch not taken contributes nothing         |
| x**y at x = 0                       | d/dx x**0 = 0; d/dy 0**y = 0 (y > 0)             |
| floor, ceil, round, rint, sign, ... | derivative exactly 0, also at the jumps          |
| clip at a bound                     | the input's derivative                           |
"""
import itertools

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber
from dualad.rules.table import RULES

INF, NAN = np.inf, np.nan


def tangent(d):
    return d.partials[..., 0] if d.partials.shape[-1] == 1 else d.partials


# --- abs, sqrt, log ------------------------------------------------------------------------
@pytest.mark.parametrize("f", [abs, np.abs, np.fabs, ad.math.fabs],
                         ids=["abs", "np.abs", "np.fabs", "math.fabs"])
def test_abs_at_zero_has_derivative_zero(f):
    assert ad.derivative(f, 0.0) == 0.0
    assert ad.derivative(f, -0.0) == 0.0
    assert ad.derivative(f, 2.0) == 1.0 and ad.derivative(f, -2.0) == -1.0


def test_sqrt_at_zero():
    y = np.sqrt(DualNumber(0.0, [0.0, 1.0]))
    assert y.value == 0.0
    assert y.partials.tolist() == [0.0, INF]
    # the zero tangent of another variable stays clean in a jacobian
    jac = ad.jacobian(lambda v: np.sqrt(v[0]) + v[1], [0.0, 1.0])
    assert jac.tolist() == [INF, 1.0]


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")  # numpy's own, on the values
def test_log_at_zero_with_a_zero_tangent():
    y = np.log(DualNumber(0.0, [0.0, 1.0]))
    assert y.value == -INF
    assert y.partials[0] == 0.0
    jac = ad.jacobian(lambda v: np.log(v[0]) * 0.0 + v[1], [0.0, 3.0])
    assert jac[1] == 1.0


def _zero_tangent_cases():
    points = [0.0, 1.0, -1.0, 0.5, 2.0]
    for ufunc, rule in RULES.items():
        if rule.kind in ("unary", "binary"):
            yield pytest.param(ufunc, rule, points, id=ufunc.__name__)


@pytest.mark.parametrize("ufunc, rule, points", list(_zero_tangent_cases()))
def test_a_zero_tangent_never_becomes_nan(ufunc, rule, points):
    grid = np.array(list(itertools.product(points, repeat=len(rule.domain)))).T
    args = []
    for i, column in enumerate(grid):
        if rule.derivs[i] is None:  # a constant-only argument (an integer)
            args.append(np.abs(column).astype(np.int64) + 1)
        else:
            args.append(DualNumber(column, np.zeros((column.size, 1))))
    with np.errstate(all="ignore"):
        res = ufunc(*args)
    assert np.all(res.partials == 0.0), res.partials[res.partials != 0.0]


# --- hypot and norm at zero -----------------------------------------------------------------
def test_hypot_at_the_origin():
    assert ad.jacobian(lambda v: np.hypot(v[0], v[1]), [0.0, 0.0]).tolist() == [0.0, 0.0]
    assert ad.derivative(lambda t: ad.math.hypot(t, 0.0), 0.0) == 0.0
    # away from it, the usual x / r
    assert np.allclose(ad.jacobian(lambda v: np.hypot(v[0], v[1]), [3.0, 4.0]), [0.6, 0.8],
                       rtol=1e-15)


def test_norm_at_the_zero_vector():
    grad = ad.gradient(np.linalg.norm, np.zeros(3))
    assert grad.tolist() == [0.0, 0.0, 0.0]
    assert np.allclose(ad.gradient(np.linalg.norm, [3.0, 0.0, 4.0]), [0.6, 0.0, 0.8])


# --- max/min ---------------------------------------------------------------------------------
@pytest.mark.parametrize("ufunc", [np.maximum, np.minimum, np.fmax, np.fmin],
                         ids=lambda u: u.__name__)
def test_maximum_minimum_ties_take_the_first_argument(ufunc):
    a, b = DualNumber(1.0, 2.0), DualNumber(1.0, 5.0)
    assert tangent(ufunc(a, b)) == 2.0
    assert tangent(ufunc(b, a)) == 5.0
    assert tangent(ufunc(a, 1.0)) == 2.0  # a constant second argument
    assert tangent(ufunc(1.0, a)) == 0.0  # a constant first argument wins the tie
    # vectorized, with the ties mixed in
    x = DualNumber([1.0, 2.0, 3.0], [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    y = DualNumber([1.0, 1.0, 4.0], [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    first = ufunc in (np.maximum, np.fmax)
    assert ufunc(x, y).partials.tolist() == (
        [[1, 0], [1, 0], [0, 1]] if first else [[1, 0], [0, 1], [1, 0]])


@pytest.mark.parametrize("ufunc", [np.fmax, np.fmin], ids=lambda u: u.__name__)
def test_fmax_fmin_ignore_a_nan_argument(ufunc):
    a, b = DualNumber(NAN, 1.0), DualNumber(2.0, 3.0)
    for res in (ufunc(a, b), ufunc(b, a)):
        assert res.value == 2.0 and tangent(res) == 3.0
    assert tangent(ufunc(b, NAN)) == 3.0
    assert tangent(ufunc(NAN, b)) == 3.0
    assert ufunc(a, 2.0).value == 2.0 and tangent(ufunc(a, 2.0)) == 0.0


def test_sort_ties_keep_their_order():
    x = DualNumber([2.0, 1.0, 2.0, 1.0, 0.5], np.eye(5))
    s = np.sort(x)
    assert s.value.tolist() == [0.5, 1.0, 1.0, 2.0, 2.0]
    # row k of the partials is the unit vector of the element that landed at k
    assert np.argmax(s.partials, axis=-1).tolist() == [4, 1, 3, 0, 2]
    s2 = np.sort(DualNumber([[3.0, 3.0], [1.0, 1.0]], np.eye(4).reshape(2, 2, 4)), axis=0)
    assert np.argmax(s2.partials, axis=-1).tolist() == [[2, 3], [0, 1]]


@pytest.mark.parametrize("func, expected", [(np.max, 1), (np.min, 0), (np.amax, 1),
                                            (np.amin, 0)],
                         ids=["max", "min", "amax", "amin"])
def test_max_min_ties_take_the_first_occurrence(func, expected):
    x = DualNumber([1.0, 3.0, 3.0, 1.0], np.eye(4))
    assert np.argmax(func(x).partials) == expected
    assert func(x).partials.tolist() == np.eye(4)[expected].tolist()
    g = ad.gradient(lambda v: func(v), [1.0, 3.0, 3.0, 1.0])
    assert g.tolist() == np.eye(4)[expected].tolist()
    m = func(DualNumber([[5.0, 2.0], [5.0, 2.0]], np.eye(4).reshape(2, 2, 4)), axis=0)
    assert np.argmax(m.partials, axis=-1).tolist() == [0, 1]


# --- np.where --------------------------------------------------------------------------------
def test_where_ignores_the_branch_not_taken():
    g = ad.derivative(lambda x: np.where(x > 0, np.sqrt(x), 0.0), 0.0)
    assert g == 0.0
    x = np.array([0.0, -1.0, 2.0, -0.0])
    with np.errstate(all="ignore"):
        jac = ad.jacobian(lambda v: np.where(v > 0, np.log(v), 0.0), x)
    assert not np.any(np.isnan(jac))
    assert jac.tolist() == np.diag([0.0, 0.0, 0.5, 0.0]).tolist()
    # both branches dual; the untaken one is infinite where it is not selected
    with np.errstate(all="ignore"):
        jac = ad.jacobian(lambda v: np.where(v > 0, np.sqrt(v), 1.0 / v), np.array([0.0, 4.0]))
    assert jac.tolist() == [[-INF, 0.0], [0.0, 0.25]]  # 1/x at 0 (taken) is -inf, honestly


# --- powers at base zero ---------------------------------------------------------------------
def test_power_at_base_zero():
    assert ad.derivative(lambda x: x ** 0.0, 0.0) == 0.0
    assert ad.derivative(lambda x: x ** 0, 0.0) == 0.0
    assert ad.derivative(lambda y: 0.0 ** y, 2.0) == 0.0
    assert ad.derivative(lambda y: 0.0 ** y, 0.5) == 0.0
    assert ad.jacobian(lambda v: v[0] ** v[1], [0.0, 2.0]).tolist() == [0.0, 0.0]
    assert ad.jacobian(lambda v: v[0] ** v[1], [0.0, 1.0]).tolist() == [1.0, 0.0]
    assert ad.derivative(lambda x: x ** 2, 0.0) == 0.0
    assert ad.derivative(lambda x: x ** 1, 0.0) == 1.0
    assert ad.derivative(lambda x: x ** 0.5, 0.0) == INF
    assert ad.derivative(lambda x: np.float_power(x, 0.0), 0.0) == 0.0


# --- piecewise constant ----------------------------------------------------------------------
@pytest.mark.parametrize("f", [np.floor, np.ceil, np.round, np.around, np.rint, np.sign,
                               np.trunc, np.fix, ad.math.floor, ad.math.ceil, ad.math.trunc,
                               lambda x: x // 1.0, lambda x: np.heaviside(x, 0.5)],
                         ids=["floor", "ceil", "round", "around", "rint", "sign", "trunc",
                              "fix", "math.floor", "math.ceil", "math.trunc", "floordiv",
                              "heaviside"])
def test_piecewise_constant_functions_have_derivative_exactly_zero(f):
    for x in (2.0, 2.5, -0.5, 0.0, -3.0):
        assert ad.derivative(f, x) == 0.0, x
    res = f(DualNumber([2.0, 2.5, 0.0, -1.0], [[1.0, -2.0]] * 4))
    assert res.partials.shape == (4, 2) and np.all(res.partials == 0.0)


# --- clip ------------------------------------------------------------------------------------
def test_clip_at_a_bound_passes_the_input_derivative():
    x = DualNumber([0.0, 0.5, 1.0, -1.0, 2.0], 3.0)
    c = np.clip(x, 0.0, 1.0)
    assert c.value.tolist() == [0.0, 0.5, 1.0, 0.0, 1.0]
    assert tangent(c).tolist() == [3.0, 3.0, 3.0, 0.0, 0.0]
    assert tangent(x.clip(0.0, 1.0)).tolist() == [3.0, 3.0, 3.0, 0.0, 0.0]
    # a dual bound: its derivative where it is active, the input's at the tie
    lo = DualNumber(0.0, 7.0)
    assert tangent(np.clip(x, lo, 1.0)).tolist() == [3.0, 3.0, 3.0, 7.0, 0.0]
