"""The classic hyper-dual number of Fike & Alonso: ``HyperDual(f, eps1, eps2, eps1eps2)``.

It is the n = 2 vectorized HyperDual with gradient part [eps1, eps2] and mixed Hessian entry
eps1eps2 (ε1² = ε2² = 0: the diagonal of the Hessian part never enters the four components).
Oracles, none of them dualad: sympy's derivatives of each rule written again symbolically
(``_symbolic.py``), central differences of the plain function, a four-component reference
of Fike's algebra written out below, and jax where installed. Every check runs with the
outer-product terms everywhere and with the packed kernels everywhere, and the kernels both
with dualad.accel's numba versions and with numpy's.
"""
import copy
import pickle
import zlib

import numpy as np
import pytest

import dualad as ad
from dualad import HyperDual
from dualad import config
from dualad.rules.table import RULES

from _oracles import live_arguments, rule_cases


@pytest.fixture(autouse=True, scope="module", params=[(1, 0), (10 ** 9, -1)],
                ids=["terms", "packed"])
def route(request):
    saved = config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED
    config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED = request.param
    yield request.param
    config.HYPERDUAL_TERMS_MIN_N, config.HYPERDUAL_TERMS_MAX_PACKED = saved


def components(h):
    return [np.asarray(c, dtype=np.float64) for c in (h.value, h.eps1, h.eps2, h.eps1eps2)]


def assert_components(h, expected, rtol=1e-12, what=""):
    got = components(h)
    for name, g, e in zip(("value", "eps1", "eps2", "eps1eps2"), got, expected):
        e = np.broadcast_to(np.asarray(e, dtype=np.float64), g.shape)
        bad = ~(np.abs(g - e) <= rtol * (1.0 + np.abs(e)))
        assert not bad.any(), f"{what} {name}: {g[bad].tolist()} != {e[bad].tolist()}"


# --- Fike's algebra, written out: four arrays, ε1² = ε2² = 0 -------------------------------
class Fike:
    """a + b ε1 + c ε2 + d ε1ε2, the reference (no dualad)."""

    __array_ufunc__ = None  # ndarray op Fike: numpy defers to Fike's reflected operator

    def __init__(self, a, b=0.0, c=0.0, d=0.0):
        self.a, self.b, self.c, self.d = (np.asarray(t, dtype=np.float64) for t in (a, b, c, d))

    @staticmethod
    def of(x):
        return x if isinstance(x, Fike) else Fike(x)

    def parts(self):
        return [self.a, self.b, self.c, self.d]

    def apply(self, f, f1, f2):
        """f(a + n) = f(a) + f'(a) n + f''(a) b c ε1ε2 (n² = 2 b c ε1ε2, n³ = 0)."""
        a = self.a
        return Fike(f(a), f1(a) * self.b, f1(a) * self.c, f1(a) * self.d + f2(a) * self.b * self.c)

    def __add__(self, o):
        o = Fike.of(o)
        return Fike(self.a + o.a, self.b + o.b, self.c + o.c, self.d + o.d)

    __radd__ = __add__

    def __neg__(self):
        return Fike(-self.a, -self.b, -self.c, -self.d)

    def __pos__(self):
        return self

    def __sub__(self, o):
        return self + (-Fike.of(o))

    def __rsub__(self, o):
        return Fike.of(o) + (-self)

    def __mul__(self, o):
        o = Fike.of(o)
        return Fike(self.a * o.a, self.a * o.b + self.b * o.a, self.a * o.c + self.c * o.a,
                    self.a * o.d + self.b * o.c + self.c * o.b + self.d * o.a)

    __rmul__ = __mul__

    def reciprocal(self):
        return self.apply(lambda a: 1.0 / a, lambda a: -1.0 / a ** 2, lambda a: 2.0 / a ** 3)

    def __truediv__(self, o):
        return self * Fike.of(o).reciprocal()

    def __rtruediv__(self, o):
        return Fike.of(o) * self.reciprocal()

    def __pow__(self, p):
        if isinstance(p, Fike):
            return exp(p * log(self))
        return self.apply(lambda a: a ** p, lambda a: p * a ** (p - 1),
                          lambda a: p * (p - 1) * a ** (p - 2))

    def __rpow__(self, base):
        return exp(self * np.log(base))

    def __abs__(self):
        s = np.sign(self.a)
        return Fike(np.abs(self.a), s * self.b, s * self.c, s * self.d)


def exp(x):
    return x.apply(np.exp, np.exp, np.exp)


def log(x):
    return x.apply(np.log, lambda a: 1.0 / a, lambda a: -1.0 / a ** 2)


FIKE_FUNCTIONS = {  # f, f', f''
    np.sin: (np.sin, np.cos, lambda a: -np.sin(a)),
    np.cos: (np.cos, lambda a: -np.sin(a), lambda a: -np.cos(a)),
    np.exp: (np.exp, np.exp, np.exp),
    np.log: (np.log, lambda a: 1.0 / a, lambda a: -1.0 / a ** 2),
    np.sqrt: (np.sqrt, lambda a: 0.5 / np.sqrt(a), lambda a: -0.25 * a ** -1.5),
    np.tanh: (np.tanh, lambda a: 1.0 / np.cosh(a) ** 2,
              lambda a: -2.0 * np.tanh(a) / np.cosh(a) ** 2),
    np.arctan: (np.arctan, lambda a: 1.0 / (1.0 + a * a), lambda a: -2.0 * a / (1.0 + a * a) ** 2),
    np.square: (np.square, lambda a: 2.0 * a, lambda a: 2.0 + 0.0 * a),
}


def fike(fn, x):
    f, f1, f2 = FIKE_FUNCTIONS[fn]
    return x.apply(f, f1, f2)


def random_pair(rng, shape=(7,), lo=0.5, hi=2.0):
    """The same random number as a classic HyperDual and as the reference (all four
    components nonzero: no seed pattern hides a wrong term)."""
    parts = [rng.uniform(lo, hi, shape)] + [rng.standard_normal(shape) for _ in range(3)]
    return HyperDual(*parts), Fike(*parts)


# --- the standard uses ------------------------------------------------------------------
def test_second_derivative_standard_use():
    # f''(x) = f(HyperDual(x, 1, 1, 0)).eps1eps2; f' in eps1 and eps2
    x = 0.7
    y = np.sin(HyperDual(x, 1.0, 1.0, 0.0)) * np.exp(HyperDual(x, 1.0, 1.0, 0.0))
    d1 = np.exp(x) * (np.sin(x) + np.cos(x))
    d2 = 2.0 * np.exp(x) * np.cos(x)
    assert_components(y, [np.sin(x) * np.exp(x), d1, d1, d2], rtol=1e-14)
    assert float(y.eps1eps2) == pytest.approx(ad.derivative(lambda t: np.sin(t) * np.exp(t), x,
                                                            order=2), rel=1e-14)


def test_mixed_partial_textbook():
    # f(x, y) = x² y + y + 2: ∂f/∂x = 2xy, ∂f/∂y = x² + 1, ∂²f/∂x∂y = 2x
    x, y = HyperDual(3.0, 1.0, 0.0, 0.0), HyperDual(4.0, 0.0, 1.0, 0.0)
    z = x ** 2 * y + y + 2
    assert [float(c) for c in components(z)] == [42.0, 24.0, 10.0, 6.0]


def _g(x, y):
    return np.sin(x * y) + np.exp(x) / y + np.arctan2(y, x) * np.sqrt(x)


def _g_grad_hess(x, y):
    """The analytic gradient and Hessian of _g."""
    xy, r2 = x * y, x * x + y * y
    at = np.arctan2(y, x)
    sx = np.sqrt(x)
    gx = y * np.cos(xy) + np.exp(x) / y - y / r2 * sx + at * 0.5 / sx
    gy = x * np.cos(xy) - np.exp(x) / y ** 2 + x / r2 * sx
    hxx = (-y * y * np.sin(xy) + np.exp(x) / y + 2.0 * x * y / r2 ** 2 * sx
           - y / r2 / sx - 0.25 * at * x ** -1.5)
    hxy = (np.cos(xy) - xy * np.sin(xy) - np.exp(x) / y ** 2
           + (y * y - x * x) / r2 ** 2 * sx + 0.5 * x / r2 / sx)
    hyy = -x * x * np.sin(xy) + 2.0 * np.exp(x) / y ** 3 - 2.0 * x * y / r2 ** 2 * sx
    return (gx, gy), np.array([[hxx, hxy], [hxy, hyy]])


def test_mixed_partials_analytic_hessian_and_differences():
    rng = np.random.default_rng(1)
    px, py = rng.uniform(0.5, 2.0, 6), rng.uniform(0.5, 2.0, 6)
    (gx, gy), H = _g_grad_hess(px, py)
    z = _g(HyperDual(px, 1.0, 0.0, 0.0), HyperDual(py, 0.0, 1.0, 0.0))  # arrays of numbers
    assert_components(z, [_g(px, py), gx, gy, H[0, 1]], rtol=1e-13)
    # the diagonal entries: e1 and e2 both seeding x (or both y)
    zx = _g(HyperDual(px, 1.0, 1.0, 0.0), py)
    zy = _g(px, HyperDual(py, 1.0, 1.0, 0.0))
    assert_components(zx, [_g(px, py), gx, gx, H[0, 0]], rtol=1e-13)
    assert_components(zy, [_g(px, py), gy, gy, H[1, 1]], rtol=1e-13)
    # central differences of the plain function (4th order): an oracle without formulas
    h = 1e-3
    st = ((1, 8.0), (2, -1.0))
    fd_x = sum(c * (_g(px + k * h, py) - _g(px - k * h, py)) for k, c in st) / (12 * h)
    fd_xy = sum(ci * cj * (_g(px + i * h, py + j * h) - _g(px + i * h, py - j * h)
                           - _g(px - i * h, py + j * h) + _g(px - i * h, py - j * h))
                for i, ci in st for j, cj in st) / (144 * h * h)
    fd_xx = (-_g(px + 2 * h, py) + 16 * _g(px + h, py) - 30 * _g(px, py) + 16 * _g(px - h, py)
             - _g(px - 2 * h, py)) / (12 * h * h)
    assert np.allclose(z.eps1, fd_x, rtol=1e-8, atol=1e-8)
    assert np.allclose(z.eps1eps2, fd_xy, rtol=1e-6, atol=1e-6)
    assert np.allclose(zx.eps1eps2, fd_xx, rtol=1e-5, atol=1e-5)
    # the same numbers as ad.hessian at each point
    for k in range(px.size):
        Hk = ad.hessian(lambda v: _g(v[0], v[1]), np.array([px[k], py[k]]))
        assert np.allclose([zx.eps1eps2[k], z.eps1eps2[k], zy.eps1eps2[k]],
                           [Hk[0, 0], Hk[0, 1], Hk[1, 1]], rtol=1e-13, atol=1e-13)


def test_mixed_partials_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def g(v, xp=np):
        x, y = v[0], v[1]
        return xp.sin(x * y) + xp.exp(x) / y + xp.arctan2(y, x) * xp.sqrt(x) + xp.log1p(x * x) * y

    p = np.array([1.3, 0.8])
    H = np.asarray(jax.hessian(lambda v: g(v, jnp))(jnp.asarray(p)))
    z = g([HyperDual(p[0], 1.0, 0.0, 0.0), HyperDual(p[1], 0.0, 1.0, 0.0)])
    assert float(z.eps1eps2) == pytest.approx(H[0, 1], rel=1e-13)
    zx = g([HyperDual(p[0], 1.0, 1.0, 0.0), p[1]])
    assert float(zx.eps1eps2) == pytest.approx(H[0, 0], rel=1e-13)


# --- every rule of the table, on general numbers (all four components nonzero) --------------
CASES = rule_cases()


def _points(ufunc, rule, count=3):
    """Points in the rule's domain, away from kinks, ties, jumps and domain edges."""
    rng = np.random.default_rng(zlib.crc32(ufunc.__name__.encode()) + 8)
    live = live_arguments(rule)
    points = []
    while len(points) < count:
        p = []
        for k, (lo, hi) in enumerate(rule.domain):
            if k not in live:  # an integer constant (polygamma order, ldexp exponent)
                p.append(float(rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1)))
                continue
            w = hi - lo
            p.append(float(rng.uniform(lo + 0.15 * w, hi - 0.15 * w)))
        if min(abs(c) for c in p) < 0.15 or (len(p) == 2 and abs(p[0] - p[1]) < 0.15):
            continue
        if rule.kind == "zero" and any(abs(c - round(c)) < 0.05 for c in p):
            continue
        points.append(tuple(p))
    return points


def _constant(ufunc, v):
    return np.int64(v) if ufunc is np.ldexp else v


def _expected(name, point, live, eps):
    """Fike's expansion of f at ``point`` with the live arguments perturbed by ``eps[k]``
    = (b, c, d), from sympy's derivatives: f + Σ f_k n_k + Σ_kl f_kl b_k c_l ε1ε2."""
    from _symbolic import symbolic_derivatives
    first = symbolic_derivatives(name, point, [(p,) for p in live])
    second = symbolic_derivatives(name, point, [(p, q) for p in live for q in live])
    second = second.reshape(len(live), len(live))
    b = np.array([e[0] for e in eps])
    c = np.array([e[1] for e in eps])
    d = np.array([e[2] for e in eps])
    return first @ b, first @ c, first @ d + b @ second @ c


@pytest.mark.parametrize("ufunc", CASES)
def test_rule_on_classic_numbers_against_sympy(ufunc):
    pytest.importorskip("sympy")
    from _symbolic import has_oracle
    name = ufunc.__name__
    if not has_oracle(name):
        pytest.skip(f"no sympy expression for {name} (test_second_order.py requires one)")
    rule = RULES[ufunc]
    live = live_arguments(rule)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    points = _points(ufunc, rule)
    eps = rng.standard_normal((len(points), len(live), 3))
    expected = np.array([_expected(name, p, live, e) for p, e in zip(points, eps)])
    # one array of numbers per argument: all points at once (live arguments as classic
    # HyperDuals of shape (3,), constants as plain arrays)
    args = []
    for pos in range(len(rule.domain)):
        vals = np.array([p[pos] for p in points])
        if pos in live:
            k = live.index(pos)
            args.append(HyperDual(vals, eps[:, k, 0], eps[:, k, 1], eps[:, k, 2]))
        else:
            args.append(_constant(ufunc, vals.astype(np.int64) if ufunc is np.ldexp else vals))
    out = ufunc(*args)
    plain = ufunc(*[a.value if isinstance(a, HyperDual) else a for a in args])
    np.testing.assert_array_equal(out.value, plain)  # the value is numpy's own, bit for bit
    assert_components(out, [plain, expected[:, 0], expected[:, 1], expected[:, 2]],
                      rtol=1e-11, what=name)
    # one scalar number at a time: the same as the array's elements
    for k, point in enumerate(points):
        scalar_args = [a[k] if isinstance(a, HyperDual) else a[k] for a in args]
        y = ufunc(*scalar_args)
        assert y.shape == ()
        np.testing.assert_allclose(components(y), [c[k] for c in components(out)],
                                   rtol=1e-14, atol=1e-300)


UNARY = [pytest.param(f, id=f.__name__) for f, r in RULES.items() if r.kind == "unary"]


@pytest.mark.parametrize("ufunc", UNARY)
def test_unary_rule_second_derivative_against_differences(ufunc):
    # f(HyperDual(x, 1, 1, 0)) = f + f' ε1 + f' ε2 + f'' ε1ε2, against central differences
    # of the plain function (no formula at all)
    x = np.array([p[0] for p in _points(ufunc, RULES[ufunc], count=4)])
    y = ufunc(HyperDual(x, 1.0, 1.0, 0.0))
    h = 1e-3
    d1 = (8 * (ufunc(x + h) - ufunc(x - h)) - (ufunc(x + 2 * h) - ufunc(x - 2 * h))) / (12 * h)
    d2 = (-ufunc(x + 2 * h) + 16 * ufunc(x + h) - 30 * ufunc(x) + 16 * ufunc(x - h)
          - ufunc(x - 2 * h)) / (12 * h * h)
    np.testing.assert_array_equal(y.value, ufunc(x))
    assert np.allclose(y.eps1, d1, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(y.eps1, y.eps2)
    assert np.allclose(y.eps1eps2, d2, rtol=1e-5, atol=1e-5), (y.eps1eps2, d2)
    # and the same numbers as the helpers (which also reach f'' through HyperDual / nested)
    for k in range(x.size):
        assert float(y.eps1eps2[k]) == pytest.approx(ad.derivative(ufunc, x[k], order=2),
                                                     rel=1e-12, abs=1e-12)


# --- arithmetic: classic numbers with each other, scalars and arrays ------------------------
OPERATIONS = {
    "a + b": lambda a, b: a + b, "a - b": lambda a, b: a - b, "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b, "a ** b": lambda a, b: a ** b,
    "a + 2.5": lambda a, b: a + 2.5, "2.5 - a": lambda a, b: 2.5 - a,
    "3 * a": lambda a, b: 3 * a, "a * 3": lambda a, b: a * 3, "2 / a": lambda a, b: 2 / a,
    "a / 4": lambda a, b: a / 4, "-a": lambda a, b: -a, "+a": lambda a, b: +a,
    "abs(-a)": lambda a, b: abs(-a), "a ** 2": lambda a, b: a ** 2,
    "a ** 3": lambda a, b: a ** 3, "a ** 2.5": lambda a, b: a ** 2.5,
    "a ** -1.5": lambda a, b: a ** -1.5, "2.0 ** a": lambda a, b: 2.0 ** a,
    "a * b - a / b + 1": lambda a, b: a * b - a / b + 1,
    "(a + b) ** 2 * a": lambda a, b: (a + b) ** 2 * a,
}


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_arithmetic_against_fike_reference(op):
    rng = np.random.default_rng(zlib.crc32(op.encode()))
    (a, ra), (b, rb) = random_pair(rng), random_pair(rng)
    f = OPERATIONS[op]
    assert_components(f(a, b), f(ra, rb).parts(), rtol=1e-12, what=op)


@pytest.mark.parametrize("fn", list(FIKE_FUNCTIONS), ids=lambda f: f.__name__)
def test_functions_against_fike_reference(fn):
    rng = np.random.default_rng(zlib.crc32(fn.__name__.encode()))
    a, ra = random_pair(rng)
    assert_components(fn(a), fike(fn, ra).parts(), rtol=1e-12, what=fn.__name__)
    # a composition: sin(exp(a) * a) / sqrt(a), each step through the reference
    y = fn(np.exp(a) * a) / np.sqrt(a)
    r = fike(fn, exp(ra) * ra) / fike(np.sqrt, ra)
    assert_components(y, r.parts(), rtol=1e-11, what=f"{fn.__name__} composed")
    assert_components(np.power(a, 1.7), (ra ** 1.7).parts(), rtol=1e-12)
    b, rb = random_pair(rng)
    assert_components(np.power(a, b), (ra ** rb).parts(), rtol=1e-12)


def test_arithmetic_with_arrays_broadcasts():
    rng = np.random.default_rng(3)
    a = HyperDual(rng.uniform(0.5, 2, (3, 1)), 1.0, rng.standard_normal((1, 4)), 0.5)
    ra = Fike(np.broadcast_to(a.value, (3, 4)), 1.0, np.broadcast_to(a.eps2, (3, 4)), 0.5)
    assert a.shape == (3, 4) and a.eps1.shape == (3, 4) and a.eps1eps2.shape == (3, 4)
    assert_components(a, ra.parts(), rtol=0.0)
    c = rng.standard_normal(4)  # a plain array constant, broadcast along the rows
    for op in (lambda x: x * c, lambda x: c * x, lambda x: x / c, lambda x: c / x,
               lambda x: x + c, lambda x: c - x, lambda x: x ** 2 * c):
        assert_components(op(a), op(ra).parts(), rtol=1e-12)
    row = HyperDual(rng.uniform(0.5, 2, 4), rng.standard_normal(4), 0.0, 1.0)
    rrow = Fike(row.value, row.eps1, 0.0, 1.0)
    assert_components(a * row, (ra * rrow).parts(), rtol=1e-12)
    assert (a * row).shape == (3, 4)
    with pytest.raises(ValueError):
        a + HyperDual(np.ones(3), 1.0, 0.0, 0.0)  # (3, 4) with (3,): numpy's broadcast error


def test_array_functions():
    rng = np.random.default_rng(4)
    a, ra = random_pair(rng, shape=(3, 4))

    def linear(func, *args, **kwargs):
        # linear in the array: each component is func of that component
        out = func(a, *args, **kwargs)
        want = [func(p, *args, **kwargs) for p in ra.parts()]
        assert_components(out, want, rtol=1e-13, what=func.__name__)

    linear(np.sum)
    linear(np.sum, axis=0)
    linear(np.mean, axis=1)
    linear(np.cumsum, axis=1)
    linear(np.transpose)
    linear(np.reshape, (4, 3))
    linear(np.ravel)
    linear(np.flip, axis=0)
    linear(np.diff, axis=1)
    linear(np.trace)
    linear(np.dot, rng.standard_normal(4))
    assert_components(a[1:, ::2], [p[1:, ::2] for p in ra.parts()], rtol=0.0)
    assert_components(np.concatenate([a, a[:1]]),
                      [np.concatenate([p, p[:1]]) for p in ra.parts()], rtol=0.0)
    assert_components(np.stack([a[0], a[1]]), [np.stack([p[0], p[1]]) for p in ra.parts()],
                      rtol=0.0)
    # nonlinear reductions against the reference, reduced by hand
    flat = [Fike(*(p[i, j] for p in ra.parts())) for i in range(3) for j in range(4)]
    prod = flat[0]
    for t in flat[1:]:
        prod = prod * t
    assert_components(np.prod(a), prod.parts(), rtol=1e-12)
    sq = sum((t * t for t in flat), Fike(0.0))
    assert_components(np.linalg.norm(a), (sq ** 0.5).parts(), rtol=1e-12)
    assert_components(np.sum(a * a), sq.parts(), rtol=1e-12)
    m = np.max(a, axis=1)  # the value's argmax carries its components
    idx = np.argmax(a.value, axis=1)
    assert_components(m, [p[np.arange(3), idx] for p in ra.parts()], rtol=0.0)
    w = np.where(a.value > 1.0, a ** 2, -a)
    want = [np.where(a.value > 1.0, q, r) for q, r in zip((ra ** 2).parts(), (-ra).parts())]
    assert_components(w, want, rtol=1e-13)
    # linear algebra (the dual-of-duals route) against ad.hessian's mixed entries
    A = rng.uniform(0.5, 2.0, (2, 2)) + 2 * np.eye(2)
    B = rng.standard_normal((2, 2))

    def logdet(x, y):
        return np.log(np.linalg.det(A + x * B + y * B.T @ B))
    z = logdet(HyperDual(0.3, 1.0, 0.0, 0.0), HyperDual(-0.2, 0.0, 1.0, 0.0))
    H = ad.hessian(lambda v: logdet(v[0], v[1]), np.array([0.3, -0.2]))
    assert float(z.eps1eps2) == pytest.approx(H[0, 1], rel=1e-12)


# --- the relation to the vectorized type ----------------------------------------------------
FUNCS = [
    lambda h: np.sin(h) * np.exp(h) / (1 + h ** 2),
    lambda h: np.log(h) ** 3 + np.sqrt(h) * np.arctan(h),
    lambda h: np.power(h, h) - np.hypot(h, np.cosh(h)),
    lambda h: np.sum(np.cumsum(np.tanh(h)) * h),
    lambda h: np.linalg.norm(h) * np.prod(h[:5]),
    lambda h: np.sort(h)[::2] * np.maximum(h[::2], 1.0),
    lambda h: np.where(h > 1, h ** 3, np.abs(h - 2)),
    lambda h: np.median(h) * np.std(h),
    lambda h: np.linalg.inv(h[:4].reshape(2, 2)),
    lambda h: h[:9].reshape(3, 3) @ h[10:19].reshape(3, 3),
    lambda h: np.linalg.det(h[:9].reshape(3, 3)),
    lambda h: np.linalg.eigh(h[:9].reshape(3, 3) + h[:9].reshape(3, 3).T)[0],
]


@pytest.mark.parametrize("k", range(len(FUNCS)))
def test_hessian_diagonal_never_reaches_the_components(k):
    # the vectorized type carries H[0,0], H[1,1]; the classic number drops ε1², ε2²: whatever
    # the diagonal holds (huge, inf, nan), value, eps1, eps2 and eps1eps2 of every result are
    # the same bits as the classic number's (whose diagonal starts at 0)
    rng = np.random.default_rng(k)
    x, e1, e2, e12 = rng.uniform(0.5, 2, 50), *rng.standard_normal((3, 50))
    f = FUNCS[k]
    classic = f(HyperDual(x, e1, e2, e12))
    for diag in (1e3 * rng.standard_normal((2, 50)), np.full((2, 50), np.inf),
                 np.full((2, 50), np.nan)):
        vec = HyperDual(x, np.stack([e1, e2], -1), np.stack([diag[0], e12, diag[1]], -1))
        with np.errstate(invalid="ignore", over="ignore"):
            other = f(vec)
        for got, want in zip(components(other), components(classic)):
            np.testing.assert_array_equal(got, want)


def test_seed_of_a_scalar_is_the_n1_case():
    # HyperDual.seed(x) of a scalar (value, g, h) stands for value + g ε1 + g ε2 + h ε1ε2:
    # the same four components as f(HyperDual(x, 1, 1, 0))
    for f in (FUNCS[0], FUNCS[1], FUNCS[2], lambda h: np.arcsinh(h) ** 2.5 / np.expm1(h)):
        s = f(HyperDual.seed(0.8))
        c = f(HyperDual(0.8, 1.0, 1.0, 0.0))
        assert s.n_directions == 1 and c.n_directions == 2
        np.testing.assert_allclose(components(s), components(c), rtol=1e-15, atol=0)
        assert float(s.eps1eps2) == float(s.hess[0])
        np.testing.assert_array_equal(s.eps1, s.eps2)


def test_seed_of_two_variables_is_two_classic_numbers():
    # HyperDual.seed([x, y]) holds HyperDual(x, 1, 0, 0) and HyperDual(y, 0, 1, 0)
    v = HyperDual.seed(np.array([1.3, 0.6]))
    x, y = HyperDual(1.3, 1.0, 0.0, 0.0), HyperDual(0.6, 0.0, 1.0, 0.0)
    for i, c in enumerate((x, y)):
        np.testing.assert_array_equal(components(v[i]), components(c))
    zs = _g(v[0], v[1])
    zc = _g(x, y)
    np.testing.assert_allclose(components(zs), components(zc), rtol=1e-15)
    # the classic eps1eps2 is the vectorized Hessian's mixed entry; its diagonal is the
    # part the classic algebra drops
    assert float(zs.eps1eps2) == float(zs.hessian()[0, 1])
    mixed = v[0] * HyperDual(2.0, 0.5, -1.0, 0.25)  # seeded and classic numbers combine
    assert_components(mixed, (Fike(1.3, 1.0, 0.0, 0.0) * Fike(2.0, 0.5, -1.0, 0.25)).parts(),
                      rtol=1e-15)


def test_components_of_the_constructor():
    h = HyperDual([1.0, 2.0], 3.0, [4.0, 5.0], 6.0)
    assert h.n_directions == 2 and h.shape == (2,)
    assert h.value.tolist() == [1.0, 2.0] and h.eps1.tolist() == [3.0, 3.0]
    assert h.eps2.tolist() == [4.0, 5.0] and h.eps1eps2.tolist() == [6.0, 6.0]
    assert h.grad.tolist() == [[3.0, 4.0], [3.0, 5.0]]
    assert h.hessian().tolist() == [[[0.0, 6.0], [6.0, 0.0]]] * 2
    # the caller's arrays are copied, not shared
    f = np.array([1.0, 2.0])
    g = HyperDual(f, f, f, f)
    f[0] = 9.0
    assert g.value[0] == 1.0 and g.eps1[0] == 1.0 and g.eps1eps2[0] == 1.0
    # dtypes: Python numbers take the array's float dtype; ints give float64
    assert HyperDual(np.float32(1.0), 1.0, 0, 0).dtype == np.float32
    assert HyperDual(np.ones(2, np.float32), 1.0, 1.0, 0.0).eps1eps2.dtype == np.float32
    assert HyperDual(1, 1, 0, 0).dtype == np.float64
    assert HyperDual(np.float16(1.0), 1.0, 1.0, 0.0).dtype == np.float32
    assert HyperDual(np.ones(2, np.float32), np.ones(2), 0.0, 0.0).dtype == np.float64
    # the vectorized signatures are unchanged
    v = HyperDual(np.array([1.0, 2.0]), np.eye(2))
    assert v.hess.tolist() == [[0.0] * 3] * 2
    v = HyperDual(value=np.array([1.0, 2.0]), grad=np.eye(2), hess=np.ones((2, 3)))
    assert v.hessian().tolist() == [[[1.0, 1.0], [1.0, 1.0]]] * 2
    # copies and pickles keep the four components
    z = np.exp(h) * h
    for other in (copy.copy(z), copy.deepcopy(z), pickle.loads(pickle.dumps(z))):
        np.testing.assert_array_equal(components(other), components(z))


def test_float32_components_against_float64():
    rng = np.random.default_rng(5)
    parts = [rng.uniform(0.5, 2.0, 8)] + list(rng.standard_normal((3, 8)))
    h32 = HyperDual(*(p.astype(np.float32) for p in parts))
    y32 = np.log1p(h32 * h32) / np.sqrt(h32)
    y64 = np.log1p(HyperDual(*parts) ** 2) / np.sqrt(HyperDual(*parts))
    assert y32.dtype == np.float32 and y32.eps1eps2.dtype == np.float32
    for a, b in zip(components(y32), components(y64)):
        assert np.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_numpy_only_kernels_agree(numpy_only):
    rng = np.random.default_rng(6)
    (a, ra), (b, rb) = random_pair(rng, shape=(40,)), random_pair(rng, shape=(40,))
    y = np.sin(a * b) / (1.0 + np.exp(a)) + np.sqrt(b) ** a
    r = fike(np.sin, ra * rb) / (1.0 + exp(ra)) + fike(np.sqrt, rb) ** ra
    assert_components(y, r.parts(), rtol=1e-12)


# --- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, error, match", [
    ((np.zeros(3), np.zeros(2), 0.0, 0.0), ValueError,
     r"must broadcast to one shape; got f \(3,\), eps1 \(2,\)"),
    ((1j, 1.0, 1.0, 0.0), TypeError, "complex .* component f is not supported"),
    ((1.0, 1.0, 1.0 + 2j, 0.0), TypeError, "complex .* component eps2"),
    (("a", 1.0, 1.0, 0.0), TypeError, "component f must be real numbers"),
    ((1.0, 1.0, 1.0, "x"), TypeError, "component eps1eps2 must be real numbers"),
    ((1.0, None, 1.0, 0.0), TypeError, "component eps1 must be real numbers"),
    ((1.0, [1.0, "b"], 1.0, 0.0), TypeError, "component eps1 must be real numbers"),
    ((np.ma.masked_array([1.0, 2.0], [0, 1]), 1.0, 1.0, 0.0), TypeError, "mask"),
    ((1.0, 1.0, 1.0), ValueError, r"four components: HyperDual\(f, eps1, eps2, eps1eps2\)"),
])
def test_bad_components(args, error, match):
    with pytest.raises(error, match=match) as info:
        HyperDual(*args)
    assert str(info.value).startswith("dualad: ")


def test_components_need_one_or_two_directions():
    h = np.sin(HyperDual.seed(np.array([1.0, 2.0, 3.0])))
    for name in ("eps1", "eps2", "eps1eps2"):
        with pytest.raises(ValueError, match=r"dualad: \.%s .* this HyperDual has 3: read "
                                             r"\.grad\[\.\.\., i\]" % name):
            getattr(h, name)


def test_mixing_with_other_direction_counts_is_refused():
    with pytest.raises(ValueError, match="dualad: cannot combine HyperDuals with"):
        HyperDual(1.0, 1.0, 1.0, 0.0) + HyperDual.seed(2.0)
