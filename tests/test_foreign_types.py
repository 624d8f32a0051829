"""Array types whose meaning a plain array would lose are refused, never flattened silently.

A ``numpy.ma`` masked array (its mask), an ``np.matrix`` (``*`` is a matrix product there) and
pandas objects (labels, alignment) raise a TypeError naming the type by every route: as a
helper's input, as an operand of a dual in a ufunc (either side: numpy.ma and pandas run their
own operators first), in numpy functions, in the DualNumber constructor and in assignment.

Also here: ``round``, ``math.floor``, ``math.ceil`` and ``math.trunc`` of a 0-d DualNumber
give the plain number, as for a scalar dual (piecewise constant: no derivative is lost).
"""
import math

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber
from dualad.scalar import dual as scalar_dual

pytestmark = pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")

MASKED = "numpy.ma.MaskedArray"
MATRIX = "numpy.matrix"


def masked():
    return np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])


def matrix():
    return np.matrix([[1.0, 2.0], [3.0, 4.0]])


def dual3():
    return DualNumber([1.0, 2.0, 3.0], np.eye(3))


def dual22():
    return DualNumber(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2, 1)))


def refused(fn, *names):
    with pytest.raises(TypeError) as err:
        fn()
    msg = str(err.value)
    assert msg.startswith("dualad:"), msg
    assert any(name in msg for name in names), msg
    return msg


# =========================================================================================
# numpy.ma masked arrays
# =========================================================================================
@pytest.mark.parametrize("helper", [
    lambda f, x: ad.gradient(f, x),
    lambda f, x: ad.value_and_grad(f, x),
    lambda f, x: ad.jacobian(f, x),
    lambda f, x: ad.hessian(f, x),
    lambda f, x: ad.jvp(f, x, np.ones(3)),
    lambda f, x: ad.jvp(f, np.ones(3), x),  # as v
    lambda f, x: ad.hvp(f, np.ones(3), x),
    lambda f, x: ad.gradient(lambda p: f(p["w"]), {"w": x}),  # a tree's leaf
    lambda f, x: ad.gradient(lambda a, b: f(a) + f(b), np.ones(3), x, argnums=1),
], ids=["gradient", "value_and_grad", "jacobian", "hessian", "jvp-x", "jvp-v", "hvp-v",
        "tree", "argnums"])
def test_masked_input_to_helpers_is_refused(helper):
    msg = refused(lambda: helper(lambda x: np.sum(x * x), masked()), MASKED)
    assert "mask" in msg and "np.ma.filled" in msg


@pytest.mark.parametrize("f", [
    lambda x, m: np.sum(x * m), lambda x, m: np.sum(m * x), lambda x, m: np.sum(x + m),
    lambda x, m: np.sum(m + x), lambda x, m: np.sum(m - x), lambda x, m: m @ x,
    lambda x, m: x @ m, lambda x, m: np.sum(np.multiply(m, x)),
    lambda x, m: np.sum(np.multiply(x, m)), lambda x, m: np.dot(x, m), lambda x, m: np.dot(m, x),
    lambda x, m: np.sum(np.where(x > 1.0, x, m)), lambda x, m: np.sum(np.stack([x, m])),
    lambda x, m: np.sum(np.concatenate([m, x])),
], ids=["x*m", "m*x", "x+m", "m+x", "m-x", "m@x", "x@m", "multiply(m,x)", "multiply(x,m)",
        "dot(x,m)", "dot(m,x)", "where", "stack", "concatenate"])
def test_masked_constant_in_f_is_refused(f):
    m = masked()
    refused(lambda: ad.gradient(lambda x: f(x, m), np.array([1.0, 2.0, 3.0])), MASKED,
            "numpy.ma")


def test_masked_brief_example_is_refused_not_14():
    m = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    refused(lambda: ad.gradient(lambda x: np.sum(x * m), np.array([1.0, 2.0, 3.0])), MASKED)
    refused(lambda: ad.value_and_grad(lambda x: x @ m, np.array([1.0, 2.0, 3.0])), MASKED)


def test_masked_in_constructor_and_assignment_is_refused():
    refused(lambda: DualNumber(masked(), np.ones(3)), MASKED)
    refused(lambda: DualNumber(np.ones(3), masked()), MASKED)
    d = dual3()

    def assign():
        d[...] = masked()
    refused(assign, MASKED)

    def assign_part():
        d[:2] = np.ma.masked_array([5.0, 6.0], mask=[1, 0])
    refused(assign_part, MASKED)
    np.testing.assert_array_equal(d.value, [1.0, 2.0, 3.0])  # nothing written


def test_masked_constant_np_ma_masked_is_refused():
    refused(lambda: dual3() * np.ma.masked, "numpy.ma")


def test_masked_with_scalar_dual_is_refused():
    refused(lambda: ad.derivative(lambda x: np.sum(x * masked()), 2.0), MASKED)


# =========================================================================================
# np.matrix
# =========================================================================================
@pytest.mark.parametrize("f", [
    lambda x, m: np.sum(x * m), lambda x, m: np.sum(m * x), lambda x, m: np.sum(x + m),
    lambda x, m: np.sum(m + x), lambda x, m: np.sum(x @ m), lambda x, m: np.sum(m @ x),
    lambda x, m: np.sum(np.dot(x, m)), lambda x, m: np.sum(np.dot(m, x)),
    lambda x, m: np.sum(np.multiply(m, x)), lambda x, m: np.sum(np.where(x > 1.0, x, m)),
    lambda x, m: np.sum(np.stack([x, m])), lambda x, m: np.sum(x ** 2 / m),
], ids=["x*m", "m*x", "x+m", "m+x", "x@m", "m@x", "dot(x,m)", "dot(m,x)", "multiply",
        "where", "stack", "divide"])
def test_matrix_constant_in_f_is_refused(f):
    refused(lambda: ad.gradient(lambda x: f(x, matrix()), np.ones((2, 2))), MATRIX)


def test_matrix_brief_example_is_refused_not_30():
    # as np.matrix: x * m is the matrix product; elementwise it would be 30, as a product 54
    m = matrix()
    refused(lambda: ad.gradient(lambda x: np.sum(x * m), np.array([[1.0, 2.0], [3.0, 4.0]])),
            MATRIX)


@pytest.mark.parametrize("helper", [
    lambda f, x: ad.gradient(f, x), lambda f, x: ad.jacobian(f, x),
    lambda f, x: ad.jvp(f, np.ones((2, 2)), x), lambda f, x: ad.hessian(f, x),
], ids=["gradient", "jacobian", "jvp-v", "hessian"])
def test_matrix_input_to_helpers_is_refused(helper):
    msg = refused(lambda: helper(lambda x: np.sum(x * x), matrix()), MATRIX)
    assert "np.asarray" in msg and "@" in msg


def test_matrix_in_constructor_and_assignment_is_refused():
    refused(lambda: DualNumber(matrix()), MATRIX)
    refused(lambda: DualNumber(np.ones((2, 2)), matrix()), MATRIX)
    d = dual22()

    def assign():
        d[...] = matrix()
    refused(assign, MATRIX)


# =========================================================================================
# other ndarray subclasses
# =========================================================================================
class Overriding(np.ndarray):
    """An ndarray subclass with its own ufunc semantics (as astropy's Quantity)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = [np.asarray(a) if isinstance(a, Overriding) else a for a in inputs]
        return getattr(ufunc, method)(*inputs, **kwargs) * 100.0


class Plain(np.ndarray):
    """An ndarray subclass that changes nothing numpy computes."""


def test_ndarray_subclass_with_own_protocols_is_refused():
    a = np.ones(3).view(Overriding)
    refused(lambda: dual3() * a, "Overriding")
    refused(lambda: np.add(dual3(), a), "Overriding")
    # (a * dual3() runs Overriding's own __array_ufunc__ first: what it passes on is its call)
    refused(lambda: ad.gradient(lambda x: np.sum(x * x), a), "Overriding")


def test_plain_ndarray_subclass_still_works():
    a = np.array([1.0, 2.0, 3.0]).view(Plain)
    np.testing.assert_array_equal(ad.gradient(lambda x: np.sum(x * a), np.ones(3)), a)
    np.testing.assert_array_equal(ad.gradient(lambda x: np.sum(x * x), a), 2 * np.asarray(a))


# =========================================================================================
# pandas
# =========================================================================================
def test_pandas_series_input_is_refused():
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0])
    # label semantics: s + s[::-1] aligns on labels (22, not 24), s[0] is the label 0
    msg = refused(lambda: ad.gradient(lambda x: np.sum(x + x[::-1]), s), "pandas.Series")
    assert ".to_numpy()" in msg
    refused(lambda: ad.gradient(lambda x: x[0], s), "pandas.Series")
    refused(lambda: ad.jacobian(lambda x: x * 2.0, s), "pandas.Series")
    refused(lambda: ad.jvp(lambda x: x * 2.0, np.ones(3), s), "pandas.Series")
    refused(lambda: ad.gradient(lambda p: np.sum(p["w"]), {"w": s}), "pandas.Series")
    refused(lambda: ad.derivative(lambda t: t * 2.0, s[:1]), "pandas.Series")


def test_pandas_dataframe_input_is_refused():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    refused(lambda: ad.gradient(lambda x: np.sum(x * x), df), "pandas.DataFrame")


@pytest.mark.parametrize("f", [
    lambda x, s: x * s, lambda x, s: s * x, lambda x, s: x + s, lambda x, s: s + x,
    lambda x, s: np.add(x, s), lambda x, s: np.add(s, x), lambda x, s: x @ s,
    lambda x, s: s @ x, lambda x, s: np.dot(x, s), lambda x, s: np.dot(s, x),
    lambda x, s: np.where(x > 1.0, x, s), lambda x, s: np.stack([x, s]),
    lambda x, s: np.concatenate([s, x]),
], ids=["x*s", "s*x", "x+s", "s+x", "add(x,s)", "add(s,x)", "x@s", "s@x", "dot(x,s)",
        "dot(s,x)", "where", "stack", "concatenate"])
@pytest.mark.parametrize("kind", ["Series", "DataFrame", "Index"])
def test_pandas_constant_in_f_is_refused(f, kind):
    pd = pytest.importorskip("pandas")
    if kind == "Series":
        s, x = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0]), np.ones(3)
    elif kind == "DataFrame":
        s, x = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), np.ones((2, 2))
    else:
        s, x = pd.Index([1.0, 2.0, 3.0]), np.ones(3)
    with pytest.raises((TypeError, ValueError)) as err:  # pandas' own operators may fail
        ad.jacobian(lambda v: f(v, s), x)              # first, in their own words
    if isinstance(err.value, TypeError) and str(err.value).startswith("dualad:"):
        assert "pandas" in str(err.value)


@pytest.mark.parametrize("f", [
    lambda x, s: x * s, lambda x, s: np.add(x, s), lambda x, s: x @ s,
    lambda x, s: np.dot(x, s), lambda x, s: np.where(x > 1.0, x, s),
    lambda x, s: np.stack([x, s]), lambda x, s: np.concatenate([s, x]),
], ids=["x*s", "add(x,s)", "x@s", "dot(x,s)", "where", "stack", "concatenate"])
def test_pandas_operand_of_a_dual_is_refused_by_name(f):
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0])
    refused(lambda: ad.jacobian(lambda v: f(v, s), np.ones(3)), "pandas.Series")


@pytest.mark.parametrize("f", [lambda x, s: s * x, lambda x, s: s + x, lambda x, s: s @ x],
                         ids=["s*x", "s+x", "s@x"])
def test_pandas_operators_meeting_a_dual_are_refused(f):
    # pandas runs its own operator first; it fails converting the dual, with our message
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0])
    refused(lambda: ad.jacobian(lambda v: f(v, s), np.ones(3)), "pandas")


def test_pandas_in_constructor_and_assignment_is_refused():
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0, 3.0])
    refused(lambda: DualNumber(s), "pandas.Series")
    refused(lambda: DualNumber(np.ones(3), s), "pandas.Series")
    d = dual3()

    def assign():
        d[...] = s
    refused(assign, "pandas.Series")


def test_masked_operators_meeting_a_dual_name_the_mask():
    # numpy.ma runs its own operator first (m * x, m + x); it fails converting the dual
    msg = refused(lambda: masked() * dual3(), "numpy.ma")
    assert "mask" in msg


def test_plain_arrays_and_numbers_still_work():
    # the checks do not reach ordinary operands
    x = np.array([1.0, 2.0, 3.0])
    assert ad.gradient(lambda v: np.sum(v * np.float32(2.0) + [1.0, 2.0, 3.0]), x).tolist() \
        == [2.0, 2.0, 2.0]
    assert np.sum(np.stack([dual3(), x])).value == 12.0
    assert ad.derivative(lambda t: np.sum(t * x), 2.0) == 6.0


# =========================================================================================
# round, math.floor, math.ceil, math.trunc
# =========================================================================================
@pytest.mark.parametrize("fn", [round, math.floor, math.ceil, math.trunc,
                                lambda x: round(x, 1)],
                         ids=["round", "floor", "ceil", "trunc", "round-1"])
@pytest.mark.parametrize("v", [2.5, 2.56, -1.5, 3.0, -0.2])
def test_piecewise_constant_builtins_of_0d_dual_match_scalar_dual_and_float(fn, v):
    want = fn(v)
    got_array = fn(DualNumber(v, 1.0))
    got_scalar = fn(scalar_dual(v, 1.0))
    assert got_array == want and type(got_array) is type(want)
    assert got_scalar == want and type(got_scalar) is type(want)


def test_piecewise_constant_builtins_in_derivative_agree_between_paths():
    def f(x):
        return math.floor(x) * x + round(x) + math.ceil(x) * math.trunc(x) + round(x, 1)
    # floats run scalar duals, np.float64 0-d DualNumbers: same zero-derivative convention
    assert ad.derivative(f, 2.5) == ad.derivative(f, np.float64(2.5)) == 2.0
    assert ad.gradient(lambda v: math.floor(v[0]) * v[1], np.array([2.5, 1.0])).tolist() \
        == [0.0, 2.0]


def test_piecewise_constant_builtins_of_nested_0d_dual():
    got = ad.derivative(lambda x: ad.derivative(lambda y: math.floor(x) * y * y, 1.5),
                        np.float64(3.7))
    assert got == 0.0  # d/dx (2 * floor(x) * 1.5) is zero


@pytest.mark.parametrize("fn", [round, math.floor, math.ceil, math.trunc,
                                lambda x: round(x, 1)],
                         ids=["round", "floor", "ceil", "trunc", "round-1"])
def test_piecewise_constant_builtins_of_nd_dual_raise(fn):
    msg = refused(lambda: fn(DualNumber([1.5, 2.5], [1.0, 1.0])), "0-d")
    assert "np." in msg  # points to the elementwise numpy function


# =========================================================================================
# second and higher orders: HyperDual (hessian) and Taylor (derivative, order > 2)
# =========================================================================================
@pytest.mark.parametrize("f", [
    lambda x, m: np.sum(x * x * m), lambda x, m: np.dot(x * x, m), lambda x, m: (x * x) @ m,
    lambda x, m: np.sum(np.stack([x * x, m])), lambda x, m: np.sum(np.where(x > 0, x * x, m)),
], ids=["x*x*m", "dot", "matmul", "stack", "where"])
def test_masked_constant_in_hessian_is_refused(f):
    refused(lambda: ad.hessian(lambda x: f(x, masked()), np.ones(3)), MASKED)


def test_matrix_constant_in_hessian_is_refused():
    refused(lambda: ad.hessian(lambda x: np.sum(x * x * matrix()), np.ones((2, 2))), MATRIX)


@pytest.mark.parametrize("f", [
    lambda x, m: np.sum(x ** 3 * m), lambda x, m: np.dot(x ** 3 * np.ones(3), m),
    lambda x, m: np.sum(np.stack([x ** 3 * np.ones(3), m])),
], ids=["x**3*m", "dot", "stack"])
def test_masked_constant_in_taylor_derivative_is_refused(f):
    refused(lambda: ad.derivative(lambda x: f(x, masked()), np.float64(2.0), order=3), MASKED)


def test_pandas_constant_in_hessian_is_refused():
    pd = pytest.importorskip("pandas")
    s = pd.Series([1.0, 2.0, 3.0], index=[2, 1, 0])
    refused(lambda: ad.hessian(lambda x: np.sum(x * x * s), np.ones(3)), "pandas.Series")
    refused(lambda: ad.hessian(lambda x: np.dot(x * x, s), np.ones(3)), "pandas.Series")
