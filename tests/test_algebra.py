"""Property tests of the dual algebra (hypothesis).

The oracles are identities of differentiation written with plain numpy (linearity of the
directional derivative, the product, quotient and chain rules with analytic derivatives),
the dual-number formulas (a + bε)(c + dε) = ac + (ad + bc)ε computed on plain floats, and
finite differences.
"""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dualad as ad
from dualad import DualNumber
from dualad.rules.special import erf

from _oracles import assert_close, fd, fd_jacobian


def reals(lo=-2.0, hi=2.0, allow_subnormal=False):
    # subnormals carry few digits, so relative comparisons at them mean nothing
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                     allow_subnormal=allow_subnormal)


def vectors(n=4, lo=-2.0, hi=2.0):
    return hnp.arrays(np.float64, n, elements=reals(lo, hi))


#: elementwise functions with their derivatives written independently (plain numpy)
OPS = {
    "sin": (np.sin, np.cos),
    "cos": (np.cos, lambda x: -np.sin(x)),
    "tanh": (np.tanh, lambda x: 1.0 / np.cosh(x) ** 2),
    "arctan": (np.arctan, lambda x: 1.0 / (1.0 + x * x)),
    "exp/2": (lambda x: np.exp(x / 2), lambda x: np.exp(x / 2) / 2),
    "square": (lambda x: x * x, lambda x: 2 * x),
    "cube": (lambda x: x ** 3, lambda x: 3 * x ** 2),
    "sqrt(1+x²)": (lambda x: np.sqrt(1 + x * x), lambda x: x / np.sqrt(1 + x * x)),
    "log1p(x²)": (lambda x: np.log1p(x * x), lambda x: 2 * x / (1 + x * x)),
    "1/(1+x²)": (lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2),
    "erf": (erf, lambda x: 2 / np.sqrt(np.pi) * np.exp(-x * x)),
    "3-x": (lambda x: 3 - x, lambda x: -np.ones_like(x)),
    "x/3": (lambda x: x / 3, lambda x: np.full_like(x, 1 / 3)),
    "2**x": (lambda x: 2 ** x, lambda x: np.log(2) * 2 ** x),
    "|x|+x": (lambda x: abs(x) + x, lambda x: np.sign(x) + 1),
}
#: positive everywhere: safe denominators for the quotient rule
POSITIVE = ["exp/2", "sqrt(1+x²)", "1/(1+x²)"]

op_names = st.sampled_from(sorted(OPS))


def compose(names):
    def f(x):
        for n in names:
            x = OPS[n][0](x)
        return x
    return f


def tame(names, x, gap, limit=50.0):
    """No intermediate value near the kink of |x| + x (0) or beyond ``limit`` (overflow
    later; for finite differences, derivatives too steep for the oracle's step)."""
    for n in names:
        if n == "|x|+x" and np.any(np.abs(x) < gap):
            return False
        with np.errstate(all="ignore"):
            x = OPS[n][0](x)
        if not np.all(np.abs(x) < limit):
            return False
    return True


def chain_oracle(names, x):
    """(f_k o ... o f_1)'(x) = prod_i f_i'(x_{i-1}) with the analytic f_i'."""
    d = np.ones_like(x)
    for n in names:
        f, df = OPS[n]
        d = d * df(x)
        x = f(x)
    return d


def elementwise_derivative(f, x):
    return ad.jvp(f, x, np.ones_like(x))[1]


# --- linearity in the seed ---------------------------------------------------------------
def mixing(x):
    # a non-elementwise function R^4 -> R^3
    return np.tanh(x[:3] * x[1:]) + np.sin(x[::-1][:3]) * x[0] + np.sqrt(1 + x[:3] ** 2)


@given(x=vectors(), u=vectors(), v=vectors(), a=reals(-3, 3), b=reals(-3, 3))
def test_jvp_is_linear_in_the_seed(x, u, v, a, b):
    _, ju = ad.jvp(mixing, x, u)
    _, jv = ad.jvp(mixing, x, v)
    _, jw = ad.jvp(mixing, x, a * u + b * v)
    scale = 1 + np.abs(a * ju) + np.abs(b * jv)
    assert np.all(np.abs(jw - (a * ju + b * jv)) <= 1e-12 * scale)


@given(x=vectors(), u=vectors())
def test_jvp_is_the_directional_finite_difference(x, u):
    value, ju = ad.jvp(mixing, x, u)
    np.testing.assert_array_equal(value, mixing(x))
    assert_close(ju, fd(lambda t: mixing(x + t * u), 0.0))


# --- product, quotient and chain rules ----------------------------------------------------
@given(names=st.lists(op_names, min_size=1, max_size=5), x=vectors())
def test_chain_rule_on_random_compositions(names, x):
    assume(tame(names, x, 1e-3))
    f = compose(names)
    got = elementwise_derivative(f, x)
    assert_close(got, chain_oracle(names, x), tol=1e-12, what=" o ".join(names))


@given(names=st.lists(op_names, min_size=1, max_size=3), x=vectors(lo=-1.5, hi=1.5))
def test_compositions_against_finite_differences(names, x):
    # cos(x^9) at x = 1.5 (x^9 = 38) moves too fast for the difference oracle's step: its
    # error reached 7e-5 relative where the chain oracle agrees with dualad exactly
    assume(tame(names, x, 0.05, limit=10.0))
    f = compose(names)
    with np.errstate(all="ignore"):
        expected = fd(lambda t: f(t), x)
    assert_close(elementwise_derivative(f, x), expected, what=" o ".join(names))


@given(f=op_names, g=op_names, x=vectors())
def test_product_rule(f, g, x):
    (F, dF), (G, dG) = OPS[f], OPS[g]
    assume(not ("|x|+x" in (f, g) and np.any(np.abs(x) < 1e-3)))
    got = elementwise_derivative(lambda t: F(t) * G(t), x)
    assert_close(got, dF(x) * G(x) + F(x) * dG(x), tol=1e-12)


@given(f=op_names, g=st.sampled_from(POSITIVE), x=vectors())
def test_quotient_rule(f, g, x):
    (F, dF), (G, dG) = OPS[f], OPS[g]
    assume(not (f == "|x|+x" and np.any(np.abs(x) < 1e-3)))
    got = elementwise_derivative(lambda t: F(t) / G(t), x)
    assert_close(got, (dF(x) * G(x) - F(x) * dG(x)) / G(x) ** 2, tol=1e-12)


@given(f=op_names, g=op_names, x=vectors(lo=-1.0, hi=1.0), y=vectors(lo=-1.0, hi=1.0))
def test_partial_derivatives_of_a_two_variable_function(f, g, x, y):
    # h(x, y) = F(x) * G(y) + x * y, through one jacobian with 8 directions
    (F, dF), (G, dG) = OPS[f], OPS[g]
    assume(not ("|x|+x" in (f, g) and np.any(np.abs(np.r_[x, y]) < 1e-3)))
    jac = ad.jacobian(lambda z: F(z[0]) * G(z[1]) + z[0] * z[1], np.stack([x, y]))
    assert jac.shape == (4, 2, 4)
    i = np.arange(4)
    assert_close(jac[i, 0, i], dF(x) * G(y) + y, tol=1e-12)
    assert_close(jac[i, 1, i], F(x) * dG(y) + x, tol=1e-12)
    off = ~np.eye(4, dtype=bool)
    assert np.all(jac[:, 0, :][off] == 0) and np.all(jac[:, 1, :][off] == 0)


# --- broadcasting: value S, partials S + (n,) ----------------------------------------------
BINARY = {
    # name: (op, oracle for the partials from (x, px, y, py)), plain numpy
    "add": (np.add, lambda x, px, y, py: px + py),
    "subtract": (lambda a, b: a - b, lambda x, px, y, py: px - py),
    "multiply": (lambda a, b: a * b, lambda x, px, y, py: px * y[..., None] + x[..., None] * py),
    "divide": (lambda a, b: a / b,
               lambda x, px, y, py: px / y[..., None] - (x / y ** 2)[..., None] * py),
    "maximum": (np.maximum,
                lambda x, px, y, py: np.where((x >= y)[..., None], px, py)),
    "arctan2": (np.arctan2, lambda x, px, y, py: (y[..., None] * px - x[..., None] * py)
                / (x * x + y * y)[..., None]),
}


@st.composite
def broadcast_pair(draw, positive_second=False):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=3))
    n = draw(st.integers(1, 3))
    s1, s2 = shapes.input_shapes
    lo2 = 0.5 if positive_second else -2.0
    x = draw(hnp.arrays(np.float64, s1, elements=reals()))
    y = draw(hnp.arrays(np.float64, s2, elements=reals(lo2, 2.0)))
    px = draw(hnp.arrays(np.float64, s1 + (n,), elements=reals()))
    py = draw(hnp.arrays(np.float64, s2 + (n,), elements=reals()))
    return shapes.result_shape, n, x, px, y, py


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_broadcasting_shapes_and_partials(name, data):
    op, oracle = BINARY[name]
    shape, n, x, px, y, py = data.draw(broadcast_pair(positive_second=name in ("divide",
                                                                              "arctan2")))
    res = op(DualNumber(x, px), DualNumber(y, py))
    assert res.shape == shape
    assert res.partials.shape == shape + (n,)
    np.testing.assert_array_equal(res.value, op(x, y))
    expected = np.broadcast_to(oracle(x, px, y, py), shape + (n,))
    assert_close(res.partials, expected, tol=1e-14)

    # one side constant: the partials are the dual side's only, still broadcast
    left = op(DualNumber(x, px), y)
    assert left.partials.shape == shape + (n,)
    assert_close(left.partials, np.broadcast_to(oracle(x, px, y, 0 * py), shape + (n,)),
                 tol=1e-14)
    right = op(x, DualNumber(y, py))
    assert right.partials.shape == shape + (n,)
    assert_close(right.partials, np.broadcast_to(oracle(x, 0 * px, y, py), shape + (n,)),
                 tol=1e-14)


@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=3), n=st.integers(1, 3),
       data=st.data())
def test_unary_keeps_shape_and_directions(shape, n, data):
    x = data.draw(hnp.arrays(np.float64, shape, elements=reals()))
    p = data.draw(hnp.arrays(np.float64, shape + (n,), elements=reals()))
    res = np.tanh(DualNumber(x, p))
    assert res.shape == shape and res.partials.shape == shape + (n,)
    assert_close(res.partials, p / np.cosh(x)[..., None] ** 2, tol=1e-14)


# --- dtypes ------------------------------------------------------------------------------
@given(x=hnp.arrays(np.float32, 3, elements=st.floats(0.5, 2.0, width=32)))
def test_float32_stays_float32(x):
    d = DualNumber(x, np.ones(3, np.float32))
    for res in (d * 2, 2.5 * d, d + 1, d / 3.0, d ** 2, 2 ** d, -d, abs(d), d * d, d / d,
                np.sin(d), np.exp(d), np.sqrt(d), np.log(d), np.maximum(d, 1.0),
                np.hypot(d, 1.0), np.arctan2(d, 1.0), d * np.float32(3), d @ d, np.sum(d),
                ad.math.sin(d), ad.math.erf(d), ad.math.gamma(d)):
        assert res.dtype == np.float32, res
        assert res.value.dtype == np.float32 and res.partials.dtype == np.float32, res
    assert ad.jacobian(lambda t: np.sin(t) * t, x).dtype == np.float32
    assert (d * np.ones(3, np.float64)).dtype == np.float64  # numpy promotion, as for arrays


@pytest.mark.parametrize("value", [3, True, np.int32(3), np.uint8(3), [1, 2], np.arange(3),
                                   np.array([True, False])])
def test_ints_and_bools_become_float64(value):
    d = DualNumber(value, 1)
    assert d.value.dtype == np.float64 and d.partials.dtype == np.float64
    np.testing.assert_array_equal(d.value, np.asarray(value, dtype=np.float64))
    assert np.all(d.partials == 1.0)
    assert np.result_type(ad.jacobian(lambda t: t * t, value)) == np.float64  # (a float for 3)
    assert (DualNumber(2.0, 1.0) * np.asarray(value)).dtype == np.float64


# --- the classic dual arithmetic ----------------------------------------------------------
def parts(d):
    assert d.partials.shape == np.shape(d.value) + (1,)
    return float(d.value), float(d.partials[..., 0])


def test_classic_examples():
    assert parts(3 + DualNumber(3, 4)) == (6.0, 4.0)
    assert parts(DualNumber(3, 4) + 3) == (6.0, 4.0)
    assert parts(DualNumber(3, 4) * DualNumber(5, 7)) == (15.0, 41.0)
    assert str(DualNumber(3.0, 4.0) * DualNumber(5.0, 7.0)) == "15.0 + 41.0ε"
    # f(x, y) = x²y + y + 2 at (3, 4): value 42, gradient (24, 10)
    x = DualNumber(3.0, [1.0, 0.0])
    y = DualNumber(4.0, [0.0, 1.0])
    f = x * x * y + y + 2
    assert float(f.value) == 42.0 and f.partials.tolist() == [24.0, 10.0]


def close(a, b, scale):
    return abs(a - b) <= 4e-16 * scale + 1e-300  # results may underflow to subnormals


@given(a=reals(-10, 10), b=reals(-10, 10), c=reals(-10, 10), d=reals(-10, 10))
def test_dual_arithmetic_matches_the_formulas(a, b, c, d):
    x, y = DualNumber(a, b), DualNumber(c, d)
    v, p = parts(x + y)
    assert (v, p) == (a + c, b + d)
    v, p = parts(x - y)
    assert (v, p) == (a - c, b - d)
    v, p = parts(x * y)
    assert v == a * c and close(p, a * d + b * c, abs(a * d) + abs(b * c))
    v, p = parts(-x)
    assert (v, p) == (-a, -b)
    v, p = parts(c + x)
    assert (v, p) == (c + a, b)
    v, p = parts(c * x)
    assert (v, p) == (c * a, c * b)
    assume(abs(c) > 1e-3)
    v, p = parts(x / y)
    assert close(v, a / c, abs(a / c)) and close(p, (b * c - a * d) / c ** 2,
                                                  3 * (abs(b * c) + abs(a * d)) / c ** 2)
    v, p = parts(a / y)
    assert close(p, -a * d / c ** 2, 3 * abs(a * d) / c ** 2)


@given(a=reals(0.1, 3), b=reals(-3, 3), k=st.integers(-4, 4))
def test_powers_and_functions_of_a_dual(a, b, k):
    x = DualNumber(a, b)
    v, p = parts(x ** k)
    assert np.isclose(v, a ** k, rtol=1e-14) and np.isclose(p, k * a ** (k - 1) * b,
                                                             rtol=1e-13, atol=1e-300)
    v, p = parts(np.sin(x))
    assert v == np.sin(a) and close(p, b * np.cos(a), abs(b))
    v, p = parts(np.exp(x))
    assert v == np.exp(a) and close(p, b * np.exp(a), 2 * abs(b) * np.exp(a))
    v, p = parts(2.0 ** x)
    assert np.isclose(p, np.log(2.0) * 2.0 ** a * b, rtol=1e-14, atol=1e-300)
    v, p = parts(x ** x)  # d/dx x^x = x^x (1 + ln x)
    assert np.isclose(p, a ** a * (1 + np.log(a)) * b, rtol=1e-13, atol=1e-13)


# --- ufunc.reduce and ufunc.accumulate ------------------------------------------------------
@st.composite
def separated_matrices(draw):
    """2-d arrays whose entries differ pairwise by at least 0.1 (no ties for max/min)."""
    rows, cols = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    perm = np.array(draw(st.permutations(range(rows * cols))), dtype=np.float64)
    tiny_ok = reals(0.0, 0.1, allow_subnormal=True)  # tiny factors test cumprod's division
    jitter = draw(hnp.arrays(np.float64, rows * cols, elements=tiny_ok))
    return ((perm - rows * cols / 2) * 0.25 + jitter).reshape(rows, cols)


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum],
                         ids=lambda u: u.__name__)
@pytest.mark.parametrize("method", ["reduce", "accumulate"])
@given(x=separated_matrices(), axis=st.sampled_from([0, 1, -1]))
def test_reduce_and_accumulate_vs_finite_differences(ufunc, method, x, axis):
    f = lambda t: getattr(ufunc, method)(t, axis=axis)  # noqa: E731
    jac = ad.jacobian(f, x)
    np.testing.assert_array_equal(ad.jvp(f, x, x)[0], f(x))
    assert jac.shape == f(x).shape + x.shape
    assert_close(jac, fd_jacobian(f, x, h=1e-3))


@pytest.mark.parametrize("ufunc", [np.add, np.multiply, np.maximum, np.minimum],
                         ids=lambda u: u.__name__)
def test_reduce_keepdims_and_axis_none(ufunc):
    x = np.array([[0.3, -1.2, 2.0], [1.1, 0.7, -0.4]])
    for kw in ({"axis": None}, {"axis": 1, "keepdims": True}):
        f = lambda t: ufunc.reduce(t, **kw)  # noqa: E731
        assert_close(ad.jacobian(f, x), fd_jacobian(f, x), what=str(kw))


# --- out= ---------------------------------------------------------------------------------
def test_out_with_a_dual_target():
    x = DualNumber([0.1, 0.5, 2.0], [[1.0, 0.0], [0.0, 1.0], [2.0, 3.0]])
    target = DualNumber(np.zeros(3), np.zeros((3, 2)))
    res = np.sin(x, out=target)
    assert res is target
    np.testing.assert_array_equal(target.value, np.sin(x.value))
    assert_close(target.partials, np.cos(x.value)[:, None] * x.partials, tol=1e-15)
    res = np.multiply(x, x, out=(target,))
    assert res is target
    assert_close(target.partials, 2 * x.value[:, None] * x.partials, tol=1e-15)
    res = np.add(x, 1.0, out=target)
    np.testing.assert_array_equal(target.value, x.value + 1)
    np.testing.assert_array_equal(target.partials, x.partials)


def test_out_with_a_plain_array_target_raises():
    x = DualNumber([0.1, 0.5], 1.0)
    for call in (lambda o: np.sin(x, out=o), lambda o: np.add(x, 1.0, out=o),
                 lambda o: np.multiply(2.0, x, out=(o,))):
        with pytest.raises(TypeError):
            call(np.zeros(2))
