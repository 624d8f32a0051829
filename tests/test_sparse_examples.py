"""The sparse examples (examples/sparse_*.py), run at small sizes, against independent values.

The references here are computed by the test itself: the Brusselator's state from an
integration with scipy's Radau at tight tolerances and a hand-written Jacobian (and the
Jacobian itself by complex steps), Broyden's system by a dense Newton iteration with the
hand-differentiated Jacobian, the Bratu problem from its closed-form solution. The examples'
own checks are not trusted, only the numbers they compute.
"""
import ast
import runpy
from pathlib import Path

import numpy as np
import pytest
from _scripts import run_script

pytest.importorskip("scipy")

import dualad as ad  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(name, *args):
    """``{key: value}`` of the example's ``key: python literal`` lines."""
    out = {}
    for line in run_script(f"examples/{name}", *args, timeout=300).splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        try:
            out[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            pass  # a descriptive line (timings, counts in prose)
    return out


def example(name):
    return runpy.run_path(str(ROOT / "examples" / name), run_name="example_module")


# --- 2-D Brusselator with solve_ivp ------------------------------------------------------------
ALPHA = 0.1


def brusselator_reference(N, t_end):
    """Our own rhs and Jacobian of the 2-D Brusselator, integrated tightly with Radau."""
    from scipy.integrate import solve_ivp
    import scipy.sparse as sp
    h = 1.0 / N
    x = np.arange(N) * h
    X, Y = np.meshgrid(x, x, indexing="ij")
    disc = ((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.01).ravel()
    # the periodic Laplacian as a matrix, from the index arithmetic of the stencil
    idx = np.arange(N * N).reshape(N, N)
    rows = np.tile(idx.ravel(), 5)
    cols = np.concatenate([idx.ravel()] + [np.roll(idx, s, a).ravel()
                                           for a in (0, 1) for s in (1, -1)])
    vals = np.concatenate([np.full(N * N, -4.0), np.ones(4 * N * N)]) * ALPHA / h ** 2
    L = sp.csr_array((vals, (rows, cols)), shape=(N * N, N * N))
    m = N * N

    def rhs(t, y):
        u, v = y[:m], y[m:]
        return np.concatenate([1 + u * u * v - 4.4 * u + L @ u + 5.0 * disc * (t >= 1.1),
                               3.4 * u - u * u * v + L @ v])

    def jac(t, y):
        u, v = y[:m], y[m:]
        d = sp.diags_array
        return sp.block_array([[d(2 * u * v - 4.4) + L, d(u * u)],
                               [d(3.4 - 2 * u * v), d(-u * u) + L]], format="csc")

    y0 = np.concatenate([(22 * Y * (1 - Y) ** 1.5).ravel(), (27 * X * (1 - X) ** 1.5).ravel()])
    sol = solve_ivp(rhs, (0.0, t_end), y0, method="Radau", jac=jac, rtol=1e-11, atol=1e-12)
    assert sol.success
    return sol.y[:m, -1].mean(), sol.y[m:, -1].mean()


def test_brusselator_ivp_example():
    N = 8
    out = run("sparse_brusselator_ivp.py", "--N", str(N))
    assert 5 <= out["colors"] <= 12  # 6 nonzeros per row; the bound: <= 12
    assert out["max |J - analytic Jacobian|"] <= 1e-12 * ALPHA * N * N * 10
    assert out["BDF success"] is True and out["Radau success"] is True
    mean_u, mean_v = brusselator_reference(N, 1.5)
    for method in ("BDF", "Radau"):
        got = out[f"{method} mean u, mean v at t = 1.5"]
        assert got == pytest.approx([mean_u, mean_v], rel=1e-4), method
        # dualad's Jacobian and scipy's finite differences reach the same state
        assert out[f"{method} max |difference| / (atol + rtol |y|)"] < 50
    assert out["agree to the tolerance"] is True


def test_brusselator_jacobian_by_complex_steps():
    mod = example("sparse_brusselator_ivp.py")
    N = 5
    rhs, y0 = mod["brusselator"](N)
    n = y0.size
    y = np.random.default_rng(3).uniform(0.5, 3.0, n)
    J = ad.SparseJacobian(lambda v: rhs(0.0, v), y0)
    h = 1e-30
    cs = np.stack([rhs(0.0, y + 1j * h * e).imag / h for e in np.eye(n)], axis=1)
    got = J(y)
    assert got.shape == (n, n)
    np.testing.assert_allclose(got.toarray(), cs, rtol=1e-13, atol=1e-13)
    assert got.nnz == 6 * n  # the pattern holds exactly the stencil's entries
    # the prepared object is reused at a new point without detecting again
    y2 = y[::-1].copy()
    cs2 = np.stack([rhs(0.0, y2 + 1j * h * e).imag / h for e in np.eye(n)], axis=1)
    np.testing.assert_allclose(J(y2).toarray(), cs2, rtol=1e-13, atol=1e-13)


# --- least_squares on Broyden's tridiagonal function -------------------------------------------
def broyden_newton(n):
    """Broyden's tridiagonal system solved by dense Newton with the hand-written Jacobian."""
    x = -np.ones(n)
    for _ in range(50):
        xp = np.concatenate([[0.0], x, [0.0]])
        F = (3 - 2 * x) * x - xp[:-2] - 2 * xp[2:] + 1
        Jd = np.diag(3 - 4 * x) - np.diag(np.ones(n - 1), -1) - 2 * np.diag(np.ones(n - 1), 1)
        step = np.linalg.solve(Jd, -F)
        x = x + step
        if np.max(np.abs(step)) < 1e-15:
            break
    return x


def test_least_squares_example():
    n = 200
    out = run("sparse_least_squares.py", "--n", str(n))
    assert out["colors"] == 3
    assert out["success"] is True
    want = broyden_newton(n)
    assert out["x[0], x[n // 2], x[-1]"] == pytest.approx([want[0], want[n // 2], want[-1]],
                                                          abs=1e-12)
    # in the interior the solution is the constant root of 1 - 2c² = 0
    assert out["x[0], x[n // 2], x[-1]"][1] == pytest.approx(-np.sqrt(0.5), abs=1e-12)
    assert out["max |F(x)|"] < 1e-12
    assert out["max |x_dualad - x_2-point|"] < 1e-10


def test_broyden_jacobian_is_the_hand_written_one():
    broyden = example("sparse_least_squares.py")["broyden"]
    n = 50
    x = np.random.default_rng(5).standard_normal(n)
    J = ad.SparseJacobian(broyden, np.zeros(n))
    want = np.diag(3 - 4 * x) - np.diag(np.ones(n - 1), -1) - 2 * np.diag(np.ones(n - 1), 1)
    np.testing.assert_allclose(J(x).toarray(), want, rtol=1e-15, atol=1e-15)
    assert J.n_colors == 3


# --- Newton on the Bratu problem ------------------------------------------------------------------
def bratu_closed_form(x, lam=1.0):
    from scipy.optimize import brentq
    theta = brentq(lambda t: t - np.sqrt(2 * lam) * np.cosh(t / 4), 0.0, 4.0)
    return -2.0 * np.log(np.cosh((x - 0.5) * theta / 2) / np.cosh(theta / 4))


def test_newton_example():
    n = 199  # odd: x = 1/2 is a grid point
    out = run("sparse_newton.py", "--n", str(n))
    h = 1.0 / (n + 1)
    assert out["colors"] == 3
    assert out["steps"] <= 6
    steps = out["|delta| per step"]
    # quadratic convergence: each step about the square of the one before, until round-off
    for prev, cur in zip(steps, steps[1:]):
        if prev > 1e-7:
            assert cur <= 0.2 * prev ** 2, steps
    assert steps[-1] < 1e-13
    assert out["max |F(u)|"] < 1e-8
    assert out["max u"] == pytest.approx(bratu_closed_form(0.5), abs=h * h)
    assert out["max |u - closed form|"] <= h * h  # second differences: O(h²)
