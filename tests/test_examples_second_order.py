"""Run the second-order examples and check the numbers they print.

Expected values are worked out here independently (by hand, or from the closed-form gradient
and Hessian of the Rosenbrock function); the examples' own "expected:" lines are not trusted,
only the computed ones are parsed.
"""
import ast

import numpy as np
import pytest
from _scripts import computed_lines, run_script


def run_example(name):
    return run_script(f"examples/{name}", timeout=120)


def computed_values(text):
    """{label: computed text} from blocks 'label / <source>: value / expected: ...'."""
    return computed_lines(text, sources=("dualad", "numeric", "plain"))


# --- hessian_appendix.py -----------------------------------------------------------------------
# f(x, y) = x^2 y + y + 2: f_xx = 2y, f_xy = 2x, f_yy = 0; at (3, 4): [[8, 6], [6, 0]]
HESS = [[8.0, 6.0], [6.0, 0.0]]
APPENDIX = {
    "derivative(x², 4, order=2)": 2.0,
    "derivative(derivative(x², ·), 4)": 2.0,
    "hessian(f, [3, 4])": HESS,
    "value_grad_hessian(f, [3, 4]): value": 42.0,
    "value_grad_hessian(f, [3, 4]): gradient": [24.0, 10.0],
    "value_grad_hessian(f, [3, 4]): Hessian": HESS,
    "f(HyperDual(3, 4)): value": 42.0,
    "f(HyperDual(3, 4)): gradient part": [24.0, 10.0],
    "f(HyperDual(3, 4)): packed Hessian part (xx, xy, yy)": [8.0, 6.0, 0.0],
    "f(HyperDual(3, 4)).hessian()": HESS,
    "hessian(f, [3, 4], method='nested')": HESS,
    "∂²f/∂x∂y by nesting derivative": 6.0,
    "∂²f/∂x² by derivative(order=2)": 8.0,
    "∂²f/∂y² by derivative(order=2)": 0.0,
    "jvp of jvp along x (∂f/∂x, then ∂²f/∂x²)": [24.0, 8.0],
}


@pytest.fixture(scope="module")
def appendix():
    return computed_values(run_example("hessian_appendix.py"))


@pytest.mark.parametrize("label", list(APPENDIX))
def test_appendix_values_are_exact(appendix, label):
    assert label in appendix, f"missing block {label!r}"
    got = ast.literal_eval(appendix[label])
    assert got == APPENDIX[label]  # exact: no tolerance


def test_appendix_finite_differences_are_only_close(appendix):
    fd = np.array(ast.literal_eval(appendix["second central differences, h = 0.0001"]))
    assert np.allclose(fd, HESS, atol=1e-5)
    err = float(appendix["max |hessian - central differences|"])
    assert 0.0 < err < 1e-5


# --- newton_rosenbrock.py ---------------------------------------------------------------------
def rosen(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosen_grad(x, y):
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def rosen_hess(x, y):
    return np.array([[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]])


@pytest.fixture(scope="module")
def newton():
    out = run_example("newton_rosenbrock.py")
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 6 and parts[0].isdigit():
            rows.append([int(parts[0])] + [float(p) for p in parts[1:]])
    return out, computed_values(out), rows


def test_newton_table_follows_the_closed_form_newton_iteration(newton):
    _, _, rows = newton
    assert rows and rows[0][1:3] == [-1.2, 1.0]
    assert [r[0] for r in rows] == list(range(len(rows)))
    for (k, x, y, f, g, t), nxt in zip(rows, rows[1:] + [None]):
        assert f == pytest.approx(rosen(x, y), rel=1e-3, abs=1e-300)
        assert g == pytest.approx(np.linalg.norm(rosen_grad(x, y)), rel=1e-3, abs=1e-12)
        if nxt is None:
            continue
        grad = rosen_grad(x, y)
        step = np.linalg.solve(rosen_hess(x, y), -grad)
        if grad @ step >= 0:
            step = -grad
        expected = np.array([x, y]) + t * step
        assert nxt[1:3] == pytest.approx(expected, rel=1e-9, abs=1e-12), k
        assert nxt[3] < f or nxt[3] == 0.0  # the line search only accepts decrease


def test_newton_converges_quadratically_to_one_one(newton):
    _, values, rows = newton
    assert ast.literal_eval(values["minimizer"]) == pytest.approx([1.0, 1.0], abs=1e-12)
    iterations = int(values["iterations"])
    assert iterations == len(rows) - 1 and 10 <= iterations <= 40
    assert float(values["f at the minimizer"]) <= 1e-20
    # the last full steps: |g_(k+1)| <= C |g_k|^2 (quadratic convergence), C from the
    # Hessian's conditioning at (1, 1)
    g = [r[4] for r in rows if r[4] > 0]
    assert g[-1] < 1e-8
    for before, after in zip(g[-4:-1], g[-3:]):
        assert after <= 100.0 * before ** 2, (before, after)
    assert all(r[5] == 1.0 for r in rows[-5:-1])  # full Newton steps near the minimum
    # exact Hessian at (1, 1): [[802, -400], [-400, 200]]
    assert ast.literal_eval(values["Hessian at the minimizer"]) == \
        rosen_hess(1.0, 1.0).tolist()
