"""numpy.linalg on duals: forward-mode rules on the stacked partials.

Layout: the partials of a matrix ``A`` of shape ``(..., M, N)`` have shape ``(..., M, N, n)``.
Every rule folds the ``n`` directions into the matrix axes, so one LAPACK / BLAS call per
matrix of the stack serves all directions: ``A^{-1} dA`` is one ``solve`` with ``N * n``
right-hand sides, ``dA B`` one GEMM of ``(M * n, N) @ (N, L)``. No loop over directions.

Values may be duals of a lower tag (nested duals, higher derivatives): every rule is written
with numpy calls, which dispatch back here, so each rule also differentiates itself.
A plain operand contributes no partials and no work.

Non-smooth and degenerate points (documented in the README table):

- ``det`` uses the adjugate (from the SVD), so it is exact at singular matrices too.
- ``slogdet`` at a singular matrix: the derivative of log|det| is infinite; nan is returned
  for every direction that moves the matrix (0 for a zero tangent).
- ``cholesky`` and ``eigh``/``eigvalsh`` read one triangle, like numpy: the tangent is
  symmetrized from that triangle, so derivatives match finite differences of numpy.
- ``eigh`` / ``svd`` singular vectors at repeated eigen/singular values are not
  differentiable: their derivatives are inf/nan there, never a finite guess. Eigenvalue
  derivatives at repeated eigenvalues are the diagonal of ``V^T dA V`` (one basis choice;
  only symmetric functions of a repeated cluster, such as its sum, have a derivative).
- ``pinv`` and ``lstsq`` differentiate along perturbations that keep the rank (exact for
  full-rank inputs, the usual case).
- ``norm`` of a zero vector has derivative 0 (the NaN-safe chain rule of ``sqrt`` at 0).
- ``eig`` / ``eigvals`` of a matrix with complex or repeated eigenvalues raise a ValueError
  (duals are real; a repeated eigenvalue of a non-symmetric matrix has no derivative).
"""
import warnings
from typing import Any, NoReturn, Tuple

import numpy as np

from .functions import UNSUPPORTED, _zero_derivative, implements, with_value
from .partials import accumulate, primal, result, split, split_all, top_tag
from .dual import DualNumber

LinAlgError = np.linalg.LinAlgError
_NoValue = np._NoValue
_EighResult = type(np.linalg.eigh(np.eye(1)))
_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
_SVDResult = type(np.linalg.svd(np.eye(1)))
_QRResult = type(np.linalg.qr(np.eye(1)))


# =========================================================================================
# layout helpers: matrices (..., M, N), partials (..., M, N, n)
# =========================================================================================
def _mT(x: Any) -> Any:
    """Matrix transpose of the last two axes (cheap for duals too)."""
    nd = np.ndim(x)
    return np.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _pT(p: Any) -> Any:
    """Transpose of each direction's matrix: (..., M, N, n) -> (..., N, M, n)."""
    nd = np.ndim(p)
    return np.transpose(p, tuple(range(nd - 3)) + (nd - 2, nd - 3, nd - 1))


def _lmul(b: Any, p: Any) -> Any:
    """``B @ P`` for every direction: one GEMM with ``L * n`` columns."""
    m, l, n = p.shape[-3:]
    out = np.matmul(b, np.reshape(p, p.shape[:-3] + (m, l * n)))
    return np.reshape(out, out.shape[:-1] + (l, n))


def _rmul(p: Any, b: Any) -> Any:
    """``P @ B`` for every direction: one GEMM with ``K * n`` rows."""
    k, m, n = p.shape[-3:]
    nd = np.ndim(p)
    q = np.transpose(p, tuple(range(nd - 3)) + (nd - 3, nd - 1, nd - 2))  # (..., K, n, M)
    out = np.matmul(np.reshape(q, q.shape[:-3] + (k * n, m)), b)
    out = np.reshape(out, out.shape[:-2] + (k, n, out.shape[-1]))
    nd = np.ndim(out)
    return np.transpose(out, tuple(range(nd - 3)) + (nd - 3, nd - 1, nd - 2))


def _lsolve(a: Any, p: Any) -> Any:
    """``A^{-1} P`` for every direction: one solve with ``L * n`` right-hand sides."""
    m, l, n = p.shape[-3:]
    out = np.linalg.solve(a, np.reshape(p, p.shape[:-3] + (m, l * n)))
    return np.reshape(out, out.shape[:-1] + (l, n))


def _rsolve(p: Any, a: Any) -> Any:
    """``P A^{-1}`` for every direction, as ``(A^{-T} P^T)^T``."""
    return _pT(_lsolve(_mT(a), _pT(p)))


def _trace_prod(b: Any, p: Any) -> Any:
    """``tr(B P)`` for every direction: one GEMV over the flattened matrix."""
    m, n = p.shape[-2], p.shape[-1]
    bt = np.reshape(_mT(b), np.shape(b)[:-2] + (1, m * m))
    return np.matmul(bt, np.reshape(p, p.shape[:-3] + (m * m, n)))[..., 0, :]


def _pdiag(p: Any) -> Any:
    """Diagonal of each direction's matrix: (..., M, M, n) -> (..., M, n)."""
    return np.einsum("...iin->...in", p)


def _dtype(x: Any) -> np.dtype:
    return np.result_type(primal(x), np.float32)


def _sym_lower(p: Any) -> Any:
    """The tangent numpy sees when it reads only the lower triangle: tril + strict tril^T."""
    m = p.shape[-2]
    lower = np.tril(np.ones((m, m), dtype=_dtype(p)))[..., None]
    strict = np.tril(np.ones((m, m), dtype=_dtype(p)), -1)[..., None]
    return p * lower + _pT(p * strict)


def _check_square(a: Any, name: str) -> None:
    shape = np.shape(a)
    if len(shape) < 2:
        raise LinAlgError(f"dualad: numpy.linalg.{name}: {len(shape)}-dimensional array "
                          "given; the array must be at least two-dimensional")
    if shape[-1] != shape[-2]:
        raise LinAlgError(f"dualad: numpy.linalg.{name}: the last 2 dimensions must be "
                          f"square, got shape {shape}")


def _check_matrix(a: Any, name: str) -> None:
    if np.ndim(a) < 2:
        raise LinAlgError(f"dualad: numpy.linalg.{name}: {np.ndim(a)}-dimensional array "
                          "given; the array must be at least two-dimensional")


def _degenerate_factor(w: Any, gap_scale: Any) -> Tuple[Any, bool]:
    """``F[i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it, inf where ``w_i == w_j``.

    ``w`` is sorted along its last axis (a dual for nested derivatives). Gaps below a few
    ulps of the spectrum's scale count as repeated values: a huge finite factor there would
    be a silently wrong derivative.
    """
    wp = primal(w)
    m = wp.shape[-1]
    gap = wp[..., None, :] - wp[..., :, None]
    scale = np.max(np.abs(gap_scale), axis=-1, initial=0.0)[..., None, None]
    close = np.abs(gap) <= 16 * m * np.finfo(wp.dtype).eps * scale
    diag = np.eye(m, dtype=bool)
    denom = np.where(close, 1.0, w[..., None, :] - w[..., :, None])
    factor = np.where(close, np.where(diag, 0.0, np.inf), 1.0 / denom)
    return factor, bool(np.any(close & ~diag))


def _scale_degenerate(c: Any, factor: Any, degenerate: bool) -> Any:
    """``F ∘ C`` per direction; at repeated values inf/nan unless the direction is zero."""
    with np.errstate(invalid="ignore", over="ignore"):
        coef = c * factor[..., None]
    if degenerate:
        still = np.all(primal(c) == 0, axis=(-3, -2))[..., None, None, :]
        coef = np.where(still, 0.0, coef)
    return coef


# =========================================================================================
# solve, inv, det, slogdet
# =========================================================================================
@implements("custom", "linalg.solve")
def solve(a: Any, b: Any) -> Any:
    """``x = A^{-1} b``; ``dx = A^{-1} (db - dA x)``."""
    tag, (av, bv), (da, db) = split_all(a, b)
    _check_square(av, "solve")
    vector = np.ndim(bv) == 1
    if vector:  # numpy 2: only a 1-d b is a vector
        bv = bv[:, None]
        db = None if db is None else db[:, None]
    if da is None and isinstance(bv, np.ndarray) and isinstance(db, np.ndarray):
        # a plain A: value and tangents share one factorization
        k = bv.shape[-1]
        both = np.linalg.solve(av, np.concatenate(
            [bv, np.reshape(db, db.shape[:-2] + (-1,))], axis=-1))
        x, dx = both[..., :k], np.reshape(both[..., k:], both.shape[:-1] + db.shape[-2:])
    else:
        x = np.linalg.solve(av, bv)
        rhs = accumulate(db, None if da is None else -_rmul(da, x))
        dx = _lsolve(av, rhs)
    if vector:
        x, dx = x[..., 0], dx[..., 0, :]
    return result(x, dx, tag)


@implements("custom", "linalg.inv")
def inv(a: Any) -> Any:
    """``d(A^{-1}) = -A^{-1} dA A^{-1}``."""
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "inv")
    value = np.linalg.inv(av)
    return result(value, -_rmul(_lmul(value, da), value), tag)


def _adjugate(a: Any) -> Any:
    """adj(A), defined and smooth at singular matrices too (det * inv is not)."""
    m = np.shape(a)[-1]
    if m == 1:
        return np.ones_like(a)
    if isinstance(a, DualNumber):
        s = np.linalg.svd(primal(a), compute_uv=False)
        if np.all(s[..., -1] > 1e-8 * s[..., 0]):
            return np.linalg.det(a)[..., None, None] * np.linalg.inv(a)
        # singular and nested: cofactors, as determinants of all minors at once
        keep = np.arange(m - 1)[None, :] + (np.arange(m - 1)[None, :] >= np.arange(m)[:, None])
        minors = a[..., keep[:, None, :, None], keep[None, :, None, :]]
        signs = 1.0 - 2.0 * (np.add.outer(np.arange(m), np.arange(m)) % 2)
        return _mT(np.linalg.det(minors) * signs)
    # A = U S V^T: adj(A) = adj(V^T) adj(S) adj(U) = det(U V^T) V diag(prod_{j != i} s_j) U^T
    u, s, vh = np.linalg.svd(a)
    ones = np.ones(s.shape[:-1] + (1,), dtype=s.dtype)
    before = np.cumprod(np.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
    after = np.cumprod(np.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return np.matmul(_mT(vh) * (before * after)[..., None, :], _mT(u)) * sign[..., None, None]


@implements("custom", "linalg.det")
def det(a: Any) -> Any:
    """``d det(A) = tr(adj(A) dA)``: exact at singular matrices."""
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "det")
    return result(np.linalg.det(av), _trace_prod(_adjugate(av), da), tag)


@implements("custom", "linalg.slogdet")
def slogdet(a: Any) -> Any:
    """``(sign, log|det A|)``: a plain sign and ``d log|det A| = tr(A^{-1} dA)``."""
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "slogdet")
    sign, logabs = np.linalg.slogdet(av)
    sign = primal(sign)
    singular = sign == 0
    safe = av
    if np.any(singular):  # derivative infinite: nan where the matrix moves, 0 where not
        eye = np.eye(np.shape(av)[-1], dtype=_dtype(av))
        safe = np.where(singular[..., None, None], eye, av)
    partials = _trace_prod(np.linalg.inv(safe), da)
    if np.any(singular):
        moving = np.any(primal(da) != 0, axis=(-3, -2))
        partials = np.where(singular[..., None] & moving, np.nan,
                            np.where(singular[..., None], 0.0, partials))
    return _SlogdetResult(sign, result(logabs, partials, tag))


# =========================================================================================
# factorizations: cholesky, eigh, eigvalsh, svd, svdvals, qr
# =========================================================================================
@implements("custom", "linalg.cholesky")
def cholesky(a: Any, /, *, upper: bool = False) -> Any:
    """``dL = L Φ(L^{-1} dA_sym L^{-T})``, Φ = lower triangle with half the diagonal.

    numpy reads only one triangle of ``a``; the tangent is symmetrized from the same one.
    """
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "cholesky")
    # numpy's own call: the lower factor of A^T, transposed, is not always the same bits
    factor = np.linalg.cholesky(av, upper=upper)
    if da is None:
        return factor
    low = _mT(factor) if upper else factor
    m = np.shape(av)[-1]
    phi = np.tril(np.ones((m, m), dtype=_dtype(da))) - 0.5 * np.eye(m, dtype=_dtype(da))
    x = _rsolve(_lsolve(low, _sym_lower(_pT(da) if upper else da)), _mT(low))
    dlow = _lmul(low, x * phi[..., None])
    return result(factor, _pT(dlow) if upper else dlow, tag)


def _eigh(a: Any, UPLO: Any, vectors: bool, name: str) -> Tuple[Any, Any]:
    tag, (av,), (da,) = split_all(a)
    _check_square(av, name)
    if UPLO not in ("L", "U"):
        raise ValueError(f"dualad: numpy.linalg.{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    # numpy's own call on the value: eigh(A^T, "L") has the same eigenvalues but LAPACK may
    # pick other signs for the eigenvectors than eigh(A, "U")
    if not vectors and da is None:
        return np.linalg.eigvalsh(av, UPLO), None
    w, v = np.linalg.eigh(av, UPLO)
    if da is None:
        return w, v
    # the tangent numpy sees reads the same triangle; the upper one of dA is the lower of dA^T
    c = _rmul(_lmul(_mT(v), _sym_lower(da if UPLO == "L" else _pT(da))), v)  # V^T dA V
    dw = _pdiag(c)
    if not vectors:  # numpy's eigenvalue-only driver: not always the same bits as eigh's
        return result(np.linalg.eigvalsh(av, UPLO), dw, tag), None
    factor, degenerate = _degenerate_factor(w, primal(w))
    with np.errstate(invalid="ignore"):  # inf/nan at repeated eigenvalues, on purpose
        dv = _lmul(v, _scale_degenerate(c, factor, degenerate))
    return result(w, dw, tag), result(v, dv, tag)


@implements("custom", "linalg.eigh")
def eigh(a: Any, UPLO: str = "L") -> Any:
    """``dw = diag(V^T dA V)``, ``dV = V (F ∘ V^T dA V)`` with ``F_ij = 1/(w_j - w_i)``."""
    return _EighResult(*_eigh(a, UPLO, True, "eigh"))


@implements("custom", "linalg.eigvalsh")
def eigvalsh(a: Any, UPLO: str = "L") -> Any:
    return _eigh(a, UPLO, False, "eigvalsh")[0]


@implements("custom", "linalg.svd")
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """``ds = diag(U^T dA V)``; singular vectors by the formulas of the real reduced SVD.

    With ``F_ij = 1/(s_j^2 - s_i^2)`` and ``C = U^T dA V``:
    ``dU = U (F ∘ (C S + S C^T)) + (I - U U^T) dA V S^{-1}``,
    ``dV = V (F ∘ (S C + C^T S)) + (I - V V^T) dA^T U S^{-1}``.
    """
    tag, (av,), (da,) = split_all(a)
    _check_matrix(av, "svd")
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    m, n = np.shape(av)[-2:]
    if compute_uv and full_matrices and m != n:
        raise TypeError("dualad: numpy.linalg.svd(full_matrices=True) of a non-square matrix "
                        "on DualNumber: the extra singular vectors are not unique, so they "
                        "have no derivative; pass full_matrices=False")
    if not compute_uv:
        if da is None:
            return np.linalg.svd(av, compute_uv=False)
        u, _, vh = np.linalg.svd(av, full_matrices=False)
        # numpy's values-only driver: not always the same bits as the full decomposition's
        s = np.linalg.svd(av, compute_uv=False)
        return result(s, _pdiag(_rmul(_lmul(_mT(u), da), _mT(vh))), tag)
    u, s, vh = np.linalg.svd(av, full_matrices=False)
    if da is None:
        return _SVDResult(u, s, vh)
    v = _mT(vh)
    c = _rmul(_lmul(_mT(u), da), v)  # U^T dA V, (..., k, k, n)
    ds = _pdiag(c)
    factor, degenerate = _degenerate_factor(s * s, primal(s) ** 2)
    si, sj = s[..., :, None, None], s[..., None, :, None]
    ct = _pT(c)
    with np.errstate(divide="ignore", invalid="ignore"):  # inf/nan at repeated values
        du = _lmul(u, _scale_degenerate(c * sj + ct * si, factor, degenerate))
        dv = _lmul(v, _scale_degenerate(c * si + ct * sj, factor, degenerate))
        if m > n:  # the part of dU outside the column space of U
            du = du + (_rmul(da, v) - _lmul(u, c)) / sj
        elif n > m:
            dv = dv + (_rmul(_pT(da), u) - _lmul(v, ct)) / sj
    return _SVDResult(result(u, du, tag), result(s, ds, tag), result(vh, _pT(dv), tag))


def _svd_hermitian(a: Any, compute_uv: bool) -> Any:
    # as numpy does it: from eigh, |w| sorted descending, the signs moved into vh
    w, u = np.linalg.eigh(a)
    wp = primal(w)
    order = np.argsort(np.abs(wp), axis=-1)[..., ::-1]
    s = np.take_along_axis(np.abs(w), order, axis=-1)
    if not compute_uv:
        return s
    u = np.take_along_axis(u, order[..., None, :], axis=-1)
    sgn = np.take_along_axis(np.sign(wp), order, axis=-1)
    return _SVDResult(u, s, _mT(u * sgn[..., None, :]))


@implements("custom", "linalg.svdvals")
def svdvals(x: Any, /) -> Any:
    return svd(x, compute_uv=False)


@implements("custom", "linalg.qr")
def qr(a: Any, mode: str = "reduced") -> Any:
    """Householder QR of a full-rank ``a``: with ``C = Q^T dA R^{-1}`` and ``Ω`` its strict
    lower triangle made antisymmetric, ``dR = (C - Ω) R`` and ``dQ = dA R^{-1} - Q dR R^{-1}``.
    For a wide ``a = [X | Y]``, the square rule on ``X`` and ``d(Q^T Y)`` for the rest."""
    tag, (av,), (da,) = split_all(a)
    _check_matrix(av, "qr")
    m, n = np.shape(av)[-2:]
    if mode == "raw":
        raise TypeError("dualad: numpy.linalg.qr(mode='raw') returns Householder reflectors, "
                        "which have no derivative here; use mode='reduced'")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"dualad: numpy.linalg.qr: unrecognized mode {mode!r}")
    if mode == "complete" and m > n:
        raise TypeError("dualad: numpy.linalg.qr(mode='complete') of a tall matrix on "
                        "DualNumber: the extra columns of Q are not unique, so they have no "
                        "derivative; use mode='reduced'")
    q, r = np.linalg.qr(av)
    if da is not None:
        k = min(m, n)
        rk, dak = r[..., :, :k], da[..., :, :k, :]
        c = _rsolve(_lmul(_mT(q), dak), rk)
        strict = np.tril(np.ones((k, k), dtype=_dtype(da)), -1)[..., None]
        low = c * strict
        upper_part = c - (low - _pT(low))
        dr = _rmul(upper_part, rk)
        dq = _rsolve(dak, rk) - _lmul(q, upper_part)
        if n > m:  # R = [U | Q^T Y]
            y, dy = av[..., :, k:], da[..., :, k:, :]
            dr = np.concatenate([dr, _rmul(_pT(dq), y) + _lmul(_mT(q), dy)], axis=-2)
        q, r = result(q, dq, tag), result(r, dr, tag)
    return r if mode == "r" else _QRResult(q, r)


# =========================================================================================
# pseudo-inverse and least squares (full rank; rank-preserving perturbations in general)
# =========================================================================================
@implements("custom", "linalg.pinv")
def pinv(a: Any, rcond: Any = None, hermitian: bool = False, *, rtol: Any = _NoValue) -> Any:
    """``dA+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+``."""
    _check_matrix(a, "pinv")
    if hermitian:  # numpy reads only the lower triangle then: symmetrize from it
        _check_square(a, "pinv")
        a = np.tril(a) + _mT(np.tril(a, -1))
    tag, (av,), (da,) = split_all(a)
    kw = {} if rtol is _NoValue else {"rtol": rtol}
    value = np.linalg.pinv(av, rcond, hermitian, **kw)
    if da is None:
        return value
    m, n = np.shape(av)[-2:]
    pt, dat = _mT(value), _pT(da)
    left = np.eye(m, dtype=_dtype(av)) - np.matmul(av, value)
    right = np.eye(n, dtype=_dtype(av)) - np.matmul(value, av)
    partials = accumulate(-_rmul(_lmul(value, da), value),
                          _rmul(_lmul(np.matmul(value, pt), dat), left),
                          _rmul(_lmul(right, dat), np.matmul(pt, value)))
    return result(value, partials, tag)


@implements("custom", "linalg.lstsq")
def lstsq(a: Any, b: Any, rcond: Any = None) -> Tuple[Any, Any, Any, Any]:
    """``x = A+ b``: ``dx = A+ (db - dA x) + A+ A+^T dA^T r + (I - A+ A) dA^T A+^T x``."""
    tag, (av, bv), (da, db) = split_all(a, b)
    if np.ndim(av) != 2:
        raise LinAlgError(f"dualad: numpy.linalg.lstsq: a must be two-dimensional, got shape "
                          f"{np.shape(av)}")
    x, res, rank, sv = np.linalg.lstsq(av, bv, rcond=rcond)
    vector = np.ndim(bv) == 1
    xm, bm = (x[:, None], bv[:, None]) if vector else (x, bv)
    dbm = db[:, None] if vector and db is not None else db
    p = np.linalg.pinv(av)
    r = bm - np.matmul(av, xm)
    rhs = accumulate(dbm, None if da is None else -_rmul(da, xm))
    dx = _lmul(p, rhs)
    if da is not None:
        dat = _pT(da)
        dx = dx + _lmul(np.matmul(p, _mT(p)), _rmul(dat, r))
        right = np.eye(np.shape(av)[1], dtype=_dtype(av)) - np.matmul(p, av)
        dx = dx + _lmul(right, _rmul(dat, np.matmul(_mT(p), xm)))
        sv = svdvals(a)
    if np.shape(res)[0]:  # residual sums: d sum(r^2) = 2 sum(r (db - dA x - A dx))
        moved = accumulate(rhs, -_lmul(av, dx))
        dres = 2.0 * np.sum(r[..., None] * moved, axis=0)
        res = result(res, dres, tag)
    return result(x, dx[:, 0] if vector else dx, tag), res, rank, sv


# =========================================================================================
# tensor forms: reshapes around solve and inv
# =========================================================================================
@implements("custom", "linalg.tensorsolve")
def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    nd = np.ndim(a)
    if axes is not None:  # the named axes of a go last
        axes = [ax % nd for ax in axes]
        a = np.transpose(a, [i for i in range(nd) if i not in axes] + axes)
    shape = np.shape(a)[np.ndim(b):]
    size = int(np.prod(shape))
    if size * size != int(np.prod(np.shape(a))):
        raise LinAlgError(f"dualad: numpy.linalg.tensorsolve: a of shape {np.shape(a)} and b "
                          f"of shape {np.shape(b)} do not make a square system")
    x = solve(np.reshape(a, (size, size)), np.reshape(b, (size,)))
    return np.reshape(x, shape)


@implements("custom", "linalg.tensorinv")
def tensorinv(a: Any, ind: int = 2) -> Any:
    if ind <= 0:
        raise ValueError("dualad: numpy.linalg.tensorinv: ind must be a positive integer")
    shape = np.shape(a)
    size = int(np.prod(shape[ind:]))
    if int(np.prod(shape[:ind])) != size:
        raise LinAlgError(f"dualad: numpy.linalg.tensorinv: the first {ind} axes of shape "
                          f"{shape} do not match the rest in size")
    return np.reshape(inv(np.reshape(a, (size, size))), shape[ind:] + shape[:ind])


# =========================================================================================
# norms and condition numbers: compositions of supported dual operations
# =========================================================================================
def _vector_norm(x: Any, ord: Any, axes: Any, keepdims: bool) -> Any:
    if isinstance(ord, str):
        raise ValueError(f"dualad: invalid norm order {ord!r} for vectors")
    if ord is None or ord == 2:  # sqrt at 0 with a zero tangent: derivative 0
        return np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdims))
    if ord == np.inf:
        return np.max(np.abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:  # a count of nonzeros: piecewise constant
        return _zero_derivative(x, np.sum(primal(x) != 0, axis=axes, keepdims=keepdims,
                                          dtype=_dtype(x)))
    if ord == 1:
        return np.sum(np.abs(x), axis=axes, keepdims=keepdims)
    norm = np.sum(np.abs(x) ** float(ord), axis=axes, keepdims=keepdims) ** (1.0 / float(ord))
    tag = top_tag((x,))
    return with_value(norm, np.linalg.vector_norm(split(x, tag)[0], axis=axes, ord=ord,
                                                  keepdims=keepdims))


def _matrix_norm(x: Any, ord: Any, axes: Any, keepdims: bool) -> Any:
    row, col = axes
    if row == col:
        raise ValueError("dualad: duplicate axes given to a matrix norm")
    if ord in (None, "fro", "f"):
        out = np.sqrt(np.sum(x * x, axis=axes))
    elif ord in ("nuc", 2, -2):
        nd = np.ndim(x)
        moved = np.transpose(x, [i for i in range(nd) if i not in axes] + [row, col])
        s = svdvals(moved)
        out = np.sum(s, axis=-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
    elif ord in (1, -1, np.inf, -np.inf):
        inner, outer = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(np.abs(x), axis=inner)
        outer -= outer > inner
        out = np.max(sums, axis=outer) if ord > 0 else np.min(sums, axis=outer)
    else:
        raise ValueError(f"dualad: invalid norm order {ord!r} for matrices")
    if keepdims:
        out = np.expand_dims(out, tuple(sorted(axes)))
    return out


@implements("custom", "linalg.norm")
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = np.ndim(x)
    if axis is None:
        if ord is None:
            out = _vector_norm(x, None, None, False)
            return np.reshape(out, (1,) * nd) if keepdims else out
        axis = tuple(range(nd))
        if nd not in (1, 2):
            raise ValueError(f"dualad: numpy.linalg.norm: improper number of dimensions "
                             f"({nd}) for ord={ord!r}; pass axis")
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axis = tuple(ax % nd if -nd <= ax < nd else _bad_axis(ax, nd) for ax in axis)
    if len(axis) == 1:
        return _vector_norm(x, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(x, ord, axis, keepdims)
    raise ValueError("dualad: numpy.linalg.norm: improper number of dimensions to norm")


def _bad_axis(ax: Any, nd: int) -> NoReturn:
    raise np.exceptions.AxisError(ax, nd)


@implements("custom", "linalg.vector_norm")
def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    return _vector_norm(x, ord, axis, keepdims)


@implements("custom", "linalg.matrix_norm")
def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    _check_matrix(x, "matrix_norm")
    return _matrix_norm(x, ord, (np.ndim(x) - 2, np.ndim(x) - 1), keepdims)


@implements("custom", "linalg.cond")
def cond(x: Any, p: Any = None) -> Any:
    _check_matrix(x, "cond")
    if p is None or p in (2, -2):
        s = svdvals(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
        # like numpy: a singular (finite) matrix has condition number inf
        return np.where(np.isnan(primal(out)), np.inf, out)
    _check_square(x, "cond")
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


# =========================================================================================
# eig, eigvals: real matrices with real, distinct eigenvalues
# =========================================================================================
_EigResult = type(np.linalg.eig(np.eye(1)))


def _real_spectrum(w: Any, name: str) -> None:
    if np.iscomplexobj(primal(w)):
        raise ValueError(f"dualad: numpy.linalg.{name}: the matrix has complex eigenvalues, "
                         "and duals are real; derivatives of a complex spectrum are not "
                         "supported (symmetric matrices, whose spectrum is real: use "
                         "np.linalg.eigh / eigvalsh)")


def _eig_tangents(w: Any, v: Any, da: Any, name: str, vectors: bool) -> Tuple[Any, Any]:
    """``dw = diag(C)``, ``C = V^{-1} dA V``; ``dV = W - V diag(V^T W)``, ``W = V (F ∘ C)``,
    ``F_ij = 1/(w_j - w_i)``: the tangent of the unit eigenvectors numpy returns."""
    factor, degenerate = _degenerate_factor(w, primal(w))
    if degenerate:
        raise ValueError(f"dualad: numpy.linalg.{name}: the matrix has repeated eigenvalues, "
                         "where eigenvalues and eigenvectors of a non-symmetric matrix are "
                         "not differentiable (for symmetric matrices use np.linalg.eigh)")
    c = _lsolve(v, _rmul(da, v))  # V^{-1} dA V, (..., M, M, n)
    dw = _pdiag(c)
    if not vectors:
        return dw, None
    dv = _lmul(v, c * factor[..., None])
    # numpy's eigenvectors have unit norm: no component along their own direction
    along = np.sum(v[..., None] * dv, axis=-3)  # (..., M, n): v_k^T dv_k
    return dw, dv - v[..., None] * along[..., None, :, :]


@implements("custom", "linalg.eig")
def eig(a: Any) -> Any:
    """Eigenvalues and unit eigenvectors of a real matrix with real, distinct eigenvalues
    (else a ValueError: a complex or repeated spectrum has no real derivative here)."""
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "eig")
    w, v = np.linalg.eig(av)  # numpy's own call (nested: this one, on the inner duals)
    if da is None:
        return _EigResult(w, v)
    _real_spectrum(w, "eig")
    dw, dv = _eig_tangents(w, v, da, "eig", True)
    return _EigResult(result(w, dw, tag), result(v, dv, tag))


@implements("custom", "linalg.eigvals")
def eigvals(a: Any) -> Any:
    """numpy's eigvals of the value; the derivative as for ``eig``'s eigenvalues."""
    tag, (av,), (da,) = split_all(a)
    _check_square(av, "eigvals")
    w = np.linalg.eigvals(av)
    if da is None:
        return w
    _real_spectrum(w, "eigvals")
    we, v = np.linalg.eig(av)
    _real_spectrum(we, "eigvals")
    wp, wep = primal(w), primal(we)
    if not np.array_equal(wp, wep):  # (LAPACK computes them apart): match eig's to eigvals'
        order = np.argmin(np.abs(wp[..., :, None] - wep[..., None, :]), axis=-1)
        if np.any(np.sort(order, axis=-1) != np.arange(wp.shape[-1])):
            raise ValueError("dualad: numpy.linalg.eigvals: eigenvalues too close to tell "
                             "apart; they are not differentiable there")
        we = np.take_along_axis(we, order, axis=-1)
        v = np.take_along_axis(v, order[..., None, :], axis=-1)
    return result(w, _eig_tangents(we, v, da, "eigvals", False)[0], tag)


UNSUPPORTED.pop(np.linalg.eig, None)
UNSUPPORTED.pop(np.linalg.eigvals, None)


# =========================================================================================
# polyfit: numpy's own steps, on duals (lstsq differentiates the solution)
# =========================================================================================
@implements("custom", "polyfit")
def polyfit(x: Any, y: Any, deg: Any, rcond: Any = None, full: bool = False, w: Any = None,
            cov: Any = False) -> Any:
    """``np.polyfit`` as numpy computes it (the same steps give the same value), with duals
    in ``y``, ``x`` or ``w``: the coefficients (and residuals, covariance) differentiate
    through ``lstsq`` and ``inv``."""
    order = int(deg) + 1
    x, y = _as_operand(x) + 0.0, _as_operand(y) + 0.0
    if deg < 0:
        raise ValueError("dualad: numpy.polyfit: expected deg >= 0")
    if np.ndim(x) != 1:
        raise TypeError("dualad: numpy.polyfit: expected 1D vector for x")
    if np.size(x) == 0:
        raise TypeError("dualad: numpy.polyfit: expected non-empty vector for x")
    if np.ndim(y) < 1 or np.ndim(y) > 2:
        raise TypeError("dualad: numpy.polyfit: expected 1D or 2D array for y")
    if np.shape(x)[0] != np.shape(y)[0]:
        raise TypeError("dualad: numpy.polyfit: expected x and y to have same length")
    if rcond is None:
        rcond = len(x) * np.finfo(_dtype(x)).eps
    lhs = _vander(x, order)
    rhs = y
    if w is not None:
        w = _as_operand(w) + 0.0
        if np.ndim(w) != 1:
            raise TypeError("dualad: numpy.polyfit: expected a 1-d array for weights")
        if np.shape(w)[0] != np.shape(y)[0]:
            raise TypeError("dualad: numpy.polyfit: expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if np.ndim(rhs) == 2 else w)
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    lhs = lhs / scale
    c, resids, rank, s = np.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning,
                      stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if not cov:
        return c
    vbase = np.linalg.inv(np.dot(lhs.T, lhs)) / np.outer(scale, scale)
    if cov == "unscaled":
        fac: Any = 1
    else:
        if len(x) <= order:
            raise ValueError("dualad: numpy.polyfit: the number of data points must exceed "
                             "order to scale the covariance matrix")
        fac = resids / (len(x) - order)
    return c, (vbase * fac if np.ndim(y) == 1 else vbase[:, :, None] * fac)


def _as_operand(a: Any) -> Any:
    return a if isinstance(a, DualNumber) else np.asarray(a)


def _vander(x: Any, order: int) -> Any:
    """``np.vander(x, order)``; of a dual by the same products (numpy multiplies up the
    powers: ``np.power`` would round otherwise)."""
    if not isinstance(x, DualNumber):
        return np.vander(x, order)
    ones = np.ones((len(x), 1), dtype=_dtype(x))
    if order == 1:
        return ones
    powers = np.cumprod(np.repeat(x[:, None], order - 1, axis=1), axis=1)
    return np.concatenate([powers[:, ::-1], ones], axis=1)
