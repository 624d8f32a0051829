"""dualad.testing: check_grads catches wrong rules, passes right ones; the strategies.

The rule-table sweep at the end is the project's own use of the strategies: every smooth
entry of the table, at inputs drawn from its domain, checked by check_grads against finite
differences and the complex step, at first and second order.
"""
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dualad as ad
from dualad.rules.table import RULES
from dualad.testing import check_grads, default_tolerance
from dualad.testing.strategies import arrays_in, duals, well_conditioned


# --- correct functions pass --------------------------------------------------------------
CORRECT = {
    "scalar sin": (np.sin, 0.3),
    "vector": (lambda x: np.sin(x) * np.exp(-x[::-1]), [0.3, -1.2, 2.0]),
    "scalar-valued": (lambda x: np.sum(x ** 2 * np.log1p(x * x)), [0.5, -0.4, 1.5]),
    "matrix": (lambda x: np.linalg.solve(np.eye(3) + np.outer(x, x), np.tanh(x)),
               [0.2, 0.5, -0.3]),
    "2-d input": (lambda x: x @ x.T + np.cos(x).sum(), np.arange(6.0).reshape(2, 3) / 5),
    "near a domain boundary": (np.log, [0.02, 3.0]),
    "large scale": (lambda x: x ** 2.5, [0.5, 30.0, 1000.0]),
    "uses abs (no complex step)": (lambda x: np.abs(x) * x, [0.5, -1.0]),
    "fills a float array": (lambda x: _filled(x), [0.5, 1.5]),
    "dualad.math on a float": (lambda x: ad.math.exp(x) * ad.math.sin(x), 0.7),
}


def _filled(x):
    out = np.zeros_like(x)
    for i in range(len(x)):
        out[i] = np.sin(x[i]) * x[i - 1]
    return out


@pytest.mark.parametrize("name", CORRECT)
def test_correct_functions_pass(name):
    f, x = CORRECT[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning leaks out of the complex step
        check_grads(f, x)


@pytest.mark.parametrize("name", ["vector", "scalar-valued", "matrix"])
def test_correct_float32_functions_pass(name):
    f, x = CORRECT[name]
    check_grads(f, np.asarray(x, dtype=np.float32))


def test_default_tolerances_depend_on_dtype():
    assert default_tolerance(np.float64) < default_tolerance(np.float32)
    assert default_tolerance(np.float64, "cs") < default_tolerance(np.float64, "fd")


# --- wrong rules are caught --------------------------------------------------------------
def _sin_with(rule, style):
    f = ad.custom_jvp(lambda x: np.sin(x))
    if style == "defjvp":
        f.defjvp(lambda p, t: (f(p[0]), np.expand_dims(rule(p[0]), -1) * t[0]))
    else:
        f.defderiv(lambda x, ans: rule(x))
    return f


@pytest.mark.parametrize("style", ["defjvp", "defderiv"])
@pytest.mark.parametrize("modes", [("fd", "cs"), ("fd",), ("cs",)])
def test_a_wrong_custom_rule_is_caught(style, modes):
    bad = _sin_with(lambda x: -np.cos(x), style)   # the sign is wrong
    with pytest.raises(AssertionError) as info:
        check_grads(lambda x: bad(x) * x, [0.5, 1.0, 2.0], modes=modes)
    msg = str(info.value)
    assert msg.startswith("check_grads: order-1 derivative")
    for part in ("direction u[", "expected", "got", "abs error", "rel error", "at x ="):
        assert part in msg, part
    oracle = "complex step" if modes == ("cs",) else ""
    assert oracle in msg
    # the same rule written correctly passes
    check_grads(lambda x: _sin_with(np.cos, style)(x) * x, [0.5, 1.0, 2.0], modes=modes)


def test_the_worst_entry_is_reported():
    # wrong only for the last element: the report points at it, with the right numbers
    bad = ad.custom_jvp(lambda x: np.sin(x))
    bad.defjvp(lambda p, t: (bad(p[0]), np.expand_dims(np.cos(p[0]) * np.array(
        [1.0, 1.0, 1.5]), -1) * t[0]))
    x = np.array([0.1, 0.2, 0.3])
    with pytest.raises(AssertionError) as info:
        check_grads(bad, x, modes="fd", order=1, n_directions=1)
    msg = str(info.value)
    assert "output index (2,)" in msg
    u = np.random.default_rng(0).standard_normal(3)
    u /= np.linalg.norm(u)
    expected = np.cos(0.3) * u[2]
    lines = dict(line.strip().split(None, 1) for line in msg.splitlines()[1:3])
    assert float(lines["expected"]) == pytest.approx(expected, rel=1e-9)
    assert float(lines["got"]) == pytest.approx(1.5 * expected, rel=1e-12)
    assert f"abs error {abs(0.5 * expected):.3g}, rel error 0.5 " in msg


def test_a_rule_right_at_first_order_but_not_differentiable_is_caught_at_second():
    # the rule's derivative uses the plain value (stop_gradient), so it is constant for the
    # next order: first derivatives are right, second derivatives are 0 instead of -sin
    bad = _sin_with(lambda x: np.cos(ad.stop_gradient(x)), "defjvp")
    check_grads(lambda x: bad(x) * x, [0.5, 1.0], order=1)
    with pytest.raises(AssertionError, match="order-2 derivative"):
        check_grads(lambda x: bad(x) * x, [0.5, 1.0], order=2)
    with pytest.raises(AssertionError, match=r"order 2: hessian \(HyperDual\)"):
        check_grads(lambda x: np.sum(bad(x)), [0.5, 1.0], order=2)


def test_a_wrong_primal_is_caught():
    bad = ad.custom_jvp(np.sin)
    bad.defjvp(lambda p, t: (np.sin(p[0]) + 1e-3, np.expand_dims(np.cos(p[0]), -1) * t[0]))
    with pytest.raises(AssertionError, match="value of f on duals vs f on plain input"):
        check_grads(bad, [0.1, 0.2], order=1)


def test_a_wrong_registered_ufunc_rule_is_caught():
    numba = pytest.importorskip("numba")
    cube = numba.vectorize(["float64(float64)"])(lambda x: x * x * x)
    ad.register_ufunc(cube, lambda x, a: 3.0 * x)   # should be 3 x^2
    try:
        with pytest.raises(AssertionError, match="order-1"):
            check_grads(cube, [0.5, 2.0])
    finally:
        ad.unregister(cube)
    ad.register_ufunc(cube, lambda x, a: 3.0 * x * x)
    try:
        check_grads(cube, [0.5, 2.0])
        check_grads(lambda x: np.sum(cube(x)), [0.5, 2.0])
    finally:
        ad.unregister(cube)


def test_float32_wrong_rule_is_caught():
    bad = _sin_with(lambda x: 1.05 * np.cos(x), "defderiv")
    with pytest.raises(AssertionError, match="rtol 0.002"):
        check_grads(bad, np.array([0.5, 1.0], dtype=np.float32))


def test_tolerances_can_be_widened():
    slightly = _sin_with(lambda x: 1.001 * np.cos(x), "defderiv")
    with pytest.raises(AssertionError):
        check_grads(slightly, [0.5, 1.0])
    check_grads(slightly, [0.5, 1.0], rtol=1e-2)


def test_finite_differences_that_do_not_converge_are_reported():
    with pytest.raises(AssertionError, match="do not converge"):
        check_grads(lambda x: np.floor(x) + x, [1.0, 2.5])   # a jump at the point


def test_argument_errors():
    with pytest.raises(ValueError, match="orders 0, 1 and 2"):
        check_grads(np.sin, 0.5, order=3)
    with pytest.raises(ValueError, match="modes"):
        check_grads(np.sin, 0.5, modes=("rev",))
    with pytest.raises(ValueError, match="n_directions"):
        check_grads(np.sin, 0.5, n_directions=0)
    with pytest.raises(TypeError):
        check_grads(np.sin, "a")


def test_importable_without_hypothesis():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'hypothesis':\n"
        "            raise ImportError('blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np\n"
        "from dualad.testing import check_grads\n"
        "check_grads(np.sin, [0.5, 1.0])\n"
        "try:\n"
        "    import dualad.testing.strategies\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ImportError: dualad.testing.strategies needs hypothesis" in out.stdout


# --- the strategies ----------------------------------------------------------------------
@given(duals(shape=st.tuples(st.integers(1, 3)), n=st.integers(1, 3)))
def test_duals_strategy_shapes_and_product_rule(x):
    assert x.partials.shape == x.shape + (x.n_directions,)
    assert np.all(np.abs(x.value) <= 10) and np.all(np.isfinite(x.partials))
    y = np.sin(x) * x
    expected = (np.cos(x.value) * x.value + np.sin(x.value))[..., None] * x.partials
    assert np.allclose(y.partials, expected, rtol=1e-12, atol=1e-12)


@given(duals(shape=(2, 2), n=2, dtype=np.float32))
def test_duals_strategy_float32(x):
    assert x.dtype == np.float32 and x.partials.dtype == np.float32
    assert (x * x).dtype == np.float32


@given(arrays_in((0.1, 0.7), shape=(5,), dtype=np.float32))
def test_arrays_in_bounds_are_respected_in_float32(x):
    assert x.dtype == np.float32 and np.all((x >= np.float32(0.1)) & (x <= np.float32(0.7)))


def test_strategy_argument_errors():
    with pytest.raises(ValueError, match="lo < hi"):
        arrays_in((1.0, 0.0))
    with pytest.raises(ValueError, match="no rule"):
        well_conditioned(np.sort)


@given(well_conditioned(np.polygamma if hasattr(np, "polygamma") else
                        next(u for u in RULES if getattr(u, "__name__", "") == "polygamma"),
                        shape=(3,)))
def test_well_conditioned_draws_integers_for_constant_arguments(args):
    n, x = args
    assert n.dtype.kind == "i" and np.all((1 <= n) & (n <= 3))
    assert np.all((0.2 <= x) & (x <= 4.0))


def test_well_conditioned_for_a_custom_rule():
    f = ad.custom_jvp(lambda x: np.sqrt(x) * x)
    f.defderiv(lambda x, ans: 1.5 * np.sqrt(x), domain=(0.5, 2.0))

    @settings(max_examples=10)
    @given(well_conditioned(f, shape=(3,)))
    def check(args):
        (x,) = args
        assert np.all((0.5 <= x) & (x <= 2.0))
        check_grads(f, x)
    check()


# --- the rule table, swept with the strategies and check_grads ---------------------------
# Piecewise functions whose domain in the table straddles a kink or a jump (the conventions
# there are tested in test_conventions.py); zero-derivative rules are trivially 0.
_KINKS = {"absolute", "fabs", "maximum", "minimum", "fmax", "fmin", "heaviside", "copysign",
          "hypot"}  # hypot: the cone point at (0, 0)
SMOOTH = sorted((u for u, r in RULES.items()
                 if r.kind != "zero" and u.__name__ not in _KINKS),
                key=lambda u: u.__name__)


def _live_arguments(rule):
    return [i for i, d in enumerate(rule.derivs) if d is not None]


@pytest.mark.parametrize("ufunc", SMOOTH, ids=lambda u: u.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_rule_table_with_check_grads(ufunc, dtype):
    rule = RULES[ufunc]

    @settings(max_examples=4, deadline=None)
    @given(well_conditioned(ufunc, shape=(3,), dtype=dtype))
    def check(args):
        for i in _live_arguments(rule):
            def f(v, i=i):
                return ufunc(*(v if j == i else a for j, a in enumerate(args)))
            check_grads(f, args[i], order=2)
    check()
