"""The stiff 2-D Brusselator with scipy's BDF and Radau and a sparse dualad Jacobian.

The classic reaction-diffusion test problem (after Hairer & Wanner, Solving ODEs II, IV.10):
on an N x N periodic grid of the unit square, two species u, v,

    u' = 1 + u²v - 4.4 u + α Δu + f(x, y, t),    v' = 3.4 u - u²v + α Δv,    α = 0.1,

with the 5-point Laplacian, u(0) = 22 y (1 - y)^1.5, v(0) = 27 x (1 - x)^1.5, and a source
f = 5 in a small disc switched on at t = 1.1. N = 72 gives n = 2N² = 10368 unknowns; each row of
the Jacobian has 6 nonzeros, so a column colouring needs about a dozen directions instead of n.

``ad.SparseJacobian`` detects the pattern, colours it and keeps both: ``jac=lambda t, y: J(y)``
is then one forward pass with ``J.n_colors`` directions per call. The same integrations with
scipy's own finite-difference Jacobian (given the pattern that ``ad.jacobian_sparsity`` found)
must reach the same states to the solver's tolerance.

    python examples/sparse_brusselator_ivp.py            # N = 72, n = 10368 (a few minutes)
    python examples/sparse_brusselator_ivp.py --N 12     # small and quick

Needs scipy: pip install "dualad[sparse]".
"""
import argparse
import time

import numpy as np
import scipy.sparse
from scipy.integrate import solve_ivp

import dualad as ad

ALPHA, T_END, RTOL, ATOL = 0.1, 1.5, 1e-6, 1e-8


def grid(N):
    x = np.arange(N) / N
    return np.meshgrid(x, x, indexing="ij")


def brusselator(N):
    """``(rhs(t, y), y0)`` of the 2-D Brusselator on an N x N grid, y = [u.ravel(), v.ravel()]."""
    X, Y = grid(N)
    source = np.where((X - 0.3) ** 2 + (Y - 0.6) ** 2 <= 0.1 ** 2, 5.0, 0.0)
    scale = ALPHA * N * N  # α / h², h = 1 / N

    def laplacian(w):
        return scale * (np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1)
                        + np.roll(w, -1, 1) - 4.0 * w)

    def rhs(t, y):
        u, v = y[:N * N].reshape(N, N), y[N * N:].reshape(N, N)
        uuv = u * u * v
        du = 1.0 + uuv - 4.4 * u + laplacian(u) + (source if t >= 1.1 else 0.0)
        dv = 3.4 * u - uuv + laplacian(v)
        return np.concatenate([du.ravel(), dv.ravel()])

    y0 = np.concatenate([(22.0 * Y * (1.0 - Y) ** 1.5).ravel(),
                         (27.0 * X * (1.0 - X) ** 1.5).ravel()])
    return rhs, y0


def analytic_jacobian(N, y):
    """The Jacobian written out by hand: reaction terms plus α/h² times the periodic Laplacian."""
    m = N * N
    u, v = y[:m], y[m:]
    ring = scipy.sparse.diags_array([np.ones(N - 1), np.ones(N - 1), [1.0], [1.0]],
                                    offsets=[1, -1, N - 1, 1 - N], shape=(N, N))
    eye = scipy.sparse.eye_array(N)
    lap = ALPHA * N * N * (scipy.sparse.kron(ring, eye) + scipy.sparse.kron(eye, ring)
                           - 4.0 * scipy.sparse.eye_array(m))
    diag = scipy.sparse.diags_array
    return scipy.sparse.block_array(
        [[diag(2 * u * v - 4.4) + lap, diag(u * u)],
         [diag(3.4 - 2 * u * v), diag(-u * u) + lap]], format="csr")


def main(N):
    rhs, y0 = brusselator(N)
    n = y0.size
    print(f"2-D Brusselator, N = {N}: n = {n} unknowns")

    t0 = time.perf_counter()
    pattern = ad.jacobian_sparsity(lambda y: rhs(0.0, y), y0)
    t_detect = time.perf_counter() - t0
    # The source term does not depend on y, so the Jacobian of rhs(0, ·) is the Jacobian at
    # every t, and one prepared object serves the whole integration.
    t0 = time.perf_counter()
    J = ad.SparseJacobian(lambda y: rhs(0.0, y), y0, pattern)
    t_color = time.perf_counter() - t0
    print(f"nonzeros: {pattern.nnz} ({pattern.nnz / n:.0f} per row)")
    print(f"colors: {J.n_colors}")
    print(f"detection: {t_detect * 1e3:.1f} ms, coloring: {t_color * 1e3:.1f} ms")

    y_test = np.random.default_rng(0).uniform(0.5, 4.0, n)
    err = abs(J(y_test) - analytic_jacobian(N, y_test)).max()
    print(f"max |J - analytic Jacobian|: {float(err)!r}")
    J(y_test)
    t0 = time.perf_counter()
    for _ in range(5):
        J(y_test)
    print(f"one Jacobian call: {(time.perf_counter() - t0) / 5 * 1e3:.2f} ms")

    jac_time = [0.0]

    def jac(t, y):
        t0 = time.perf_counter()
        out = J(y)
        jac_time[0] += time.perf_counter() - t0
        return out

    worst = 0.0
    for method in ("BDF", "Radau"):
        jac_time[0] = 0.0
        t0 = time.perf_counter()
        exact = solve_ivp(rhs, (0.0, T_END), y0, method=method, jac=jac, rtol=RTOL, atol=ATOL)
        t_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        fd = solve_ivp(rhs, (0.0, T_END), y0, method=method, jac_sparsity=pattern,
                       rtol=RTOL, atol=ATOL)
        t_fd = time.perf_counter() - t0
        # the two runs take different steps; their end states agree to the tolerance
        gap = np.max(np.abs(exact.y[:, -1] - fd.y[:, -1]) / (ATOL + RTOL * np.abs(fd.y[:, -1])))
        worst = max(worst, gap)
        print(f"{method}, dualad jac: success {exact.success}, {exact.nfev} rhs calls, "
              f"{exact.njev} Jacobians ({jac_time[0]:.2f} s), {exact.nlu} LU, "
              f"{t_exact:.2f} s")
        print(f"{method}, finite differences + jac_sparsity: success {fd.success}, "
              f"{fd.nfev} rhs calls, {fd.njev} Jacobians, {fd.nlu} LU, {t_fd:.2f} s")
        print(f"{method} success: {exact.success and fd.success!r}")
        print(f"{method} max |difference| / (atol + rtol |y|): {float(gap)!r}")
        m = N * N
        print(f"{method} mean u, mean v at t = {T_END}: "
              f"{[float(exact.y[:m, -1].mean()), float(exact.y[m:, -1].mean())]!r}")
    print(f"agree to the tolerance: {bool(worst < 50)!r}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--N", type=int, default=72, help="grid points per side (n = 2N²)")
    main(parser.parse_args().N)
