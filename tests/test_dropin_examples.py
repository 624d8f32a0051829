"""The drop-in recipes in examples/ against independently computed values."""
import ast
import math
from pathlib import Path

import pytest
from _scripts import run_script

ROOT = Path(__file__).resolve().parents[1]


def run(name):
    out = {}
    for line in run_script(f"examples/{name}", timeout=300).splitlines():
        key, _, value = line.partition(": ")
        out[key] = ast.literal_eval(value)
    return out


def test_rk4_sensitivity():
    out = run("rk4_sensitivity.py")
    k, T, n = 0.8, 2.0, 200
    h = T / n
    z = -k * h
    # one RK4 step of y' = -k y multiplies y by R(z), the degree-4 Taylor polynomial of e^z
    R = 1 + z + z * z / 2 + z ** 3 / 6 + z ** 4 / 24
    dR_dk = (1 + z + z * z / 2 + z ** 3 / 6) * (-h)
    assert out["y(T)"] == pytest.approx(R ** n, rel=1e-13)
    assert out["dy(T)/dk"] == pytest.approx(n * R ** (n - 1) * dR_dk, rel=1e-12)
    assert out["dy(T)/dk"] == pytest.approx(-T * math.exp(-k * T), rel=1e-8)  # analytic


def test_newton_scalar():
    out = run("newton_scalar.py")
    g = lambda x: x - math.cos(x) - 0.5 * math.atan(x)  # noqa: E731
    lo, hi = 0.0, 2.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    assert out["root"] == pytest.approx(lo, abs=1e-15)
    assert abs(out["residual"]) < 1e-15
    assert out["steps"] <= 6  # quadratic convergence from 1.0


def test_control_flow():
    out = run("control_flow.py")
    assert out["collatz_like'(5.0)"] == 3 / 8          # 5/8 <= 0.75: 3 x / 8
    assert out["collatz_like'(7.0)"] == 2 * 7 / 64     # 7/8 > 0.75: (x / 8)^2
    # xs = [x, x², 3 - x, x/2 + 1] at 1.7 = [1.7, 2.89, 1.3, 1.85]: max x², min 3 - x,
    # middle two x and x/2 + 1
    x = 1.7
    want = (1 + 2 * x - 1 + 0.5) + 2 * x - (-1) + (1 + 0.5)
    assert out["stats'(1.7)"] == pytest.approx(want, rel=1e-15)


def test_scipy_minimize():
    pytest.importorskip("scipy")
    out = run("scipy_minimize.py")
    assert out["Newton-CG x"] == pytest.approx([1.0] * 4, abs=1e-8)
    assert out["Nelder-Mead x"] == pytest.approx([1.0] * 4, abs=1e-6)
    assert out["Newton-CG nfev"] < out["Nelder-Mead nfev"]


def test_scipy_stiff_ivp():
    pytest.importorskip("scipy")
    out = run("scipy_stiff_ivp.py")
    # published values for Robertson at t = 40 (e.g. SUNDIALS' cvRoberts_dns output)
    assert out["y(40)"] == pytest.approx([0.7158271, 9.185535e-6, 0.2841637], rel=1e-5)
    assert out["sum y(40)"] == pytest.approx(1.0, abs=1e-12)
    y2, y3 = 2e-5, 0.1
    want = [[-0.04, 1e4 * y3, 1e4 * y2],
            [0.04, -1e4 * y3 - 6e7 * y2, -1e4 * y2],
            [0.0, 6e7 * y2, 0.0]]
    for got_row, want_row in zip(out["jacobian at [1, 2e-5, 0.1]"], want):
        assert got_row == pytest.approx(want_row, rel=1e-14, abs=1e-14)
    assert out["success"] is True
