"""scipy.special's ufuncs: dualad's rules for them (``dualad/rules/scipy_special.py``).

Every rule is checked against oracles that do not use dualad: central differences (8th
order) of scipy's own function for first derivatives, the same stencil nested two and three
times for second and third derivatives (so no oracle reuses a rule under test), and the
values against scipy's own call on the plain values, bit for bit. The rules also go through
the generated checks of ``dualad.testing`` (``well_conditioned`` and ``check_grads``), as the
table's own do in ``test_testing.py``. The lines are parametrized by their path in
scipy.special; the collection installs nothing (other modules' tables stay as they are), the
``installed`` fixture does.
"""
import functools
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import dualad as ad  # noqa: E402
from dualad import DualNumber  # noqa: E402
from dualad.rules.scipy_special import SCIPY_RULES, install, rule_for  # noqa: E402
from dualad.rules.table import RULES  # noqa: E402

from _scripts import ROOT  # noqa: E402

N = 4  # points per rule and test
#: 8th-order central difference: f'(x) ~ sum_k c_k (f(x + k h) - f(x - k h)) / h
STENCIL = ((1, 4.0 / 5.0), (2, -1.0 / 5.0), (3, 4.0 / 105.0), (4, -1.0 / 280.0))


def run_python(source):
    """``python -c source`` in a fresh interpreter, the repository first on the path."""
    return subprocess.run([sys.executable, "-c", source], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def resolve(path):
    return functools.reduce(getattr, path.split("."), sc)


PATHS = [p for p in SCIPY_RULES if isinstance(resolve(p), np.ufunc)]
SMOOTH = [p for p in PATHS if SCIPY_RULES[p].kind != "zero"]


@pytest.fixture(scope="module")
def installed():
    return install()


# --- the oracles: scipy's own function, differenced --------------------------------------------
def d1(g, x, h):
    """g'(x) by the 8th-order central stencil (elementwise; g plain float64)."""
    return sum(c * (np.asarray(g(x + k * h), np.float64) - np.asarray(g(x - k * h), np.float64))
               for k, c in STENCIL) / h


def step(rule, i):
    lo, hi = rule.domain[i]
    return 2.5e-3 * (hi - lo)


def live(rule):
    return [i for i, d in enumerate(rule.derivs) if d is not None]


def points(path, rule, margin=0.0):
    """``N`` points per argument inside the rule's domain (``margin`` steps from its ends);
    integers for the arguments that must be constants."""
    rng = np.random.default_rng(zlib.crc32(path.encode()))
    args = []
    for i, (lo, hi) in enumerate(rule.domain):
        if rule.derivs[i] is None and rule.kind != "zero":
            args.append(rng.integers(int(np.ceil(lo)), int(np.floor(hi)) + 1, N))
        else:
            pad = margin * step(rule, i)
            args.append(rng.uniform(lo + pad, hi - pad, N))
    return args


def partial_fn(ufunc, args, i):
    """The plain function of argument ``i`` with the others fixed (elementwise)."""
    return lambda t: ufunc(*[t if j == i else a for j, a in enumerate(args)])


def assert_close(got, want, rtol, what, noise=0.0):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    bound = rtol * (1.0 + np.abs(want)) + 4.0 * np.abs(noise)
    err = np.abs(got - want)
    assert np.all(err <= bound), f"{what}: got {got}, want {want}, err {err}, bound {bound}"


def fd_noise(g, x, h):
    """An estimate of the stencil's own error: how much it moves when h is halved."""
    return d1(g, x, h) - d1(g, x, h / 2)


# --- first derivatives and values ------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("path", PATHS)
def test_values_and_first_derivatives(installed, path, dtype):
    ufunc, rule = resolve(path), SCIPY_RULES[path]
    assert installed[ufunc] is rule and RULES[ufunc] is rule
    args = points(path, rule, margin=4)
    # (integer constants stay integers in float64; in float32 they are float32 as well, as
    # an int64 order would make scipy take its float64 loop)
    args = [a.astype(dtype) if a.dtype.kind == "f" or dtype != np.float64 else a
            for a in args]
    for i in live(rule) or [0]:
        inputs = list(args)
        inputs[i] = DualNumber(args[i], np.ones(N, dtype)[:, None])
        with np.errstate(all="ignore"):
            res = ufunc(*inputs)
            plain = ufunc(*args)
        assert isinstance(res, DualNumber)
        np.testing.assert_array_equal(res.value, plain, err_msg=path)  # scipy's, bit for bit
        assert res.value.dtype == plain.dtype == dtype, path
        assert res.partials.dtype == plain.dtype
        if rule.kind == "zero":
            assert np.all(res.partials == 0.0)
            continue
        pts = [np.asarray(a, np.float64) for a in args]
        g, h = partial_fn(ufunc, pts, i), step(rule, i)
        rtol = 1e-9 if dtype == np.float64 else 2e-5
        assert_close(res.partials[:, 0], d1(g, pts[i], h), rtol, f"{path}' in arg {i}",
                     fd_noise(g, pts[i], h))


@pytest.mark.parametrize("path", [p for p in SMOOTH if len(live(SCIPY_RULES[p])) == 2])
def test_both_arguments_dual_at_once(installed, path):
    ufunc, rule = resolve(path), SCIPY_RULES[path]
    x, y = points(path, rule, margin=4)
    res = ufunc(DualNumber(x, np.array([[1.0, 0.0]] * N)),
                DualNumber(y, np.array([[0.0, 1.0]] * N)))
    np.testing.assert_array_equal(res.value, ufunc(x, y))
    for i, a in enumerate((x, y)):
        g = partial_fn(ufunc, [x, y], i)
        assert_close(res.partials[:, i], d1(g, a, step(rule, i)), 1e-9, f"{path} d/d{i}",
                     fd_noise(g, a, step(rule, i)))
        # a 0-d dual against a Python float, and against a constant array (broadcasting)
        other = [x, y][1 - i]
        for const in (float(other[0]), other):
            ins = [DualNumber(a[0], 1.0), const][::1 if i == 0 else -1]
            r = ufunc(*ins)
            pts = [a[0], const][::1 if i == 0 else -1]
            np.testing.assert_array_equal(r.value, ufunc(*pts))
            assert r.partials.shape == np.shape(r.value) + (1,)
            g = partial_fn(ufunc, pts, i)
            assert_close(r.partials[..., 0], d1(g, a[0], step(rule, i)), 1e-9,
                         f"{path} d/d{i}, 0-d", fd_noise(g, a[0], step(rule, i)))


# --- second and third derivatives ------------------------------------------------------------
@pytest.mark.parametrize("path", SMOOTH)
def test_second_derivatives(installed, path):
    """derivative(order=2) (nested scalar duals) and the HyperDual hessian, against the
    stencil nested twice on scipy's function."""
    ufunc, rule = resolve(path), SCIPY_RULES[path]
    args = points(path, rule, margin=8)
    idx = live(rule)
    for m in range(N):
        pt = [float(a[m]) for a in args]

        def f(z):  # of the live arguments
            return ufunc(*[z[idx.index(j)] if j in idx else c for j, c in enumerate(pt)])

        z0 = np.array([pt[j] for j in idx])
        hs = [step(rule, j) for j in idx]
        want = np.empty((len(idx), len(idx)))
        for a in range(len(idx)):
            for b in range(len(idx)):
                ea, eb = np.eye(len(idx))[a], np.eye(len(idx))[b]
                want[a, b] = d1(lambda s: d1(lambda t: f(z0 + t * ea + s * eb), 0.0, hs[a]),
                                0.0, hs[b])
        got = ad.hessian(f, z0)
        assert_close(got, want, 1e-6, f"{path}'' (hessian) at {pt}")
        for a, j in enumerate(idx):
            g = partial_fn(ufunc, pt, j)
            assert_close(ad.derivative(g, pt[j], order=2), want[a, a], 1e-6,
                         f"{path}'' (derivative, order 2) in arg {j} at {pt}")
    # an array of points at once: the hessian of the sum is diagonal
    j = idx[-1]
    g = partial_fn(ufunc, args, j)
    H = ad.hessian(lambda v: np.sum(g(v)), args[j])
    want = [d1(lambda s: d1(partial_fn(ufunc, [float(a[m]) for a in args], j), s,
                            step(rule, j)), float(args[j][m]), step(rule, j))
            for m in range(N)]
    assert_close(np.diag(H), want, 1e-6, f"{path}'' (hessian of a sum)")
    assert np.all(H[~np.eye(N, dtype=bool)] == 0.0)


@pytest.mark.parametrize("path", SMOOTH)
def test_third_derivatives(installed, path):
    """derivative(order=3) (Taylor mode) against the stencil nested three times."""
    ufunc, rule = resolve(path), SCIPY_RULES[path]
    args = points(path, rule, margin=12)
    for j in live(rule):
        for m in range(2):
            pt = [float(a[m]) for a in args]
            g, h = partial_fn(ufunc, pt, j), step(rule, j)
            want = d1(lambda r: d1(lambda s: d1(g, s, h), r, h), pt[j], h)
            got = ad.derivative(g, pt[j], order=3)
            assert_close(got, want, 1e-5, f"{path}''' in arg {j} at {pt}")
            # nested duals (the route Taylor mode falls back to) agree
            nested = ad.derivative(lambda t: ad.derivative(lambda s: ad.derivative(g, s), t),
                                   np.float64(pt[j]))
            assert_close(got, nested, 1e-12, f"{path}''' Taylor vs nested duals")


# --- the generated checks of dualad.testing ----------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("path", SMOOTH)
def test_rules_with_check_grads(installed, path, dtype):
    hypothesis = pytest.importorskip("hypothesis")
    from dualad.testing import check_grads
    from dualad.testing.strategies import well_conditioned
    ufunc = resolve(path)

    @hypothesis.settings(max_examples=3, deadline=None)
    @hypothesis.given(well_conditioned(ufunc, shape=(3,), dtype=dtype))
    def check(args):
        for i in live(SCIPY_RULES[path]):
            def f(v, i=i):
                return ufunc(*(v if j == i else a for j, a in enumerate(args)))
            check_grads(f, args[i], order=2)
    check()


# --- conventions and hard points ---------------------------------------------------------------
def test_i1_at_subnormal_x():
    # i1'(x) = 1/2 + 3x²/16 + 5x⁴/384 + 7x⁶/18432 + ... (the series of (i0 + iv(2, x)) / 2;
    # scipy's iv(2, x) is NaN at subnormal x)
    x = np.array([5e-324, -5e-324, 1e-310, 0.0, 1e-300, 1e-3])
    slope = ad.jvp(sc.i1, x, np.ones_like(x))[1]
    series = 0.5 + 3.0 * x**2 / 16.0 + 5.0 * x**4 / 384.0 + 7.0 * x**6 / 18432.0
    np.testing.assert_allclose(slope, series, rtol=1e-15)
    assert ad.derivative(sc.i1, 5e-324, order=2) == 0.0  # (i1'' = 3x/8 + ...: odd)


def test_xlogy_at_x_zero():
    # xlogy(0, y) = 0 for every y: constant in y there; d/dx = log(y)
    for y in (0.0, 0.5, 3.0):
        assert ad.derivative(lambda t: sc.xlogy(0.0, t), y) == 0.0
        assert ad.derivative(lambda t: sc.xlogy(0.0, t), y, order=2) == 0.0
        assert ad.derivative(lambda t: sc.xlogy(t, y), 0.0) == (np.log(y) if y else -np.inf)
    # the mixed derivative at x = 0 < y is 1/y, both ways round (the convention only acts
    # where y = 0 too)
    H = ad.hessian(lambda z: sc.xlogy(z[0], z[1]), np.array([0.0, 2.0]))
    assert_close(H, [[0.0, 0.5], [0.5, -0.0]], 1e-15, "xlogy hessian at (0, 2)")
    H = ad.hessian(lambda z: sc.xlog1py(z[0], z[1]), np.array([0.0, 1.0]))
    assert_close(H, [[0.0, 0.5], [0.5, 0.0]], 1e-15, "xlog1py hessian at (0, 1)")
    assert ad.derivative(lambda t: sc.xlog1py(0.0, t), -1.0) == 0.0
    for f in (sc.rel_entr, sc.kl_div):
        g = ad.jvp(lambda z: f(z[0], z[1]), np.array([0.0, 0.0]), np.array([0.0, 1.0]))[1]
        assert np.isfinite(g), f
    assert ad.derivative(lambda t: sc.rel_entr(0.0, t), 2.0) == 0.0
    assert ad.derivative(lambda t: sc.kl_div(0.0, t), 2.0) == 1.0
    assert ad.derivative(sc.entr, 0.0) == np.inf


def test_edges_give_infinite_slopes():
    with np.errstate(all="ignore"):
        for f, x in ((sc.logit, 0.0), (sc.logit, 1.0), (sc.ndtri, 0.0), (sc.ndtri, 1.0),
                     (sc.erfinv, -1.0), (sc.erfinv, 1.0)):
            assert ad.derivative(f, x) == np.inf, (f, x)
        assert ad.derivative(sc.erfcinv, 0.0) == -np.inf


def test_exponentially_scaled_bessel_at_zero_and_below():
    # i0e = exp(-|x|) I0(x): slopes -1 and +1 either side of 0; the convention takes their mean
    assert ad.derivative(sc.i0e, 0.0) == 0.0
    assert ad.derivative(sc.i1e, 0.0) == 0.5
    x = np.array([-2.5, -0.7, -0.3])
    for f in (sc.i0e, sc.i1e, sc.i0, sc.i1, lambda t: sc.ive(1.5, -t) + sc.iv(2.0, t)):
        assert_close(ad.jvp(f, x, np.ones(3))[1], d1(f, x, 1e-3), 1e-9, "bessel below 0")


def test_far_tails_have_no_cancellation():
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    ndtr = lambda t: mp.ncdf(t)  # noqa: E731
    for x in (-1e4, -300.0, -30.0, -5.0, 0.5, 5.0, 30.0):
        want = float(mp.npdf(x) / ndtr(x))  # log_ndtr' = phi / Phi
        assert_close(ad.derivative(sc.log_ndtr, x), want, 1e-14, f"log_ndtr' at {x}")
    for x in (0.5, 5.0, 11.999, 12.001, 30.0, 1e3, 1e6):
        m = mp.mpf(x)
        want = float(2 * m * mp.exp(m * m) * mp.erfc(m) - 2 / mp.sqrt(mp.pi))
        assert_close(ad.derivative(sc.erfcx, x), want, 1e-13 * abs(want), f"erfcx' at {x}")
    for x in (-20.0, -3.0, 20.0, 40.0):
        want = float(mp.exp(-x) / (1 + mp.exp(-x)) ** 2)  # expit' without 1 - expit(x)
        assert_close(ad.derivative(sc.expit, x), want, 1e-14 * want, f"expit' at {x}")
    for y in (-700.0, -50.0, -1.0, -0.01):
        a = sc.ndtri_exp(y)
        want = float(ndtr(a) / mp.npdf(a))  # 1 / log_ndtr'(ndtri_exp(y))
        assert_close(ad.derivative(sc.ndtri_exp, y), want, 1e-13 * want, f"ndtri_exp' at {y}")


def test_orders_are_constants():
    for f, args in ((sc.jv, (1.5, 2.0)), (sc.kv, (0.5, 1.0)), (sc.gammainc, (2.0, 1.0)),
                    (sc.boxcox, (2.0, 0.5))):
        k = 0 if f is not sc.boxcox else 1
        dual = [DualNumber(a, 1.0) if i == k else a for i, a in enumerate(args)]
        with pytest.raises(TypeError, match=rf"scipy\.special\.{f.__name__} cannot be "
                                            "differentiated with respect to this argument"):
            f(*dual)
    # non-integer orders and negative arguments of integer orders work too
    for v, x in ((2.5, 1.3), (0.3, 0.7), (3.0, -1.2)):
        g = lambda t: sc.jv(v, t)  # noqa: E731
        assert_close(ad.derivative(g, x), d1(g, x, 1e-3), 1e-9, f"jv({v}, .)' at {x}")


def test_scipy_functions_built_on_the_ufuncs():
    # scipy.special.zeta(s, q) and softplus are Python functions over ufuncs with rules
    g = lambda q: sc.zeta(3.0, q)  # noqa: E731
    assert_close(ad.derivative(g, 1.5), d1(g, 1.5, 1e-3), 1e-10, "zeta(3, q)'")
    assert ad.derivative(sc.softplus, 0.3) == pytest.approx(sc.expit(0.3), rel=1e-15)
    assert ad.derivative(sc.psi, 1.5) == pytest.approx(sc.polygamma(1, 1.5), rel=1e-15)
    assert ad.derivative(sc.digamma, 1.5, order=2) == pytest.approx(sc.polygamma(2, 1.5),
                                                                   rel=1e-14)


def test_large_arrays_take_the_same_numbers(installed):
    # accel's routes (fused kernels, deferred chains) on large data: the numpy path's bits
    rng = np.random.default_rng(5)
    x = rng.uniform(0.3, 3.0, 8192)
    for f in (sc.ndtr, sc.gammaln, lambda t: sc.jv(1.0, t), lambda t: sc.xlogy(t, t + 1.0)):
        val, tan = ad.jvp(f, x, np.ones_like(x))
        parts = [ad.jvp(f, x[i:i + 64], np.ones(64)) for i in range(0, x.size, 64)]
        np.testing.assert_array_equal(val, np.concatenate([p[0] for p in parts]))
        np.testing.assert_array_equal(tan, np.concatenate([p[1] for p in parts]))
        g = ad.gradient(lambda v: np.sum(f(v) * v), x)
        np.testing.assert_array_equal(g, np.concatenate(
            [ad.gradient(lambda v: np.sum(f(v) * v), x[i:i + 64]) for i in range(0, x.size, 64)]))


# --- the table itself ------------------------------------------------------------------------
def test_every_line_names_a_ufunc_of_this_scipy():
    missing = [p for p in SCIPY_RULES if not isinstance(resolve(p), np.ufunc)]
    assert not missing, f"not ufuncs in scipy {sc.__name__}: {missing}"
    for p in PATHS:  # rule_for recognises the ufuncs by their own name
        assert resolve(p).__name__ == p.rpartition(".")[2], p
    assert rule_for(sc.digamma) is rule_for(sc.psi) is not None


def test_the_rules_are_installed_lazily():
    """In a fresh process, scipy.special's rules reach the table only when one of its ufuncs
    first meets a perturbation, by any route; importing dualad imports no scipy.special.
    (numba itself imports the scipy package: scipy.special is what dualad would load.)"""
    script = textwrap.dedent("""
        import sys, numpy as np, numba
        import dualad as ad
        from dualad.rules.table import RULES
        assert "scipy.special" not in sys.modules
        ad.derivative(np.sin, 1.0, order=3); ad.hessian(lambda v: np.sum(np.tanh(v)), [1.0])

        @numba.vectorize(["float64(float64)"])
        def ndtr(x):                       # a ufunc named like one of scipy's
            return x
        try:
            ndtr(ad.DualNumber(1.0, 1.0))
        except TypeError as err:
            assert "register_ufunc" in str(err), err
        assert "scipy.special" not in sys.modules
        import scipy.special as sc
        assert sc.ndtr not in RULES and sc.gammaln not in RULES
        x = 0.7
        got = {ROUTE}
        assert sc.ndtr in RULES and sc.gammaln in RULES
        assert abs(got - {WANT}) <= 1e-12 * abs({WANT}), (got, {WANT})
        try:                               # registering over scipy's rule is refused
            ad.register_ufunc(sc.erf, lambda x, a: x)
        except ValueError as err:
            assert "already has a derivative rule" in str(err), err
        else:
            raise AssertionError("registered over a built-in rule")
        print("ok")
    """)
    routes = {
        "ad.derivative(sc.gammaln, x)": "float(sc.psi(x))",
        "float(ad.hessian(lambda v: np.sum(sc.gammaln(v)), np.array([x]))[0, 0])":
            "float(sc.polygamma(1, x))",
        "ad.derivative(sc.gammaln, x, order=3)": "float(sc.polygamma(2, x))",
    }
    for route, want in routes.items():
        out = run_python(script.replace("{ROUTE}", route).replace("{WANT}", want))
        assert out.returncode == 0 and out.stdout.strip() == "ok", (route, out.stderr[-2000:])


# --- ufuncs without a rule ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cube():
    numba = pytest.importorskip("numba")

    @numba.vectorize(["float64(float64)"])
    def cube(x):
        return x * x * x
    return cube


def test_unknown_ufuncs_are_named_and_say_how_to_add_a_rule(installed, cube):
    x = DualNumber(np.array([1.0, 2.0]), np.ones((2, 1)))
    with pytest.raises(TypeError, match=r"dualad: scipy\.special\.struve is not supported for "
                                        r"DualNumber.*register_ufunc\(scipy\.special\.struve, "
                                        r"d_x, d_y\).*None for an argument"):
        sc.struve(1.0, x)
    name = f"{cube.__module__}.cube"
    for run in (lambda: cube(x), lambda: ad.derivative(cube, 1.0),
                lambda: ad.hessian(lambda v: np.sum(cube(v)), np.ones(2)),
                lambda: ad.derivative(cube, 1.0, order=3)):
        with pytest.raises(TypeError, match=rf"dualad: {name} is not supported for DualNumber"
                                            rf".*register_ufunc\({name}, lambda x, ans: "):
            run()
    with pytest.raises(TypeError, match=r"scipy\.special\.airy .*custom_jvp"):
        sc.airy(x)  # four outputs: no line of the table can hold it
    with pytest.raises(TypeError, match=r"numpy\.gcd is not supported for DualNumber \(it is "
                                        "defined for integers"):
        np.gcd(x, x)
