"""Finite-difference oracles, independent of dualad (plain numpy only)."""
import numpy as np

# 6th-order central difference: f'(x) ~ sum_k c_k (f(x + k h) - f(x - k h)) / h
_STENCIL = ((1, 45.0 / 60.0), (2, -9.0 / 60.0), (3, 1.0 / 60.0))


def fd_jacobian(f, x, h=1e-3):
    """Jacobian of the plain-numpy function ``f`` at ``x``, shape ``f(x).shape + x.shape``.

    Points closer than ``3 h`` to a kink of ``f`` give meaningless results: test inputs keep
    their distance (see ``separated``).
    """
    x = np.array(x, dtype=np.float64)
    y0 = np.asarray(f(x.copy()), dtype=np.float64)
    jac = np.zeros(y0.shape + x.shape)
    for i in np.ndindex(*x.shape):
        d = np.zeros(y0.shape)
        for k, c in _STENCIL:
            xp, xm = x.copy(), x.copy()
            xp[i] += k * h
            xm[i] -= k * h
            fp = np.asarray(f(xp), dtype=np.float64)
            fm = np.asarray(f(xm), dtype=np.float64)
            # equal values (also inf == inf, nan where both nan) contribute no difference
            diff = np.where((fp == fm) | (np.isnan(fp) & np.isnan(fm)), 0.0, fp - fm)
            d = d + c * diff
        jac[(Ellipsis,) + i] = d / h
    return jac


def separated(rng, shape, gap=0.05, scale=0.3):
    """Random values whose pairwise distances are at least ``gap`` (no ties, no kinks)."""
    size = int(np.prod(shape, dtype=np.int64))
    ranks = rng.permutation(size) - size / 2.0
    return (ranks * scale + rng.uniform(0.0, scale - gap, size)).reshape(shape)
