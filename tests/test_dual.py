"""The DualNumber type: construction, shape API, indexing, assignment, printing, conversions."""
import math
import operator

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber


def dual(value, n=2, seed=0):
    value = np.asarray(value, dtype=float)
    rng = np.random.default_rng(seed)
    return DualNumber(value, rng.standard_normal(value.shape + (n,)))


def same(d, value, partials):
    assert isinstance(d, DualNumber)
    np.testing.assert_array_equal(d.value, value)
    np.testing.assert_array_equal(d.partials, partials)


# =========================================================================================
# construction
# =========================================================================================
@pytest.mark.parametrize("value,shape", [
    (3, ()), (2.5, ()), (True, ()), ([1, 2, 3], (3,)), ([[1.0, 2.0]], (1, 2)),
    (np.float64(1.5), ()), (np.int32(4), ()), (np.bool_(False), ()),
    (np.arange(6).reshape(2, 3), (2, 3)), (np.ones((2, 1), dtype=np.uint8), (2, 1)),
])
def test_construction_from_numbers_lists_scalars_arrays(value, shape):
    x = DualNumber(value)
    assert x.shape == shape and x.value.shape == shape
    assert x.dtype == np.float64 and x.value.dtype == np.float64
    assert x.partials.shape == shape + (1,) and x.partials.dtype == np.float64
    assert not np.any(x.partials)
    np.testing.assert_array_equal(x.value, np.asarray(value, dtype=float))
    assert isinstance(x.value, np.ndarray) and isinstance(x.partials, np.ndarray)


def test_float32_stays_float32():
    for v in (np.float32(1.5), np.ones(3, np.float32)):
        x = DualNumber(v, np.ones(np.shape(v) + (2,)))  # float64 partials follow the value
        assert x.dtype == np.float32 and x.partials.dtype == np.float32
    y = DualNumber(np.ones(3, np.float32)) * 2.0 + 1
    assert y.dtype == np.float32 and y.partials.dtype == np.float32
    assert DualNumber(np.float16(1.0)).dtype == np.float16


@pytest.mark.parametrize("value,partials", [
    (1 + 2j, None), (np.ones(2, complex), None), (1.0, 1j), ([1.0, 2.0], np.ones(2, complex)),
])
def test_complex_is_refused(value, partials):
    with pytest.raises(TypeError, match="complex"):
        DualNumber(value, partials)


@pytest.mark.parametrize("value", ["abc", None, [1, "a"], object()])
def test_non_numbers_are_refused(value):
    with pytest.raises(TypeError):
        DualNumber(value)


def test_partials_shapes():
    # S: one direction
    same(DualNumber(3, 4), 3.0, [4.0])
    same(DualNumber([1.0, 2.0], [3.0, 4.0]), [1.0, 2.0], [[3.0], [4.0]])
    # S + (n,)
    x = DualNumber([1.0, 2.0], [[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    assert x.partials.shape == (2, 3) and x.n_directions == 3
    # broadcastable to S: one direction
    same(DualNumber(np.zeros((2, 3)), 1.0), np.zeros((2, 3)), np.ones((2, 3, 1)))
    same(DualNumber(np.zeros((2, 3)), [1.0, 2.0, 3.0]), np.zeros((2, 3)),
         np.broadcast_to([1.0, 2.0, 3.0], (2, 3))[..., None])
    # broadcastable to S + (n,)
    z = DualNumber(np.zeros((2, 3)), np.ones((1, 3, 4)))
    assert z.partials.shape == (2, 3, 4)
    z.partials[0, 0, 0] = 5.0  # own memory, writable (not a broadcast view)
    assert z.partials[1, 0, 0] == 1.0


@pytest.mark.parametrize("value,partials", [
    (np.zeros(3), np.zeros(4)), (np.zeros((2, 3)), np.zeros((3, 2))),
    (np.zeros(3), np.zeros((2, 3, 1))), (0.0, np.zeros((2, 2))),
])
def test_bad_partials_shape(value, partials):
    with pytest.raises(ValueError, match=r"partials of shape .* do not fit a value of shape"):
        DualNumber(value, partials)


def test_hand_built_duals_share_one_epsilon():
    same(DualNumber(3, 4) * DualNumber(5, 7), 15.0, [41.0])
    same(3 + DualNumber(3, 4), 6.0, [4.0])


def test_nested_construction_is_refused():
    with pytest.raises(TypeError, match="nested"):
        DualNumber(DualNumber(1.0, 1.0), 1.0)


def test_construction_copies_its_inputs():
    v, p = np.array([1.0, 2.0]), np.array([[1.0], [2.0]])
    x = DualNumber(v, p)
    x[0] = DualNumber(7.0, 8.0)
    v[1], p[1, 0] = -1.0, -2.0
    np.testing.assert_array_equal(v, [1.0, -1.0])  # writing into x left the user's array alone
    same(x, [7.0, 2.0], [[8.0], [2.0]])


# =========================================================================================
# shape API
# =========================================================================================
def test_shape_attributes():
    x = dual(np.arange(6.0).reshape(2, 3), n=4)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float64
    assert len(x) == 2
    t = x.T
    same(t, x.value.T, x.partials.transpose(1, 0, 2))
    s = dual(5.0)
    assert s.shape == () and s.ndim == 0 and s.size == 1
    with pytest.raises(TypeError, match="0-d"):
        len(s)
    with pytest.raises(TypeError, match="0-d"):
        iter(s).__next__()


def test_iteration_yields_rows():
    x = dual(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert len(rows) == 3
    for i, r in enumerate(rows):
        same(r, x.value[i], x.partials[i])


@pytest.mark.parametrize("shape", [(3, 2), ((3, 2),), (-1,), ((6, 1),), (1, -1, 2)])
def test_reshape(shape):
    x = dual(np.arange(6.0).reshape(2, 3), n=3)
    r = x.reshape(*shape)
    expected = x.value.reshape(*shape)
    same(r, expected, x.partials.reshape(expected.shape + (3,)))


def test_astype():
    x = dual([1.0, 2.0])
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.partials.dtype == np.float32
    np.testing.assert_array_equal(y.value, np.float32([1.0, 2.0]))
    for bad in (int, np.int32, bool, complex):
        with pytest.raises(TypeError, match="astype"):
            x.astype(bad)


def test_copy_is_independent():
    x = dual([1.0, 2.0])
    value, partials = x.value.copy(), x.partials.copy()
    for y in (x.copy(), np.copy(x)):
        y[0] = 10.0
        y.partials[1] = 0.0
    same(x, value, partials)


# =========================================================================================
# indexing
# =========================================================================================
X = dual(np.arange(24.0).reshape(2, 3, 4), n=5)

INDICES = [
    1, -1, (1, 2), (1, 2, 3), (), slice(None, None, -1), (slice(0, 1), slice(None), 2),
    Ellipsis, (Ellipsis, 0), (Ellipsis, -1), (0, Ellipsis), (0, Ellipsis, 1),
    (Ellipsis, slice(1, 3)), None, (None, 0), (Ellipsis, None), (0, None, Ellipsis, None),
    ([0, 1, 1],), ([1, 0], [2, 0]), (slice(None), [2, 0, 2]), ([1, 0], slice(None), [3, 0]),
    (Ellipsis, [3, 1]), (np.array([[0, 1], [1, 1]]),),
    (np.array([True, False]),), (X.value[..., 0] > 5,), (X.value > 10,),
    (0, np.array([True, False, True])), (Ellipsis, np.array([True, False, True, False])),
    (np.int64(1), slice(None), np.intp(2)),
]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_getitem_indexes_value_axes_only(index):
    y = X[index]
    expected = X.value[index]
    assert isinstance(y, DualNumber) and isinstance(y.value, np.ndarray)
    assert y.shape == np.shape(expected) and y.partials.shape == np.shape(expected) + (5,)
    np.testing.assert_array_equal(y.value, expected)
    # each direction indexed the same way as the value
    for k in range(5):
        np.testing.assert_array_equal(y.partials[..., k], X.partials[..., k][index])


def test_ellipsis_last_axis_is_a_value_axis():
    x = DualNumber(np.arange(6.0).reshape(2, 3), np.arange(6.0 * 4).reshape(2, 3, 4))
    y = x[..., 0]
    assert y.shape == (2,) and y.partials.shape == (2, 4)
    np.testing.assert_array_equal(y.partials, x.partials[:, 0, :])


def test_index_with_dual_mask_from_comparison():
    x = dual([-1.0, 2.0, -3.0, 4.0])
    same(x[x > 0], [2.0, 4.0], x.partials[[1, 3]])


def test_dual_as_index_is_refused():
    with pytest.raises(TypeError):
        X[dual(0.0)]


def test_bad_index_raises_like_numpy():
    with pytest.raises(IndexError):
        X[5]
    with pytest.raises(IndexError):
        X[0, 0, 0, 0]


# =========================================================================================
# assignment
# =========================================================================================
def test_setitem_dual_and_plain():
    x = dual(np.zeros((2, 3)), n=2)
    x[0, 1] = DualNumber(5.0, [1.0, 2.0])
    assert x.value[0, 1] == 5.0 and x.partials[0, 1].tolist() == [1.0, 2.0]
    x[1] = 7  # plain numbers: zero partials
    np.testing.assert_array_equal(x.value[1], 7.0)
    np.testing.assert_array_equal(x.partials[1], 0.0)
    x[:, 2] = np.array([8.0, 9.0])
    np.testing.assert_array_equal(x.partials[:, 2], 0.0)
    x[x.value > 7.5] = -1.0
    assert x.value[0, 2] == -1.0 and x.value[1, 2] == -1.0
    x[[0, 1], [0, 0]] = DualNumber([1.0, 2.0], [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(x.partials[:, 0], [[1.0, 1.0], [2.0, 2.0]])
    x[..., 1] = DualNumber(3.0, [4.0, 5.0])  # broadcast item, ellipsis
    np.testing.assert_array_equal(x.partials[:, 1], [[4.0, 5.0], [4.0, 5.0]])


def test_preallocation_idiom_inside_jacobian():
    def f(x):
        out = np.zeros_like(x)
        for i in range(len(x)):
            out[i] = np.sin(x[i]) * x[0]
        return out

    x = np.array([0.5, 1.0, 2.0])
    expected = np.diag(np.cos(x) * x[0])
    expected[:, 0] += np.sin(x)
    np.testing.assert_allclose(ad.jacobian(f, x), expected, rtol=1e-14)
    np.testing.assert_allclose(ad.jacobian(f, x, chunk_size=1), expected, rtol=1e-14)


def test_preallocation_from_a_constant_dual():
    # a target with one zero direction accepts items with more directions
    def f(x):
        out = np.zeros_like(DualNumber(np.zeros(2)))
        out[0] = x[0] * x[1]
        out[1] = 3.0
        return out
    np.testing.assert_allclose(ad.jacobian(f, [2.0, 5.0]), [[5.0, 2.0], [0.0, 0.0]])


def test_preallocation_inside_nested_derivative():
    # out belongs to the outer perturbation, the items carry the inner one too
    def inner(x):
        def g(y):
            out = np.zeros_like(x * 1.0)
            out[()] = x * y * y
            return out
        return ad.derivative(g, 3.0)  # 2 x y = 6 x
    assert ad.derivative(inner, 2.0) == 6.0


def test_assignment_does_not_write_through_shared_partials():
    x = dual([1.0, 2.0, 3.0])
    value, partials = x.value.copy(), x.partials.copy()
    for y in (x + 1, +x, 1.0 * x, x - 0.0, np.positive(x), np.broadcast_to(x, (3,)).copy(),
              np.where(True, x, 0.0), np.concatenate([x]), x.astype(np.float64)):
        y[0] = 5.0
        y[1] = DualNumber(1.0, [7.0, 7.0])
        same(x, value, partials)


def test_assigning_into_a_plain_array_raises():
    out = np.zeros(3)
    with pytest.raises(TypeError, match="derivative"):
        out[1:] = dual([1.0, 2.0])
    # a 0-d item: numpy calls __float__ (our TypeError), then, seeing a sequence type,
    # replaces it by "ValueError: setting an array element with a sequence"
    with pytest.raises((TypeError, ValueError)) as err:
        out[0] = dual(1.0)
    assert "derivative" in str(err.value) + str(err.value.__cause__)
    assert not np.any(out)


def test_assigning_mismatched_directions_raises():
    x = dual(np.zeros(2), n=2)
    with pytest.raises(ValueError, match="directions"):
        x[0] = dual(1.0, n=3)


# =========================================================================================
# printing
# =========================================================================================
def test_str_repr_format():
    x = DualNumber(3, 4)
    assert str(x) == "3.0 + 4.0ε"
    assert f"{x:.2f}" == "3.00 + 4.00ε"
    assert format(x, "g") == "3 + 4ε"
    assert str(DualNumber(1.0, [0.5, 2.0])) == "1.0 + [0.5 2.0]ε"  # two directions
    assert f"{DualNumber(1.0, [0.5, 2.0]):.1f}" == "1.0 + [0.5 2.0]ε"
    r = repr(x)
    assert r.startswith("DualNumber(") and "value=" in r and "partials=" in r
    a = dual([1.5, 2.5])
    assert "1.5" in str(a) and "DualNumber" in repr(a)
    with pytest.raises(TypeError, match="0-d"):
        f"{a:.2f}"


# =========================================================================================
# comparisons and conversions
# =========================================================================================
def test_comparisons_act_on_values_and_return_bool_arrays():
    x = DualNumber([1.0, 2.0, 3.0], [[1.0], [2.0], [3.0]])
    y = DualNumber([1.0, 0.0, 5.0], [[9.0], [9.0], [9.0]])
    for op in (operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne):
        r = op(x, y)
        assert type(r) is np.ndarray and r.dtype == bool
        np.testing.assert_array_equal(r, op(x.value, y.value))
        np.testing.assert_array_equal(op(x, 2.0), op(x.value, 2.0))
        np.testing.assert_array_equal(op(2.0, x), op(2.0, x.value))
    assert (DualNumber(1.0, 2.0) == DualNumber(1.0, 3.0))  # derivatives are not compared


def test_control_flow_on_0d_duals():
    x = DualNumber(2.0, 1.0)
    taken = "pos" if x > 0 else "neg"
    assert taken == "pos"
    steps = 0
    while x < 10:
        x = x * 2
        steps += 1
    assert steps == 3 and x.partials[0] == 8.0
    assert bool(DualNumber(0.5)) and not bool(DualNumber(0.0))
    with pytest.raises(ValueError):
        bool(dual([1.0, 2.0]))
    assert ad.derivative(lambda t: t * t if t > 0 else -t, 3.0) == 6.0


@pytest.mark.parametrize("convert", [
    float, int, complex, operator.index, np.asarray, np.array, math.sin, math.exp, math.sqrt,
    lambda x: np.float64(x), lambda x: np.zeros(1) + np.asarray(x), lambda x: range(x),
    lambda x: [0, 1][x],
], ids=["float", "int", "complex", "index", "asarray", "array", "math.sin", "math.exp",
        "math.sqrt", "np.float64", "asarray-add", "range", "list-index"])
def test_conversions_that_drop_the_derivative_raise(convert):
    with pytest.raises(TypeError) as err:
        convert(DualNumber(0.5, 1.0))
    msg = str(err.value)
    if "dualad" in msg:  # our message (numpy/python may wrap it for some routes)
        assert msg.startswith("dualad: converting a DualNumber to ") and (
            ".value" in msg or "dualad.math" in msg)


# what to write instead, for the code that converts (each path: tests/test_idioms.py)
@pytest.mark.parametrize("convert,fix", [
    (float, r"keep x as it is.*x\.value"), (int, r"int\(x\.value\)"),
    (np.asarray, r"already an array.*x\.value"), (math.sin, r"np\.sin\(x\) or dualad\.math")])
def test_conversion_messages_point_to_value_and_dualad_math(convert, fix):
    with pytest.raises(TypeError, match=fix):
        x = DualNumber(0.5, 1.0)
        convert(x)


def test_unhashable():
    with pytest.raises(TypeError):
        hash(DualNumber(1.0))


# =========================================================================================
# operators route through the ufuncs
# =========================================================================================
@pytest.mark.parametrize("op,d", [
    (lambda x: x + 2.0, lambda x: 1.0), (lambda x: 2.0 + x, lambda x: 1.0),
    (lambda x: x - 2.0, lambda x: 1.0), (lambda x: 2.0 - x, lambda x: -1.0),
    (lambda x: x * 3.0, lambda x: 3.0), (lambda x: 3.0 * x, lambda x: 3.0),
    (lambda x: x / 4.0, lambda x: 0.25), (lambda x: 4.0 / x, lambda x: -4.0 / x ** 2),
    (lambda x: x ** 3, lambda x: 3 * x ** 2), (lambda x: 2.0 ** x, lambda x: np.log(2) * 2 ** x),
    (lambda x: x // 1.0, lambda x: 0.0), (lambda x: x % 1.0, lambda x: 1.0),
    (lambda x: -x, lambda x: -1.0), (lambda x: +x, lambda x: 1.0),
    (lambda x: abs(x), lambda x: np.sign(x)), (lambda x: x * x, lambda x: 2 * x),
], ids=["add", "radd", "sub", "rsub", "mul", "rmul", "div", "rdiv", "pow", "rpow",
        "floordiv", "mod", "neg", "pos", "abs", "square"])
def test_operators(op, d):
    for x in (0.7, -1.3, 2.6):
        got = ad.derivative(op, x)
        assert got == pytest.approx(d(x), rel=1e-14)


def test_matmul_operator_and_reflected():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(ad.jacobian(lambda x: a @ x, [1.0, 2.0]), a)
    np.testing.assert_allclose(ad.jacobian(lambda x: x @ a, [1.0, 2.0]), a.T)
    np.testing.assert_allclose(ad.gradient(lambda x: x @ x, [1.0, 2.0]), [2.0, 4.0])


def test_inplace_operators():
    def f(x):
        y = x * 1.0
        y += 1.0
        y *= x
        y -= x
        y /= 2.0
        return y  # (x^2 + x - x) / 2
    np.testing.assert_allclose(ad.jacobian(f, [1.0, 3.0]), np.diag([1.0, 3.0]))


def test_x_squared_takes_square_with_the_bits_of_power():
    # ``x ** 2`` is np.square (as on numpy's arrays); the same values and partials as power
    from dualad import HyperDual
    rng = np.random.default_rng(5)
    x = DualNumber(rng.uniform(-3, 3, 50), rng.standard_normal((50, 3)))
    for got, want in ((x ** 2, np.power(x, 2)), (x ** 2.0, np.power(x, 2.0))):
        assert np.array_equal(got.value, want.value)
        assert np.array_equal(got.partials, want.partials)
    h = HyperDual(rng.uniform(-3, 3, 20), rng.standard_normal((20, 4)))
    got, want = h ** 2, np.power(h, 2)
    assert np.array_equal(got.value, want.value) and np.array_equal(got.grad, want.grad)
    assert np.allclose(got.hess, want.hess, rtol=1e-15, atol=0)
    assert (x ** 3).value == pytest.approx(x.value ** 3)  # other exponents: power
