"""scipy.optimize.least_squares on Broyden's tridiagonal system with a sparse dualad Jacobian.

Broyden's tridiagonal function (Moré, Garbow & Hillstrom 1981, problem 30):

    F_i(x) = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1,    x_0 = x_{n+1} = 0,    x(0) = -1,

with n = 10⁴ unknowns and a zero residual at the solution. Its Jacobian is tridiagonal: 3
colours, so ``ad.SparseJacobian`` computes it from one forward pass with 3 directions, and
``least_squares(method="trf", tr_solver="lsmr")`` uses it as a sparse matrix. The same solve
with scipy's finite differences (``jac="2-point"`` with the pattern from
``ad.jacobian_sparsity``) is printed beside it.

    python examples/sparse_least_squares.py             # n = 10000
    python examples/sparse_least_squares.py --n 200     # small and quick

Needs scipy: pip install "dualad[sparse]".
"""
import argparse
import time

import numpy as np
from scipy.optimize import least_squares

import dualad as ad


def broyden(x):
    padded = np.concatenate([[0.0], x, [0.0]])
    return (3.0 - 2.0 * x) * x - padded[:-2] - 2.0 * padded[2:] + 1.0


def main(n):
    x0 = -np.ones(n)
    print(f"Broyden tridiagonal function, n = {n}")
    t0 = time.perf_counter()
    pattern = ad.jacobian_sparsity(broyden, x0)
    J = ad.SparseJacobian(broyden, x0, pattern)
    print(f"colors: {J.n_colors}")
    print(f"detection and coloring: {(time.perf_counter() - t0) * 1e3:.1f} ms")
    t0 = time.perf_counter()
    J(x0)  # the first call of a process also compiles dualad's kernels: not timed below
    t1 = time.perf_counter()
    J(x0)
    print(f"Jacobian: first call {(t1 - t0) * 1e3:.1f} ms, then "
          f"{(time.perf_counter() - t1) * 1e3:.2f} ms")

    t0 = time.perf_counter()
    exact = least_squares(broyden, x0, jac=J, method="trf", tr_solver="lsmr",
                          xtol=1e-15, ftol=1e-15, gtol=1e-15)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    fd = least_squares(broyden, x0, jac="2-point", jac_sparsity=pattern, method="trf",
                       tr_solver="lsmr", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    t_fd = time.perf_counter() - t0
    for name, res, t in (("dualad jac", exact, t_exact), ("2-point + jac_sparsity", fd, t_fd)):
        print(f"{name}: status {res.status}, {res.nfev} residual calls, {res.njev} Jacobians, "
              f"max |F(x)| = {np.max(np.abs(res.fun)):.2e}, {t:.2f} s")
    print(f"success: {exact.success!r}")
    print(f"max |F(x)|: {float(np.max(np.abs(exact.fun)))!r}")
    ends = [float(exact.x[0]), float(exact.x[n // 2]), float(exact.x[-1])]
    print(f"x[0], x[n // 2], x[-1]: {ends!r}")
    print(f"max |x_dualad - x_2-point|: {float(np.max(np.abs(exact.x - fd.x)))!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of unknowns")
    main(parser.parse_args().n)
