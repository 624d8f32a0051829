"""Second (and third) derivatives of every rule in the table, and the Hessian helpers.

Every entry of ``dualad.rules.RULES`` is differentiated twice three ways — nested duals
(``derivative(f, x, order=2)``), ``HyperDual`` (``hessian`` of the rule restricted to its
differentiable arguments) and ``Taylor`` (second-order coefficients, a full Hessian by
polarization along e_i, e_j and e_i + e_j) — and the three must agree with each other and with
two independent oracles: sympy (the function written again symbolically, differentiated and
evaluated to 30 digits) and central differences of the table's first derivative evaluated on
plain floats. A rule added to the table is tested here without editing this file; a rule
without a sympy expression in ``_symbolic.py`` fails ``test_every_rule_has_a_symbolic_oracle``.
"""
import zlib
from fractions import Fraction

import numpy as np
import pytest

import dualad as ad
from dualad import DualNumber, HyperDual, Taylor
from dualad.rules import scipy_special
from dualad.rules.table import RULES

from _fd import fd_jacobian
from _oracles import fd, live_arguments, rule_cases

# --- the rule table, as test cases --------------------------------------------------------
NAMES = {f: f.__name__ for f in RULES}
CASES = rule_cases()
_live = live_arguments


def _points(ufunc, count=3):
    """Points inside the rule's domain, away from kinks, ties and domain edges."""
    rule = RULES[ufunc]
    rng = np.random.default_rng(zlib.crc32(NAMES[ufunc].encode()))
    points = []
    while len(points) < count:
        p = []
        for k, (lo, hi) in enumerate(rule.domain):
            if k not in _live(rule):  # an integer constant (polygamma order, ldexp exponent)
                p.append(float(rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1)))
                continue
            w = hi - lo
            p.append(float(rng.uniform(lo + 0.15 * w, hi - 0.15 * w)))
        if min(abs(c) for c in p) < 0.15 or (len(p) == 2 and abs(p[0] - p[1]) < 0.15):
            continue  # |x|, sign, max/min and friends: keep away from their kinks
        if any(abs(c - round(c)) < 0.05 for c in p) and rule.kind == "zero":
            continue  # floor, rint, ...: keep away from their jumps
        points.append(tuple(p))
    return points


def _call(ufunc, point, live, values):
    """``ufunc`` with ``values`` in the live positions and the point's constants elsewhere."""
    args = list(point)
    for pos, v in zip(live, values):
        args[pos] = v
    for pos in range(len(args)):
        if pos not in live:
            args[pos] = np.int64(args[pos]) if ufunc is np.ldexp else args[pos]
    return ufunc(*args)


def _restriction(ufunc, point, live):
    """f(v) = ufunc(...) with v[k] in the k-th live argument: a function of one vector."""
    return lambda v: _call(ufunc, point, live, [v[k] for k in range(len(live))])


def _scale(h):
    return 1.0 + np.abs(h)


def hessian_nested_derivative(ufunc, point, live):
    """Hessian by nested ``derivative``: order=2 on the diagonal, derivative of a derivative
    off it."""
    x = [point[p] for p in live]
    k = len(live)
    H = np.zeros((k, k))
    for i in range(k):
        def along_i(t, i=i):
            v = list(x)
            v[i] = t
            return _call(ufunc, point, live, v)
        H[i, i] = ad.derivative(along_i, x[i], order=2)
        for j in range(i + 1, k):
            def mixed(s, i=i, j=j):
                def inner(t):
                    v = list(x)
                    v[i], v[j] = s, t
                    return _call(ufunc, point, live, v)
                return ad.derivative(inner, x[j])
            H[i, j] = H[j, i] = ad.derivative(mixed, x[i])
    return H


def hessian_taylor(ufunc, point, live):
    """Hessian from second-order Taylor coefficients along e_i and e_i + e_j."""
    x = np.array([point[p] for p in live])
    k = len(live)

    def second(u):
        args = [Taylor(np.array([x[m], u[m], 0.0])) for m in range(k)]
        y = _call(ufunc, point, live, args)
        return float(y.derivatives()[..., 2])
    eye = np.eye(k)
    diag = [second(eye[i]) for i in range(k)]
    H = np.diag(diag)
    for i in range(k):
        for j in range(i + 1, k):
            H[i, j] = H[j, i] = (second(eye[i] + eye[j]) - diag[i] - diag[j]) / 2.0
    return H


def hessian_fd_of_rule(ufunc, point, live):
    """Central differences of the table's first derivatives, evaluated on plain floats."""
    rule = RULES[ufunc]
    k = len(live)
    if rule.kind in ("linear", "zero"):
        return np.zeros((k, k))  # constant (or no) first derivatives
    H = np.zeros((k, k))
    for i, pos in enumerate(live):
        def first(v, pos=pos):
            args = list(point)
            for m, p in enumerate(live):
                args[p] = v[m]
            for p in range(len(args)):
                if p not in live and ufunc is np.ldexp:
                    args[p] = np.int64(args[p])
            ans = ufunc(*args)
            return np.asarray(rule.derivs[pos](*args, ans), dtype=np.float64)
        for j in range(k):
            def along(t, j=j):
                v = np.array([point[p] for p in live], dtype=np.float64)
                v[j] = t
                return first(v)
            H[i, j] = fd(along, point[live[j]])
    return H


# --- the table, three ways, two oracles ---------------------------------------------------
def test_every_rule_has_a_symbolic_oracle():
    pytest.importorskip("sympy")
    from _symbolic import has_oracle
    # (scipy.special's rules, installed on first use, have their oracles in test_scipy_special)
    own = [f for f in RULES if f not in scipy_special._installed]
    missing = [f.__name__ for f in own if not has_oracle(f.__name__)]
    assert not missing, f"add a sympy expression for {missing} to tests/_symbolic.py"


@pytest.mark.parametrize("ufunc", CASES)
def test_second_derivative_three_ways_agree(ufunc):
    rule = RULES[ufunc]
    live = _live(rule)
    for point in _points(ufunc):
        x = np.array([point[p] for p in live])
        hyper = ad.hessian(_restriction(ufunc, point, live), x)
        nested = ad.hessian(_restriction(ufunc, point, live), x, method="nested")
        by_derivative = hessian_nested_derivative(ufunc, point, live)
        taylor = hessian_taylor(ufunc, point, live)
        assert hyper.shape == (len(live), len(live))
        tol = 1e-12 * _scale(hyper)
        for name, other in (("nested hessian", nested), ("nested derivative", by_derivative),
                            ("Taylor", taylor)):
            assert np.all(np.abs(hyper - other) <= tol), \
                f"{NAMES[ufunc]} at {point}: HyperDual {hyper.tolist()} != {name} " \
                f"{other.tolist()}"
        if len(live) == 1:  # the documented scalar entry point
            h = ad.derivative(lambda t: _call(ufunc, point, live, [t]), x[0], order=2)
            assert abs(h - hyper[0, 0]) <= tol[0, 0]


@pytest.mark.parametrize("ufunc", CASES)
def test_second_derivative_against_central_differences(ufunc):
    live = _live(RULES[ufunc])
    for point in _points(ufunc):
        x = np.array([point[p] for p in live])
        hyper = ad.hessian(_restriction(ufunc, point, live), x)
        expected = hessian_fd_of_rule(ufunc, point, live)
        assert np.all(np.abs(hyper - expected) <= 1e-7 * _scale(expected)), \
            f"{NAMES[ufunc]} at {point}: {hyper.tolist()} != {expected.tolist()}"


@pytest.mark.parametrize("ufunc", CASES)
def test_second_derivative_against_sympy(ufunc):
    pytest.importorskip("sympy")
    from _symbolic import has_oracle, symbolic_derivatives
    if not has_oracle(NAMES[ufunc]):
        pytest.fail(f"no sympy expression for {NAMES[ufunc]} in tests/_symbolic.py")
    live = _live(RULES[ufunc])
    k = len(live)
    pairs = [(live[i], live[j]) for i in range(k) for j in range(k)]
    for point in _points(ufunc):
        x = np.array([point[p] for p in live])
        expected = symbolic_derivatives(NAMES[ufunc], point, pairs).reshape(k, k)
        for method in ("hyperdual", "nested"):
            got = ad.hessian(_restriction(ufunc, point, live), x, method=method)
            assert np.all(np.abs(got - expected) <= 1e-11 * _scale(expected)), \
                f"{NAMES[ufunc]} at {point} ({method}): {got.tolist()} != {expected.tolist()}"


# --- third derivatives of the smooth unary rules ------------------------------------------
UNARY = [pytest.param(f, id=NAMES[f]) for f, r in RULES.items() if r.kind == "unary"]


def _nested3(f, x):
    """Third derivative by three nested first derivatives (never Taylor mode)."""
    return ad.derivative(lambda s: ad.derivative(lambda t: ad.derivative(f, t), s), x)


@pytest.mark.parametrize("ufunc", UNARY)
def test_third_derivative_taylor_nested_oracle(ufunc):
    d1 = RULES[ufunc].derivs[0]
    for (x,) in _points(ufunc):
        taylor = float(ufunc(Taylor.variable(x, 3)).derivatives()[..., 3])
        nested = _nested3(ufunc, x)
        public = ad.derivative(ufunc, x, order=3)
        # oracle: second central difference of the table's first derivative, 4th order
        h = 1e-2

        def g(t):
            return np.asarray(d1(t, ufunc(t)), dtype=np.float64)
        fd2 = (-g(x + 2 * h) + 16 * g(x + h) - 30 * g(x) + 16 * g(x - h) - g(x - 2 * h)) \
            / (12 * h * h)
        scale = 1.0 + abs(nested)
        assert abs(taylor - nested) <= 1e-11 * scale, f"{NAMES[ufunc]}({x})"
        assert abs(public - nested) <= 1e-11 * scale, f"{NAMES[ufunc]}({x})"
        assert abs(fd2 - nested) <= 1e-5 * scale, f"{NAMES[ufunc]}({x}): {nested} vs {fd2}"


@pytest.mark.parametrize("ufunc", UNARY)
def test_third_derivative_against_sympy(ufunc):
    pytest.importorskip("sympy")
    from _symbolic import symbolic_derivatives
    for (x,) in _points(ufunc, count=2):
        expected = symbolic_derivatives(NAMES[ufunc], (x,), [(0, 0, 0)])[0]
        taylor = float(ufunc(Taylor.variable(x, 3)).derivatives()[..., 3])
        nested = _nested3(ufunc, x)
        for got in (taylor, nested):
            assert abs(got - expected) <= 1e-10 * (1.0 + abs(expected)), \
                f"{NAMES[ufunc]}({x}): {got} != {expected}"


# --- Hessians of compositions --------------------------------------------------------------
_OPS1 = [np.sin, np.cos, np.tanh, np.arctan, lambda a: np.exp(-a * a), lambda a: a * a,
         lambda a: np.sqrt(1.0 + a * a), lambda a: np.log1p(a * a)]
_OPS2 = [np.add, np.multiply, np.subtract, lambda a, b: a / (1.0 + b * b), np.hypot,
         np.logaddexp, lambda a, b: np.arctan2(a, 2.0 + np.cos(b))]


def random_composition(rng, n, depth=4):
    """A random smooth scalar function of a vector of n inputs, and its plain twin."""
    def build(d):
        if d == 0 or rng.random() < 0.2:
            i = int(rng.integers(n))
            c = float(rng.uniform(0.5, 1.5))
            return lambda v: c * v[i]
        if rng.random() < 0.5:
            op, a = _OPS1[rng.integers(len(_OPS1))], build(d - 1)
            return lambda v: op(a(v))
        op, a, b = _OPS2[rng.integers(len(_OPS2))], build(d - 1), build(d - 1)
        return lambda v: op(a(v), b(v))
    terms = [build(depth) for _ in range(3)]
    return lambda v: terms[0](v) + terms[1](v) * terms[2](v)


@pytest.mark.parametrize("seed", range(8))
def test_hessian_of_random_compositions(seed):
    rng = np.random.default_rng(seed)
    n = 4
    f = random_composition(rng, n)
    x = rng.uniform(-1.0, 1.0, n)
    hyper = ad.hessian(f, x)
    nested = ad.hessian(f, x, method="nested")
    scale = 1.0 + np.abs(nested).max()
    # symmetric to round-off (HyperDual stores one triangle, so exactly)
    assert np.array_equal(hyper, hyper.T)
    assert np.abs(nested - nested.T).max() <= 1e-13 * scale
    assert np.abs(hyper - nested).max() <= 1e-12 * scale
    # oracle: central differences of the gradient, which is checked against its own
    # central differences first
    grad = ad.gradient(f, x)
    fd_grad = np.array([fd(lambda t: f(np.where(np.arange(n) == i, t, x)), x[i])
                        for i in range(n)])
    assert np.abs(grad - fd_grad).max() <= 1e-7 * (1.0 + np.abs(grad).max())
    fd_hess = np.array([fd(lambda t: ad.gradient(f, np.where(np.arange(n) == i, t, x)), x[i])
                        for i in range(n)])
    assert np.abs(hyper - fd_hess).max() <= 1e-7 * scale


def _quartic(v):
    return np.sum(np.sin(v) * v ** 2) + v[0] * v[-1] * np.exp(v[1]) + np.sum(v) ** 3 / 10.0


def test_hvp_equals_hessian_times_vector():
    rng = np.random.default_rng(1)
    for n in (2, 3, 7):
        x, v = rng.normal(size=n), rng.normal(size=n)
        H = ad.hessian(_quartic, x)
        assert np.allclose(ad.hvp(_quartic, x, v), H @ v, rtol=1e-13, atol=1e-13)


def test_hvp_of_matrix_input_matches_hessian_contraction():
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))

    def f(m):
        return np.sum(np.tanh(m @ m.T)) + np.sum(m[0] * np.cos(m[1]))
    H = ad.hessian(f, x)
    assert H.shape == (2, 3, 2, 3)
    assert np.allclose(ad.hvp(f, x, v), np.tensordot(H, v, axes=2), rtol=1e-13, atol=1e-13)


def test_hessian_chunk_size_does_not_change_the_result():
    rng = np.random.default_rng(3)
    n = 7
    x = rng.normal(size=n)
    full = ad.hessian(_quartic, x, chunk_size=n)
    for k in (1, 2, 3, n, n + 5):
        assert np.array_equal(ad.hessian(_quartic, x, chunk_size=k), full), k
        nested = ad.hessian(_quartic, x, chunk_size=k, method="nested")
        assert np.allclose(nested, full, rtol=1e-13, atol=1e-13), k
    assert np.array_equal(ad.hessian(_quartic, x), full)  # automatic chunk size


def test_value_grad_hessian_returns_all_three():
    rng = np.random.default_rng(4)
    x = rng.normal(size=5)
    for method in ("hyperdual", "nested"):
        value, grad, hess = ad.value_grad_hessian(_quartic, x, method=method)
        assert isinstance(value, float) and value == pytest.approx(_quartic(x), rel=1e-15)
        assert np.allclose(grad, ad.gradient(_quartic, x), rtol=1e-14, atol=1e-14)
        assert np.allclose(hess, ad.hessian(_quartic, x, method="nested"),
                           rtol=1e-13, atol=1e-13)
        assert grad.shape == (5,) and hess.shape == (5, 5)
    v, g = ad.value_and_grad(_quartic, x)
    assert v == pytest.approx(_quartic(x)) and np.allclose(g, ad.gradient(_quartic, x))


def test_value_grad_hessian_of_a_scalar_input():
    value, grad, hess = ad.value_grad_hessian(lambda t: t ** 3, 2.0)
    assert (value, float(grad), float(hess)) == (8.0, 12.0, 12.0)
    assert np.shape(grad) == () and np.shape(hess) == ()


# --- HyperDual through array functions, against nested duals -------------------------------
_RNG = np.random.default_rng(5)
_A = _RNG.normal(size=(4, 4))
_B = _RNG.normal(size=(3, 4))


def _norm(v):
    return np.linalg.norm(v) + np.linalg.norm(v * v - 0.5)


ARRAY_FUNCTIONS = {
    "sum": lambda v: np.sum(np.sin(v) * v) + v.sum() ** 2,
    "sum_axis": lambda v: np.sum(np.sum(np.outer(v, np.cos(v)), axis=0) ** 2),
    "reshape": lambda v: np.sum(np.exp(v.reshape(2, 2)) @ v.reshape(2, 2)),
    "transpose": lambda v: np.sum(np.tanh(v.reshape(2, 2).T) * v.reshape(2, 2)),
    "concatenate": lambda v: np.sum(np.concatenate([v, v ** 2, np.sin(v[:2])]) ** 3),
    "stack": lambda v: np.sum(np.prod(np.stack([v, np.cos(v)]), axis=0)),
    "indexing": lambda v: v[0] * v[3] ** 2 + v[1:3] @ v[::-2] + v[[0, 0, 2]].sum() ** 2,
    "matmul_plain_matrix": lambda v: np.sum(np.tanh(_A @ v)) + np.sum((_B @ v) ** 2),
    "matmul_plain_left": lambda v: np.sum(np.sin(v @ _A)),
    "quadratic_form": lambda v: v @ _A @ v,
    "quadratic_form_nonlinear": lambda v: np.sin(v) @ _A @ np.exp(v),
    "einsum_quadratic": lambda v: np.einsum("i,ij,j->", v, _A, np.sin(v)),
    "einsum_two": lambda v: np.einsum("i,i->", v, np.cos(v)) + np.einsum("i->", v ** 3),
    "einsum_outer": lambda v: np.sum(np.einsum("i,j->ij", v, np.sin(v)) ** 2),
    "dot": lambda v: np.dot(np.sin(v), v) + np.dot(_A, v) @ np.dot(v, _A),
    "inner_tensordot": lambda v: np.inner(v, v ** 2) + np.tensordot(_A, np.outer(v, v)),
    # one constant operand, each side and each shape: one contraction of the stacked parts
    "matrix_times_constant": lambda v: np.sum(np.sin(v.reshape(2, 2) @ _B[:2, :3]) ** 2)
    + np.sum((_B[:2, :2].T @ np.exp(v.reshape(2, 2))) ** 2),
    "einsum_dot_constants": lambda v: np.sum(np.einsum("ij,jk->ki", np.cos(v).reshape(2, 2),
                                                       _A[:2, :3]) ** 2)
    + np.dot(v ** 3, [1.0, -2.0, 0.5, 3.0]) + np.dot(_A, np.sin(v)) @ np.dot(v, _A),
    "tensordot_axes_constant": lambda v: np.sum(np.tensordot(
        np.sin(v).reshape(2, 2), _A.reshape(2, 2, 4), ([0, 1], [1, 0])) ** 2)
    + np.sum(np.tensordot(np.outer(v, np.sin(v)).reshape(2, 2, 4), _A.reshape(2, 2, 4),
                          axes=([0, 2], [1, 2])) ** 2),
    # products with the seed itself, whose gradient part is the shared identity: relabelled,
    # not contracted, and its outer-product terms summed onto the diagonal
    "seed_products": lambda v: v @ v + np.inner(v, v) * np.sum(v)
    + np.einsum("i,ij->j", v, _A) @ np.sin(v) + np.sum(v * np.sin(v))
    + np.sum(np.cos(v) * v) + np.sum(v * v) + np.sum(np.exp(v)) * (_A @ v) @ v
    + np.sum(np.tanh(_A @ v) * v),
    "prod": lambda v: np.prod(v) + np.prod(np.cos(v)),
    "linalg_norm": _norm,
}


@pytest.mark.parametrize("name", list(ARRAY_FUNCTIONS))
def test_hyperdual_array_functions_match_nested_duals(name):
    f = ARRAY_FUNCTIONS[name]
    x = np.array([0.7, -1.3, 0.4, 1.1])
    hyper = ad.hessian(f, x)
    nested = ad.hessian(f, x, method="nested")
    assert np.abs(hyper - nested).max() <= 1e-12 * (1.0 + np.abs(nested).max()), name
    # and an oracle that knows nothing of second-order AD: differences of the gradient
    fd_hess = np.array([fd(lambda t: ad.gradient(f, np.where(np.arange(4) == i, t, x)), x[i])
                        for i in range(4)])
    assert np.abs(hyper - fd_hess).max() <= 1e-7 * (1.0 + np.abs(nested).max()), name
    # the seeded HyperDual by hand gives the same value, gradient and Hessian
    y = f(HyperDual.seed(x))
    assert isinstance(y, HyperDual) and y.shape == ()
    assert float(y.value) == pytest.approx(f(x), rel=1e-14, abs=1e-14)
    assert np.allclose(y.grad, ad.gradient(f, x), rtol=1e-13, atol=1e-13)
    assert np.array_equal(y.hessian(), hyper)


def test_seeds_beyond_the_shared_identities_take_the_general_products():
    # from ad.config.HYPERDUAL_IDENTITY_MAX_N + 1 directions on, a seed's identity is not shared (not
    # recognised): the same Hessians through the full contractions, against closed forms
    from dualad.higher import hyperdual
    n = ad.config.HYPERDUAL_IDENTITY_MAX_N + 1
    x = np.linspace(-1.0, 1.0, n)
    B = np.random.default_rng(n).standard_normal((n, n)) / n
    assert not hyperdual._is_identity(HyperDual.seed(x).grad)
    assert hyperdual._is_identity(HyperDual.seed(x[:n - 1]).grad)
    for h in (HyperDual.seed(x), HyperDual.seed(x[:n - 1])):  # (and a shared one)
        Bh = B[:len(h), :len(h)]
        y = np.sum(np.sin(h)) + h @ (Bh @ h) + h @ h
        want = Bh + Bh.T + 2.0 * np.eye(len(h)) - np.diag(np.sin(x[:len(h)]))
        assert np.allclose(y.hessian(), want, rtol=0, atol=1e-12)
        assert np.allclose(y.grad, np.cos(x[:len(h)]) + (Bh + Bh.T) @ x[:len(h)]
                           + 2.0 * x[:len(h)], rtol=0, atol=1e-12)


def test_quadratic_form_has_the_symmetrized_matrix_as_hessian():
    x = np.array([0.3, -0.2, 0.9, 1.7])
    assert np.allclose(ad.hessian(lambda v: v @ _A @ v, x), _A + _A.T, rtol=0, atol=1e-14)
    assert np.allclose(ad.hessian(lambda v: 0.5 * v @ (_A @ v), x, method="nested"),
                       (_A + _A.T) / 2, rtol=0, atol=1e-14)


# --- dtypes --------------------------------------------------------------------------------
def test_float32_parts_stay_float32_through_each_operation():
    # the final hessian() casts; here each intermediate HyperDual must already be float32
    # (a derivative like 1 / 2 is a float64 0-d array, which would promote the parts)
    A32 = _A.astype(np.float32)
    X = HyperDual.seed(np.array([0.7, -1.3, 0.4, 1.1], dtype=np.float32))
    steps = [lambda v: v / 2, lambda v: 3.0 * v, lambda v: v ** 2, lambda v: np.sin(v) * v,
             lambda v: np.exp(v) / (1 + v * v), lambda v: A32 @ v, lambda v: v @ (A32 @ v),
             lambda v: np.sum(np.tanh(v) * v) / 4]
    for step in steps:
        y = step(X)
        assert y.value.dtype == y.grad.dtype == y.hess.dtype == np.float32


@pytest.mark.parametrize("method", ["hyperdual", "nested"])
def test_float32_is_preserved(method):
    A32 = _A.astype(np.float32)
    x = np.array([0.7, -1.3, 0.4, 1.1], dtype=np.float32)

    def f(v):
        return np.sum(np.sin(v) * v) + v @ A32 @ v / 2
    value, grad, hess = ad.value_grad_hessian(f, x, method=method)
    assert grad.dtype == np.float32 and hess.dtype == np.float32
    expected = ad.hessian(f, x.astype(np.float64))
    assert np.allclose(hess, expected, rtol=1e-5, atol=1e-5)
    assert ad.hessian(f, x, method=method).dtype == np.float32
    assert ad.hvp(f, x, np.ones(4, np.float32)).dtype == np.float32


def test_float32_hyperdual_seed_and_ops():
    h = HyperDual.seed(np.array([1.0, 2.0], dtype=np.float32))
    y = np.exp(h) * h[::-1] / (1.0 + h * h)
    assert y.dtype == y.grad.dtype == y.hess.dtype == np.float32


def test_integer_input_becomes_float64():
    H = ad.hessian(lambda v: v[0] ** 2 * v[1], [3, 4])
    assert H.dtype == np.float64 and H.tolist() == [[8.0, 6.0], [6.0, 0.0]]


# --- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["hyperdual", "nested"])
def test_hessian_of_a_vector_valued_function_is_an_error(method):
    with pytest.raises(ValueError, match="scalar"):
        ad.hessian(lambda v: v ** 2, np.ones(3), method=method)
    with pytest.raises(ValueError, match="scalar"):
        ad.value_grad_hessian(lambda v: np.stack([v[0], v[1]]), np.ones(3), method=method)


def test_bad_method_is_an_error():
    with pytest.raises(ValueError, match="method"):
        ad.hessian(np.sum, np.ones(3), method="taylor")
    with pytest.raises(ValueError, match="method"):
        ad.value_grad_hessian(np.sum, np.ones(3), method=None)


def test_mixing_hyperdual_with_dualnumber_is_an_error():
    h = HyperDual.seed(np.array([1.0, 2.0]))
    d = DualNumber(np.array([1.0, 2.0]), np.ones((2, 1)))
    for op in (lambda: h * d, lambda: d * h, lambda: h + d, lambda: np.sin(h) / d,
               lambda: np.hypot(h, d)):
        with pytest.raises(TypeError):
            op()
    t = Taylor.variable(1.0, 3)
    for op in (lambda: h * t, lambda: t * h, lambda: np.concatenate([h, t[None]])):
        with pytest.raises(TypeError):
            op()


def test_hyperdual_refuses_silent_conversion():
    h = HyperDual.seed(np.array([1.0, 2.0]))
    with pytest.raises(TypeError):
        float(h[0])
    with pytest.raises(TypeError):
        np.asarray(h)


@pytest.mark.parametrize("make", [lambda: HyperDual(1j, [1.0]), lambda: HyperDual("a", [1.0]),
                                  lambda: HyperDual(1.0, [1j]), lambda: HyperDual.seed(1j),
                                  lambda: HyperDual.seed(None), lambda: HyperDual.seed(["a"])])
def test_hyperdual_takes_real_numbers_only(make):
    with pytest.raises(TypeError, match="real|complex"):
        make()


@pytest.mark.parametrize("op", [lambda h: h * np.array([1j, 2.0]), lambda h: h ** 3 * 1j,
                                lambda h: np.array([[1j, 0.0], [0.0, 1.0]]) @ h,
                                lambda h: h @ (h * 1j), lambda h: h * Fraction(1, 2)])
def test_hyperdual_refuses_complex_and_object_constants(op):
    # (not a silently dropped imaginary part, nor an error from inside the kernels)
    with pytest.raises(TypeError, match="HyperDual"):
        op(HyperDual.seed(np.array([1.0, 2.0])))


@pytest.mark.parametrize("f", [
    lambda v: v.mean() * v.max() + v.prod(),                      # methods HyperDual lacks
    lambda v: np.linalg.slogdet(np.outer(v, v) + np.diag(v + 3.0)).logabsdet,  # named tuples
    lambda v: np.sum(np.linalg.svd(np.outer(v, v) + np.diag(v + 3.0)).S)])
def test_hessian_falls_back_to_nested_duals_where_hyperdual_lacks_something(f):
    x = np.array([1.0, 2.0, 3.0])
    want = fd_jacobian(lambda y: ad.gradient(f, y), x)
    np.testing.assert_allclose(ad.hessian(f, x), want, rtol=1e-7, atol=1e-7)


# --- perturbation confusion at higher orders -----------------------------------------------
def test_second_derivative_inside_a_derivative_of_a_linear_function():
    assert ad.derivative(lambda x: ad.derivative(lambda y: x * y, 2.0, order=2), 1.0) == 0.0


def test_second_derivative_inside_a_derivative_sees_the_outer_variable():
    # d/dx [x * d2/dy2 (x y^3) at y=2] = d/dx [x * 12 x] = 24 x
    got = ad.derivative(lambda x: x * ad.derivative(lambda y: x * y ** 3, 2.0, order=2), 1.0)
    assert got == 24.0


def test_third_derivative_inside_a_second_derivative():
    # d3/dy3 (x y^3) = 6 x: its second derivative in x is 0, its first 6
    inner = lambda x: ad.derivative(lambda y: x * y ** 3, 2.0, order=3)  # noqa: E731
    assert ad.derivative(inner, 1.0, order=2) == 0.0
    assert ad.derivative(inner, 1.0) == 6.0
    # d3/dy3 exp(x y) at y = 0 is x^3; d/dx at 1 is 3, d2/dx2 at 1 is 6, d3/dx3 is 6
    g = lambda x: ad.derivative(lambda y: np.exp(x * y), 0.0, order=3)  # noqa: E731
    assert ad.derivative(g, 1.0) == pytest.approx(3.0, rel=1e-14)
    assert ad.derivative(g, 1.0, order=2) == pytest.approx(6.0, rel=1e-14)
    assert ad.derivative(g, 1.0, order=3) == pytest.approx(6.0, rel=1e-14)


def test_inner_derivative_at_the_outer_variable():
    assert ad.derivative(lambda x: ad.derivative(lambda y: x, x, order=2), 1.0) == 0.0
    assert ad.derivative(lambda x: ad.derivative(lambda y: x * y, x), 1.0, order=2) == 0.0
    # d/dx [d2/dy2 (x y^2)]|_{y=x} = d/dx 2x = 2
    assert ad.derivative(lambda x: ad.derivative(lambda y: x * y * y, x, order=2), 3.0) == 2.0


def test_nested_hessian_of_a_function_that_differentiates_inside():
    # g(v) = d/dt (v0 t^2 + v1 t) at t = v1  = 2 v0 v1 + v1
    def g(v):
        return ad.derivative(lambda t: v[0] * t ** 2 + v[1] * t, v[1])
    x = np.array([1.5, -0.5])
    assert np.allclose(ad.hessian(g, x, method="nested"), [[0.0, 2.0], [2.0, 0.0]])
    assert np.allclose(ad.hvp(g, x, np.array([1.0, 0.0])), [0.0, 2.0])
    assert np.allclose(ad.gradient(g, x), [2 * x[1], 2 * x[0] + 1])


def test_derivative_of_a_nested_hessian():
    # d/ds of the Hessian of s * v0^2 v1 at (1, 2): d/ds [[2 s v1, 2 s v0], [2 s v0, 0]]
    def h(s):
        return ad.hessian(lambda v: s * v[0] ** 2 * v[1], [1.0, 2.0], method="nested")
    assert np.allclose(ad.derivative(h, 3.0), [[4.0, 2.0], [2.0, 0.0]])
    assert np.allclose(h(3.0), [[12.0, 6.0], [6.0, 0.0]])


def test_hvp_inside_a_derivative():
    # H of s * sum(v^3) is diag(6 s v); d/ds (H u) = 6 v * u
    v0, u = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    got = ad.derivative(lambda s: ad.hvp(lambda v: s * np.sum(v ** 3), v0, u), 0.5)
    assert np.allclose(got, 6 * v0 * u)


# helpers of different kinds inside one another: Taylor and HyperDual carry no tags, so the
# enclosing pass must notice and redo its work with nested duals (these were wrong, silently)
HIGHER_CONFUSION = {
    # d3/dy3 exp(x y) at y=0 = x^3: d3/dx3 = 6 (Taylor inside Taylor, same order)
    "taylor_in_taylor": (lambda: ad.derivative(
        lambda x: ad.derivative(lambda y: np.exp(x * y), 0.0, order=3), 1.0, order=3), 6.0),
    # d3/dy3 (x y^3) = 6x: d4/dx4 = 0 (Taylor inside Taylor, different orders)
    "taylor_orders_mixed": (lambda: ad.derivative(
        lambda x: ad.derivative(lambda y: x * y ** 3, 1.0, order=3), 2.0, order=4), 0.0),
    # d3/dy3 (x^2 y^3) at y = x is 6 x^2: d3/dx3 = 0, d2/dx2 = 12
    "taylor_at_outer_taylor": (lambda: ad.derivative(
        lambda x: ad.derivative(lambda y: x * x * y ** 3, x, order=3), 3.0, order=2), 12.0),
    "taylor_at_outer_taylor_3": (lambda: ad.derivative(
        lambda x: ad.derivative(lambda y: x * x * y ** 3 + y, x, order=3), 3.0, order=3),
        0.0),
    # d2/dw2 (v0^2 w^2) = 2 v0^2: Hessian 4 (HyperDual inside HyperDual)
    "hyperdual_in_hyperdual": (lambda: ad.hessian(
        lambda v: ad.hessian(lambda w: v[0] ** 2 * w[0] ** 2, [1.0])[0, 0], [2.0])[0, 0],
        4.0),
    # the inner Hessian at the outer variable: 2 v0^3, Hessian 12 v0 = 24
    "hyperdual_at_outer_hyperdual": (lambda: ad.hessian(
        lambda v: ad.hessian(lambda w: w[0] ** 2 * v[0] ** 3, v)[0, 0], [2.0])[0, 0], 24.0),
    # d/ds of d2/dv2 (s^3 v^2) = 2 s^3: third derivative 12 (HyperDual inside Taylor)
    "hessian_in_taylor": (lambda: ad.derivative(
        lambda s: ad.hessian(lambda v: s ** 3 * v[0] ** 2, [1.0])[0, 0], 3.0, order=3), 12.0),
    "hessian_in_derivative": (lambda: ad.derivative(
        lambda s: ad.hessian(lambda v: s * v[0] ** 2, [1.0])[0, 0], 3.0), 2.0),
    # d3/dt3 (v0^2 t^3) = 6 v0^2: Hessian 12 (Taylor inside HyperDual)
    "taylor_in_hessian": (lambda: ad.hessian(
        lambda v: ad.derivative(lambda t: v[0] ** 2 * t ** 3, 1.0, order=3), [1.0])[0, 0],
        12.0),
    "derivative_in_hessian": (lambda: ad.hessian(
        lambda v: ad.derivative(lambda t: v[0] ** 3 * t ** 2, 1.0), [1.0])[0, 0], 12.0),
    # hvp of v0^2 w^3 along 1 at 1: 6 v0^2, Hessian 12
    "hvp_in_hessian": (lambda: ad.hessian(
        lambda v: ad.hvp(lambda w: v[0] ** 2 * w[0] ** 3, [1.0], [1.0])[0], [1.0])[0, 0],
        12.0),
}


@pytest.mark.parametrize("name", list(HIGHER_CONFUSION))
def test_helpers_of_different_kinds_nested(name):
    compute, expected = HIGHER_CONFUSION[name]
    assert compute() == pytest.approx(expected, rel=1e-13, abs=1e-13)


def test_vector_hessian_inside_a_vector_hessian():
    # g(v) = trace of the Hessian in w of (v . w)^2 + |v|^2 |w|^2, at w = v:
    #      = 2 |v|^2 + 2 n |v|^2, whose Hessian is (4 + 4 n) I
    n = 3

    def g(v):
        return np.trace(ad.hessian(lambda w: (v @ w) ** 2 + (v @ v) * (w @ w), v))
    x = np.array([0.3, -1.2, 0.5])
    assert np.allclose(ad.hessian(g, x), (4 + 4 * n) * np.eye(n), rtol=1e-13, atol=1e-12)


def test_second_derivative_of_maximum_of_a_nonlinear_argument():
    assert ad.derivative(lambda x: np.maximum(x * x, 0.5), 1.0, order=2) == 2.0


# --- property: HyperDual = nested duals = Taylor along a direction, at random points --------
from hypothesis import given, strategies as st  # noqa: E402

_coord = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)


def _smooth(v):
    return np.sin(v[0] * v[1]) + np.exp(-v[2] ** 2) * v[0] + np.log1p(v[1] ** 2) * np.tanh(v[2])


@given(st.lists(_coord, min_size=3, max_size=3), st.lists(_coord, min_size=3, max_size=3))
def test_property_hessian_methods_agree(x, u):
    x, u = np.array(x), np.array(u)
    hyper = ad.hessian(_smooth, x)
    nested = ad.hessian(_smooth, x, method="nested")
    scale = 1.0 + np.abs(nested).max()
    assert np.abs(hyper - nested).max() <= 1e-12 * scale
    assert np.allclose(ad.hvp(_smooth, x, u), hyper @ u, rtol=1e-12, atol=1e-12 * scale)
    # u^T H u is the second Taylor derivative along u
    t = _smooth([Taylor(np.array([x[i], u[i], 0.0])) for i in range(3)])
    assert abs(float(t.derivatives()[2]) - u @ hyper @ u) <= 1e-11 * scale * (1 + u @ u)


PIECEWISE_CONSTANT_OF_REAL = {  # (function of a real argument, its plain value)
    "imag": (np.imag, lambda x: 0.0 * x),
    "angle": (np.angle, lambda x: np.where(x < 0, np.pi, 0.0)),
    "angle deg": (lambda x: np.angle(x, deg=True), lambda x: np.where(x < 0, 180.0, 0.0)),
    "round": (lambda x: np.round(x, 1), lambda x: np.round(x, 1)),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE_CONSTANT_OF_REAL))
def test_piecewise_constant_functions_of_real_duals_at_every_order(name):
    # np.imag / np.angle raised "converting a DualNumber to a plain numpy array" at order 2:
    # the function is constant, so f(x) * x**3 has derivatives c * (x**3)^(k)
    f, c = PIECEWISE_CONSTANT_OF_REAL[name]
    for x in (-0.37, 1.23):
        powers = {1: 3 * x ** 2, 2: 6 * x, 3: 6.0}
        for k, expected in powers.items():
            got = ad.derivative(lambda t: f(t) * t ** 3, x, order=k)
            np.testing.assert_allclose(got, c(x) * expected, rtol=1e-14, atol=1e-300)
    v = np.array([0.37, -1.23])
    np.testing.assert_allclose(ad.hessian(lambda w: np.sum(f(w) * w ** 2), v),
                               np.diag(2 * c(v)), rtol=1e-14)
    np.testing.assert_allclose(ad.hvp(lambda w: np.sum(f(w) * w ** 2), v, np.ones(2)),
                               2 * c(v), rtol=1e-14)
