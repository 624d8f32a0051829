"""Newton's method on the discretised Bratu problem with a sparse dualad Jacobian.

The Bratu problem u'' + λ e^u = 0 on (0, 1), u(0) = u(1) = 0, λ = 1, on n = 10⁴ interior
points with second differences: F(u) = (u_{i-1} - 2 u_i + u_{i+1}) / h² + λ e^{u_i} = 0. The
Jacobian is tridiagonal (3 colours); ``ad.SparseJacobian`` is prepared once and each Newton
step solves J δ = -F with ``scipy.sparse.linalg.spsolve``. Newton converges quadratically:
the printed ratio |δ_k| / |δ_{k-1}|² stays bounded while |δ_k| squares.

The continuous solution is known in closed form, u(x) = -2 log(cosh((x - 1/2) θ/2) /
cosh(θ/4)) with θ = sqrt(2λ) cosh(θ/4) (the smaller root), and the discrete one is within
O(h²) of it.

    python examples/sparse_newton.py            # n = 10000
    python examples/sparse_newton.py --n 200    # small and quick

Needs scipy: pip install "dualad[sparse]".
"""
import argparse
import time

import numpy as np
from scipy.sparse.linalg import spsolve

import dualad as ad

LAM = 1.0


def bratu(n):
    h = 1.0 / (n + 1)

    def F(u):
        padded = np.concatenate([[0.0], u, [0.0]])
        return (padded[:-2] - 2.0 * u + padded[2:]) / (h * h) + LAM * np.exp(u)

    return F


def closed_form(x, lam=LAM):
    lo, hi = 0.0, 4.0  # θ = sqrt(2λ) cosh(θ/4): the smaller root, by bisection
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid < np.sqrt(2 * lam) * np.cosh(mid / 4) else (lo, mid)
    theta = (lo + hi) / 2
    return -2.0 * np.log(np.cosh((x - 0.5) * theta / 2) / np.cosh(theta / 4))


def main(n):
    F = bratu(n)
    u = np.zeros(n)
    t0 = time.perf_counter()
    J = ad.SparseJacobian(F, u)
    print(f"Bratu problem, n = {n}, lambda = {LAM}")
    print(f"colors: {J.n_colors}")
    print(f"detection and coloring: {(time.perf_counter() - t0) * 1e3:.1f} ms")

    steps, residuals, t_jac, t_solve = [], [], [], 0.0
    for k in range(1, 21):
        t0 = time.perf_counter()
        value, jacobian = J.value_and_jacobian(u)
        t_jac.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        delta = spsolve(jacobian.tocsc(), -value)
        t_solve += time.perf_counter() - t0
        u = u + delta
        steps.append(float(np.max(np.abs(delta))))
        residuals.append(float(np.max(np.abs(F(u)))))
        ratio = f", |δ_k| / |δ_k-1|² = {steps[-1] / steps[-2] ** 2:.3g}" if k > 1 else ""
        print(f"  step {k}: |δ|_inf = {steps[-1]:.3e}, |F(u)|_inf = {residuals[-1]:.3e}{ratio}")
        if steps[-1] < 1e-13:
            break
    # the first call of a process also compiles dualad's kernels
    print(f"Jacobian: first call {t_jac[0] * 1e3:.1f} ms, then {np.median(t_jac[1:]) * 1e3:.2f} ms "
          f"per call; spsolve: {t_solve / k * 1e3:.2f} ms per step")
    x = np.arange(1, n + 1) / (n + 1)
    print(f"steps: {k!r}")
    print(f"|delta| per step: {steps!r}")
    print(f"max |F(u)|: {residuals[-1]!r}")
    print(f"max u: {float(u.max())!r}")
    print(f"max |u - closed form|: {float(np.max(np.abs(u - closed_form(x))))!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of interior points")
    main(parser.parse_args().n)
