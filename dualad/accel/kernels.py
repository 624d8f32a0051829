"""Numba kernels for the tangent algebra's hot loops.

The chain rule on large arrays is memory-bound: with numpy, ``p*dx + q*dy`` plus the
0 * inf guard is five passes and three fresh arrays. These kernels do it in one pass into
one output. Same arithmetic (no fastmath, no contraction), so results equal the numpy path
bit for bit; ``core.partials`` falls back to numpy for small, broadcast or non-contiguous data.
"""
import numba
import numpy as np

from .. import config
from .._compile import cached
from ..core.partials import times
from .loops import readonly

# THE guarded product of the chain rule, compiled (dualad.core.partials.times); below
# config.CHAIN_KERNEL_MIN_SIZE partials entries numpy's per-call overhead is smaller than
# numba's, so numpy runs the same product there
guarded_times = cached(numba.njit, nogil=True)(times)


@cached(numba.njit, nogil=True)
def _chain1_flat(p, d, guard, out):
    for i in range(p.shape[0]):
        out[i] = guarded_times(p[i], d[i], guard)


@cached(numba.njit, nogil=True)
def _chain1_wide(p, d, guard, out):
    m, n = p.shape
    for i in range(m):
        di = d[i]
        for k in range(n):
            out[i, k] = guarded_times(p[i, k], di, guard)


@cached(numba.njit, nogil=True)
def _chain2_flat(p, dx, q, dy, guard, out):
    for i in range(p.shape[0]):
        out[i] = guarded_times(p[i], dx[i], guard) + guarded_times(q[i], dy[i], guard)


@cached(numba.njit, nogil=True)
def _chain2_wide(p, dx, q, dy, guard, out):
    m, n = p.shape
    for i in range(m):
        a = dx[i]
        b = dy[i]
        for k in range(n):
            out[i, k] = guarded_times(p[i, k], a, guard) + guarded_times(q[i, k], b, guard)


@cached(numba.njit, nogil=True)
def _chain_same_flat(p, dx, dy, guard, out):
    for i in range(p.shape[0]):
        out[i] = guarded_times(p[i], dx[i] + dy[i], guard)


@cached(numba.njit, nogil=True)
def _chain_same_wide(p, dx, dy, guard, out):
    m, n = p.shape
    for i in range(m):
        d = dx[i] + dy[i]
        for k in range(n):
            out[i, k] = guarded_times(p[i, k], d, guard)


# one direction (every jvp) gets a flat loop that vectorizes; many get the nested loop. The
# inputs go in read-only (loops.readonly): one compiled version per kernel
def chain1(p, d, guard, out):
    """out = p * d (guarded); p, out of shape (m, n), d of shape (m,)."""
    p, d = readonly(p), readonly(d)
    if p.shape[1] == 1:
        _chain1_flat(p[:, 0], d, guard, out[:, 0])
    else:
        _chain1_wide(p, d, guard, out)


def chain2(p, dx, q, dy, guard, out):
    """out = p * dx + q * dy (guarded)."""
    p, dx, q, dy = readonly(p), readonly(dx), readonly(q), readonly(dy)
    if p.shape[1] == 1:
        _chain2_flat(p[:, 0], dx, q[:, 0], dy, guard, out[:, 0])
    else:
        _chain2_wide(p, dx, q, dy, guard, out)


def chain_same(p, dx, dy, guard, out):
    """out = p * (dx + dy): f(x, x) with one partials array (x * x)."""
    p, dx, dy = readonly(p), readonly(dx), readonly(dy)
    if p.shape[1] == 1:
        _chain_same_flat(p[:, 0], dx, dy, guard, out[:, 0])
    else:
        _chain_same_wide(p, dx, dy, guard, out)


def fusable(partials, derivs):
    """Whether chain1/chain2 apply: plain contiguous same-dtype float arrays, no broadcasting."""
    p0 = partials[0]
    # (float32 and float64 only: numba has no longdouble, nor float16 arithmetic)
    if (not isinstance(p0, np.ndarray) or p0.size < config.CHAIN_KERNEL_MIN_SIZE
            or p0.dtype.char not in "fd"):
        return False
    shape, dtype = p0.shape[:-1], p0.dtype
    for p in partials:
        if not (isinstance(p, np.ndarray) and p.dtype == dtype and p.shape == p0.shape
                and p.flags.c_contiguous):
            return False
    for d in derivs:
        if not (isinstance(d, np.ndarray) and d.dtype == dtype and d.shape == shape
                and d.flags.c_contiguous):
            return False
    return True


# --- HyperDual: gradient and packed-Hessian updates in one pass ---------------------------
def hyper_chain1(g, h, d1, d2, guard, out_g, out_h):
    """f(u): g' = f' g, h' = f' h + f'' (g g^T) on the upper triangle (h may have 0 columns)."""
    _hyper_chain1(*map(readonly, (g, h, d1, d2)), guard, out_g, out_h)


def hyper_chain2(gx, hx, gy, hy, fx, fy, fxx, fxy, fyy, guard, out_g, out_h):
    """f(u, w): both arguments varying; the mixed term f_uw (g_u g_w^T + g_w g_u^T)."""
    _hyper_chain2(*map(readonly, (gx, hx, gy, hy, fx, fy, fxx, fxy, fyy)), guard, out_g, out_h)


@cached(numba.njit, nogil=True)
def _hyper_chain1(g, h, d1, d2, guard, out_g, out_h):
    m, n = g.shape
    has_h = h.shape[1] > 0
    for s in range(m):
        a = d1[s]
        b = d2[s]
        for i in range(n):
            out_g[s, i] = guarded_times(g[s, i], a, guard)
        idx = 0
        for i in range(n):
            gi = g[s, i]
            for j in range(i, n):
                v = guarded_times(gi * g[s, j], b, guard)
                if has_h:
                    v += guarded_times(h[s, idx], a, guard)
                out_h[s, idx] = v
                idx += 1


@cached(numba.njit, nogil=True)
def _hyper_chain2(gx, hx, gy, hy, fx, fy, fxx, fxy, fyy, guard, out_g, out_h):
    m, n = gx.shape
    has_hx = hx.shape[1] > 0
    has_hy = hy.shape[1] > 0
    for s in range(m):
        a, b = fx[s], fy[s]
        c, d, e = fxx[s], fxy[s], fyy[s]
        for i in range(n):
            out_g[s, i] = guarded_times(gx[s, i], a, guard) + guarded_times(gy[s, i], b, guard)
        idx = 0
        for i in range(n):
            ui = gx[s, i]
            wi = gy[s, i]
            for j in range(i, n):
                uj = gx[s, j]
                wj = gy[s, j]
                v = (guarded_times(ui * uj, c, guard) + guarded_times(ui * wj + wi * uj, d, guard)
                     + guarded_times(wi * wj, e, guard))
                if has_hx:
                    v += guarded_times(hx[s, idx], a, guard)
                if has_hy:
                    v += guarded_times(hy[s, idx], b, guard)
                out_h[s, idx] = v
                idx += 1
