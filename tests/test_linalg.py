"""numpy.linalg on duals against high-order central differences of plain numpy.

Every derivative is compared with finite differences of the *numpy* function (never with
dualad itself); second derivatives with finite differences of dualad's first derivatives.
"""
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import dualad as ad
from dualad.core.functions import HANDLED, UNSUPPORTED

SIZES = [1, 2, 3, 4, 5]
BATCHES = [(), (2,), (2, 3)]
# 6th-order central stencil for f'(x): offsets and weights
STENCIL = [(-3, -1 / 60), (-2, 3 / 20), (-1, -3 / 4), (1, 3 / 4), (2, -3 / 20), (3, 1 / 60)]


def fd_jacobian(f, x, h=1e-3):
    """Jacobian of ``f`` at ``x`` (shape f(x).shape + x.shape) by a 6th-order stencil."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(f(x), dtype=float)
    jac = np.zeros(f0.shape + x.shape)
    for i in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[i] = h
        jac[(...,) + i] = sum(w * np.asarray(f(x + k * step), dtype=float)
                              for k, w in STENCIL) / h
    return jac


def check(f, x, rtol=1e-7, atol=1e-8, h=1e-3):
    """dualad's Jacobian of f equals finite differences of the same function on floats."""
    jac = ad.jacobian(f, x)
    ref = fd_jacobian(f, x, h)
    assert jac.shape == ref.shape
    np.testing.assert_allclose(jac, ref, rtol=rtol, atol=atol)
    return jac


def check_second(f, x, rtol=1e-6, atol=1e-7, h=1e-3):
    """Nested Jacobian of f equals finite differences of dualad's first derivative."""
    first = lambda y: ad.jacobian(f, y)  # noqa: E731
    hess = ad.jacobian(first, x)
    np.testing.assert_allclose(hess, fd_jacobian(first, x, h), rtol=rtol, atol=atol)
    return hess


def rng_for(*key):
    """A generator seeded from the test's parameters (stable across runs, unlike hash())."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def orthogonal(rng, shape):
    q, r = np.linalg.qr(rng.standard_normal(shape))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def general(rng, m, batch=(), n=None):
    """Well-conditioned (singular values in [1, 3]), with distinct singular values."""
    n = m if n is None else n
    k = min(m, n)
    s = np.linspace(3.0, 1.0, k) + rng.uniform(-0.15, 0.15, batch + (k,)) * (k > 1)
    u = orthogonal(rng, batch + (m, k))
    v = orthogonal(rng, batch + (n, k))
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def spd(rng, m, batch=()):
    """Symmetric positive definite with well-separated eigenvalues in [1, 4]."""
    w = np.linspace(1.0, 4.0, m) + rng.uniform(-0.2, 0.2, batch + (m,)) * (m > 1)
    q = orthogonal(rng, batch + (m, m))
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def flip_signs(vectors, reference):
    """Signs making each column of ``vectors`` point like ``reference`` (a plain array):
    eigen/singular vectors are defined up to sign, and the sign is held fixed locally."""
    plain = vectors
    while isinstance(plain, ad.DualNumber):
        plain = plain.value
    return np.sign(np.sum(plain * reference, axis=-2, keepdims=True))


# =========================================================================================
# solve, inv, det, slogdet
# =========================================================================================
@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_solve_dual_matrix_plain_rhs(m, batch):
    rng = rng_for("solve1", m, batch)
    a, b = general(rng, m, batch), rng.standard_normal(batch + (m, 2))
    check(lambda x: np.linalg.solve(x, b), a)


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_solve_plain_matrix_dual_rhs(m, batch):
    rng = rng_for("solve2", m, batch)
    a, b = general(rng, m, batch), rng.standard_normal(batch + (m, 3))
    check(lambda x: np.linalg.solve(a, x), b)
    check(lambda x: np.linalg.solve(a, x), b[(0,) * len(batch)][:, 0])  # 1-d b, broadcast


@pytest.mark.parametrize("m", SIZES)
def test_solve_both_dual_vector(m):
    rng = rng_for("solve3", m)
    packed = np.concatenate([general(rng, m), rng.standard_normal((m, 1))], axis=1)
    check(lambda x: np.linalg.solve(x[:, :m], x[:, m]), packed)


def test_solve_broadcast_batches():
    rng = rng_for("solve4")
    a, b = general(rng, 3, (2,)), rng.standard_normal((4, 1, 3, 2))
    check(lambda x: np.linalg.solve(x, b), a)  # dual A batch (2,), b batch (4, 1)
    check(lambda x: np.linalg.solve(a, x), b)
    packed = np.concatenate([a, np.broadcast_to(b[0, 0], (2, 3, 2))], axis=-1)
    check(lambda x: np.linalg.solve(x[..., :3], x[0, :, 3:]), packed)  # both dual


@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       m=st.integers(1, 4), k=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_solve_property_broadcast_batches(shapes, m, k, seed):
    # dual A and dual b with independently broadcast batch shapes, packed into one input
    rng = np.random.default_rng(seed)
    (batch_a, batch_b), batch = shapes.input_shapes, shapes.result_shape
    a = general(rng, m, batch_a)
    b = rng.standard_normal(batch_b + (m, k))
    packed = np.concatenate([np.broadcast_to(a, batch + (m, m)),
                             np.broadcast_to(b, batch + (m, k))], axis=-1)
    sel_a = tuple(slice(None) if s > 1 else slice(0, 1) for s in batch_a)
    sel_b = tuple(slice(None) if s > 1 else slice(0, 1) for s in batch_b)

    def f(x):
        xa = x[(0,) * (len(batch) - len(batch_a)) + sel_a][..., :m]
        xb = x[(0,) * (len(batch) - len(batch_b)) + sel_b][..., m:]
        return np.linalg.solve(xa, xb)
    assert f(packed).shape == batch + (m, k)
    check(f, packed)


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_inv(m, batch):
    check(np.linalg.inv, general(rng_for("inv", m, batch), m, batch))


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_det(m, batch):
    check(np.linalg.det, general(rng_for("det", m, batch), m, batch))


@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("rank_drop", [1, 2])  # rank 0 at m=2
def test_det_at_singular_matrices(m, rank_drop):
    rng = rng_for("detsing", m, rank_drop)
    a = rng.standard_normal((2, m, m - rank_drop)) @ rng.standard_normal((2, m - rank_drop, m))
    jac = check(np.linalg.det, a)
    if rank_drop == 1:  # the adjugate of a rank m-1 matrix is not zero
        assert np.abs(jac).max() > 1e-3
    check_second(np.linalg.det, a[0])  # second order goes through the cofactors


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", [(), (3,)])
def test_slogdet(m, batch):
    rng = rng_for("slogdet", m, batch)
    a = general(rng, m, batch) * np.where(rng.random(batch + (1, 1)) < 0.5, -1.0, 1.0)
    check(lambda x: np.linalg.slogdet(x).logabsdet, a)
    out = np.linalg.slogdet(ad.DualNumber(a, np.ones(a.shape + (1,))))
    assert type(out) is type(np.linalg.slogdet(a))
    assert not isinstance(out.sign, ad.DualNumber)
    np.testing.assert_array_equal(out.sign, np.linalg.slogdet(a).sign)
    assert isinstance(out.logabsdet, ad.DualNumber)


def test_dlogdet_identity():
    # d log|det A| = tr(A^{-1} dA), and d det = det(A) tr(A^{-1} dA) (Jacobi)
    rng = rng_for("jacobi")
    a, da = general(rng, 4), rng.standard_normal((4, 4))
    ref = np.trace(np.linalg.solve(a, da))
    _, got = ad.jvp(lambda x: np.linalg.slogdet(x)[1], a, da)
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    _, got = ad.jvp(np.linalg.det, a, da)
    np.testing.assert_allclose(got, np.linalg.det(a) * ref, rtol=1e-12)


def test_slogdet_singular_is_nan_not_finite():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    jac = ad.jacobian(lambda x: np.linalg.slogdet(x)[1], a)
    assert np.all(np.isnan(jac))
    # a zero tangent still gives 0
    out = np.linalg.slogdet(ad.DualNumber(a, np.zeros((2, 2, 1))))
    assert out.logabsdet.partials[0] == 0.0


# =========================================================================================
# cholesky, eigh, eigvalsh
# =========================================================================================
@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_reads_lower_triangle(m, batch):
    a = spd(rng_for("chol", m, batch), m, batch)
    # numpy reads only the lower triangle: non-symmetric perturbations must agree too
    jac = check(np.linalg.cholesky, a)
    upper = np.triu(np.ones((m, m)), 1).astype(bool)
    assert np.all(jac[(Ellipsis,) + np.nonzero(upper)] == 0)


@pytest.mark.parametrize("m", SIZES)
def test_cholesky_upper(m):
    a = spd(rng_for("cholu", m), m)
    a = a + np.tril(rng_for("cholu2", m).standard_normal((m, m)), -1)  # lower part ignored
    check(lambda x: np.linalg.cholesky(x, upper=True), a)


def test_cholesky_not_positive_definite():
    x = ad.DualNumber(-np.eye(2), np.ones((2, 2, 1)))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.cholesky(x)


@pytest.mark.parametrize("m", SIZES)
@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(m, batch, uplo):
    a = spd(rng_for("eigh", m, batch, uplo), m, batch)
    a = a + rng_for("eigh2", m).standard_normal(a.shape) * 0.1  # one triangle is read
    w0, v0 = np.linalg.eigh(a, UPLO=uplo)
    check(lambda x: np.linalg.eigh(x, UPLO=uplo).eigenvalues, a)
    check(lambda x: np.linalg.eigvalsh(x, UPLO=uplo), a)

    def vectors(x):
        v = np.linalg.eigh(x, UPLO=uplo).eigenvectors
        return v * flip_signs(v, v0)
    check(vectors, a, rtol=1e-6, atol=1e-7)


def test_eigh_result_type():
    a = spd(rng_for("eighres"), 3)
    out = np.linalg.eigh(ad.DualNumber(a, np.ones((3, 3))))
    assert type(out) is type(np.linalg.eigh(a))
    assert isinstance(out.eigenvalues, ad.DualNumber)


def test_eigh_repeated_eigenvalues_give_nonfinite_vectors():
    q = orthogonal(rng_for("degenerate"), (3, 3))
    a = (q * np.array([1.0, 1.0, 2.0])) @ q.T
    jac = ad.jacobian(lambda x: np.linalg.eigh(x)[1], a)
    assert not np.all(np.isfinite(jac[:, :2]))  # the repeated pair: undefined
    assert np.all(np.isfinite(ad.jacobian(np.linalg.eigvalsh, a)))
    # a perturbation along which nothing moves still has derivative 0
    out = np.linalg.eigh(ad.DualNumber(a, np.zeros((3, 3, 1))))
    assert np.all(out.eigenvectors.partials == 0)


def test_eigvalsh_trace_identity():
    # sum of eigenvalues = trace, so its gradient is the identity (lower-triangle rule: the
    # strict upper entries are not read)
    a = spd(rng_for("evtrace"), 4)
    grad = ad.jacobian(lambda x: np.sum(np.linalg.eigvalsh(x)), a)
    np.testing.assert_allclose(grad, np.eye(4), atol=1e-12)


# =========================================================================================
# svd, svdvals, pinv, lstsq, qr
# =========================================================================================
SHAPES = [(1, 1), (3, 3), (5, 2), (2, 4), (4, 3), (1, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_svdvals(shape, batch):
    a = general(rng_for("svdvals", shape, batch), shape[0], batch, shape[1])
    check(np.linalg.svdvals, a)
    check(lambda x: np.linalg.svd(x, compute_uv=False), a)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_svd_vectors(shape, batch):
    a = general(rng_for("svd", shape, batch), shape[0], batch, shape[1])
    u0, _, vh0 = np.linalg.svd(a, full_matrices=False)

    def parts(x):
        u, s, vh = np.linalg.svd(x, full_matrices=False)
        sign = flip_signs(u, u0)
        return np.concatenate([np.reshape(u * sign, batch + (-1,)), s,
                               np.reshape(vh * np.swapaxes(sign, -1, -2), batch + (-1,))],
                              axis=-1)
    check(parts, a, rtol=1e-6, atol=1e-7)


def test_svd_full_matrices_non_square_raises():
    x = ad.DualNumber(np.ones((3, 2)), np.ones((3, 2, 1)))
    with pytest.raises(TypeError, match="full_matrices=False"):
        np.linalg.svd(x)
    assert len(np.linalg.svd(ad.DualNumber(np.eye(2), np.ones((2, 2, 1))))) == 3


def test_svd_hermitian():
    a = spd(rng_for("svdh"), 4) - 2.5 * np.eye(4)  # indefinite: signs move into vh
    check(lambda x: np.linalg.svd(x, hermitian=True, compute_uv=False), a)
    u0 = np.linalg.svd(a, hermitian=True)[0]

    def parts(x):
        u, s, vh = np.linalg.svd(x, hermitian=True)
        sign = flip_signs(u, u0)
        return np.concatenate([(u * sign).ravel(), s, (vh * sign.T).ravel()])
    check(parts, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("shape", SHAPES)
def test_pinv(shape):
    a = general(rng_for("pinv", shape), shape[0], (), shape[1])
    check(np.linalg.pinv, a)
    check(lambda x: np.linalg.pinv(x[None] * np.ones((2, 1, 1))), a)  # batched


def test_pinv_hermitian():
    a = spd(rng_for("pinvh"), 3) + np.triu(np.ones((3, 3)), 1)  # only lower triangle read
    check(lambda x: np.linalg.pinv(x, hermitian=True), a)


@pytest.mark.parametrize("shape", [(5, 2), (4, 4), (3, 1), (2, 4)])
@pytest.mark.parametrize("k", [None, 2])
def test_lstsq(shape, k):
    rng = rng_for("lstsq", shape, k)
    a = general(rng, shape[0], (), shape[1])
    b = rng.standard_normal(shape[:1] + (() if k is None else (k,)))
    check(lambda x: np.linalg.lstsq(x, b, rcond=None)[0], a)  # dual A
    check(lambda x: np.linalg.lstsq(a, x, rcond=None)[0], b)  # dual b
    packed = np.concatenate([a, b.reshape(shape[0], -1)], axis=1)
    n = shape[1]
    rhs = (lambda x: x[:, n]) if k is None else (lambda x: x[:, n:])
    check(lambda x: np.linalg.lstsq(x[:, :n], rhs(x), rcond=None)[0], packed)
    if shape[0] > shape[1]:  # residual sums and singular values
        check(lambda x: np.linalg.lstsq(x[:, :n], rhs(x), rcond=None)[1], packed)
        check(lambda x: np.linalg.lstsq(x[:, :n], rhs(x), rcond=None)[3], packed)
    x, res, rank, sv = np.linalg.lstsq(ad.DualNumber(a, np.ones(a.shape)), b, rcond=None)
    assert rank == min(shape)
    np.testing.assert_allclose(x.value, np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-12)


@pytest.mark.parametrize("shape", [(3, 3), (5, 2), (4, 1), (2, 5), (1, 1)])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_qr(shape, batch):
    a = general(rng_for("qr", shape, batch), shape[0], batch, shape[1])
    check(lambda x: np.linalg.qr(x).Q, a)
    check(lambda x: np.linalg.qr(x).R, a)
    check(lambda x: np.linalg.qr(x, mode="r"), a)
    if shape[0] <= shape[1]:
        check(lambda x: np.linalg.qr(x, mode="complete").Q, a)


def test_qr_modes_without_derivative_raise():
    x = ad.DualNumber(np.ones((3, 2)), np.ones((3, 2, 1)))
    with pytest.raises(TypeError, match="mode='reduced'"):
        np.linalg.qr(x, mode="complete")
    with pytest.raises(TypeError, match="raw"):
        np.linalg.qr(x, mode="raw")


# =========================================================================================
# tensor forms, norms, cond
# =========================================================================================
def test_tensorsolve_and_tensorinv():
    rng = rng_for("tensor")
    a = general(rng, 6).reshape(2, 3, 6)
    b = rng.standard_normal((2, 3))
    check(lambda x: np.linalg.tensorsolve(x, b), a)
    check(lambda x: np.linalg.tensorsolve(a, x), b)
    a_axes = general(rng, 6).reshape(6, 2, 3)  # axes=(0,) moves axis 0 last
    check(lambda x: np.linalg.tensorsolve(x, b, axes=(0,)), a_axes)
    check(lambda x: np.linalg.tensorinv(x, ind=2), general(rng, 6).reshape(2, 3, 6))
    check(lambda x: np.linalg.tensorinv(x, ind=1), general(rng, 6).reshape(6, 3, 2))


VECTOR_ORDS = [None, 2, 1, np.inf, -np.inf, 3, 1.5, 0.5, -1]


@pytest.mark.parametrize("ord", VECTOR_ORDS)
def test_vector_norms(ord):
    rng = rng_for("vnorm", ord)
    x = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    x += np.arange(12).reshape(3, 4) * 0.05  # no ties among |x|
    check(lambda y: np.linalg.norm(y[0], ord), x)
    for axis in (0, 1, -1):
        for keepdims in (False, True):
            f = lambda y: np.linalg.norm(y, ord, axis, keepdims)  # noqa: E731
            np.testing.assert_allclose(f(ad.DualNumber(x)).value, f(x), rtol=1e-13)
            check(f, x)
    ord2 = 2 if ord is None else ord
    check(lambda y: np.linalg.vector_norm(y, ord=ord2), x)
    check(lambda y: np.linalg.vector_norm(y, axis=(0, 1), keepdims=True, ord=ord2), x)
    check(lambda y: np.linalg.vector_norm(y, axis=0, ord=ord2), x)


def test_vector_norm_zero_order_has_zero_derivative():
    x = np.array([0.0, 1.5, -2.0])
    np.testing.assert_array_equal(ad.jacobian(lambda y: np.linalg.norm(y, 0), x), 0.0)
    assert np.linalg.norm(ad.DualNumber(x), 0).value == 2.0


MATRIX_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]


@pytest.mark.parametrize("ord", MATRIX_ORDS)
def test_matrix_norms(ord):
    rng = rng_for("mnorm", ord)
    x = general(rng, 3, (2,), 4) + np.arange(24).reshape(2, 3, 4) * 0.01
    check(lambda y: np.linalg.norm(y[0], ord), x)
    for axis in [(1, 2), (2, 0), (-1, -2)]:
        for keepdims in (False, True):
            f = lambda y: np.linalg.norm(y, ord, axis, keepdims)  # noqa: E731
            np.testing.assert_allclose(f(ad.DualNumber(x)).value, f(x), rtol=1e-12)
            check(f, x)
    ord2 = "fro" if ord is None else ord
    check(lambda y: np.linalg.matrix_norm(y, ord=ord2), x)
    check(lambda y: np.linalg.matrix_norm(y, ord=ord2, keepdims=True), x)


def test_norm_at_zero_has_derivative_zero():
    for f in (np.linalg.norm, lambda y: np.linalg.norm(y, axis=0),
              lambda y: np.linalg.vector_norm(y), lambda y: np.linalg.matrix_norm(y)):
        jac = ad.jacobian(f, np.zeros((3, 2)))
        assert np.all(jac == 0), f


def test_norm_bad_orders():
    x = ad.DualNumber(np.ones((2, 2)))
    with pytest.raises(ValueError):
        np.linalg.norm(x[0], "fro")
    with pytest.raises(ValueError):
        np.linalg.norm(x, 3)
    with pytest.raises(ValueError):
        np.linalg.norm(ad.DualNumber(np.ones((2, 2, 2))), 2)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond(p):
    a = general(rng_for("cond", p), 3, (2,)) + np.arange(9).reshape(3, 3) * 0.01
    check(lambda x: np.linalg.cond(x, p), a)


# =========================================================================================
# second derivatives, hessian symmetry
# =========================================================================================
@pytest.mark.parametrize("m", [1, 2, 3])
def test_second_order(m):
    rng = rng_for("second", m)
    a, s, b = general(rng, m), spd(rng, m), rng.standard_normal(m)
    check_second(lambda x: np.linalg.solve(x, b), a)
    check_second(lambda x: np.linalg.solve(a, x), b)
    check_second(np.linalg.inv, a)
    check_second(np.linalg.det, a)
    check_second(lambda x: np.linalg.slogdet(x)[1], a)
    check_second(np.linalg.cholesky, s)
    check_second(np.linalg.eigvalsh, s)
    check_second(np.linalg.svdvals, general(rng, m + 1, (), m))
    check_second(np.linalg.pinv, general(rng, m + 1, (), m))
    check_second(lambda x: np.linalg.qr(x).R, general(rng, m + 1, (), m))
    check_second(np.linalg.norm, b)


def test_second_order_eigenvectors():
    s = spd(rng_for("second_vec"), 3)
    v0 = np.linalg.eigh(s)[1]

    def vectors(x):
        v = np.linalg.eigh(x)[1]
        return v * flip_signs(v, v0)
    check_second(vectors, s, rtol=1e-5, atol=1e-6)


def test_derivative_order_two_along_a_line():
    rng = rng_for("line")
    a, b = general(rng, 3), rng.standard_normal((3, 3))
    for f in (np.linalg.det, lambda m: np.linalg.inv(m)[0, 1],
              lambda m: np.linalg.eigvalsh(m @ m.T)[0], lambda m: np.linalg.cholesky(
                  m @ m.T)[2, 1], lambda m: np.linalg.solve(m, b[0])[1]):
        g = lambda t: f(a + t * b)  # noqa: E731
        got = ad.derivative(g, 0.0, order=2)
        first = lambda t: ad.derivative(g, t)  # noqa: E731
        ref = fd_jacobian(first, 0.0)
        np.testing.assert_allclose(got, ref, rtol=1e-7, atol=1e-8)


def test_hessian_symmetric():
    a = spd(rng_for("hsym"), 3)
    for f in (np.linalg.det, lambda x: np.linalg.slogdet(x)[1],
              lambda x: np.sum(np.linalg.inv(x))):
        h = ad.jacobian(lambda y: ad.jacobian(f, y), a).reshape(9, 9)
        np.testing.assert_allclose(h, h.T, rtol=1e-10, atol=1e-12)
    # d^2 log det (A)[E, F] = -tr(A^{-1} E A^{-1} F)
    h = ad.jacobian(lambda y: ad.jacobian(lambda x: np.linalg.slogdet(x)[1], y), a)
    ai = np.linalg.inv(a)
    np.testing.assert_allclose(h, -np.einsum("li,jk->klij", ai, ai), rtol=1e-10, atol=1e-12)


# =========================================================================================
# dtype, chunking, errors, registry
# =========================================================================================
def test_float32_stays_float32():
    a = general(rng_for("f32"), 3).astype(np.float32)
    x = ad.DualNumber(a, np.ones((3, 3, 2), dtype=np.float32))
    for out in (np.linalg.solve(x, np.ones(3, dtype=np.float32)), np.linalg.inv(x),
                np.linalg.det(x), np.linalg.cholesky(x @ x.T), np.linalg.eigvalsh(x),
                np.linalg.svdvals(x), np.linalg.norm(x), np.linalg.pinv(x)):
        assert out.value.dtype == np.float32 and out.partials.dtype == np.float32
    ref = ad.jacobian(np.linalg.inv, a.astype(np.float64))
    np.testing.assert_allclose(ad.jacobian(np.linalg.inv, a), ref, rtol=1e-4, atol=1e-5)


def test_chunk_size_does_not_change_result():
    a = general(rng_for("chunk"), 4, (2,))
    ref = ad.jacobian(np.linalg.inv, a)
    for chunk in (1, 3, 32):
        np.testing.assert_allclose(ad.jacobian(np.linalg.inv, a, chunk_size=chunk), ref,
                                   rtol=1e-14)


@pytest.mark.parametrize("func", [np.linalg.inv, np.linalg.det, np.linalg.slogdet,
                                  np.linalg.cholesky, np.linalg.eigh, np.linalg.eigvalsh,
                                  lambda x: np.linalg.solve(x, np.ones(2))])
def test_non_square_raises_clearly(func):
    x = ad.DualNumber(np.ones((2, 3)))
    with pytest.raises(ValueError, match="dualad.*square"):  # LinAlgError is a ValueError
        func(x)
    with pytest.raises(ValueError, match="dualad.*two-dimensional"):
        func(ad.DualNumber(np.ones(3)))


def test_singular_solve_raises():
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(ad.DualNumber(np.zeros((2, 2))))


@pytest.mark.parametrize("func", [np.linalg.eig, np.linalg.eigvals])
def test_eig_refuses_complex_and_repeated_spectra(func):
    # (derivatives where the spectrum is real and simple: tests/test_fft_eig.py)
    with pytest.raises(ValueError, match="complex eigenvalues"):
        func(ad.DualNumber(np.array([[0.0, -1.0], [1.0, 0.0]])))
    with pytest.raises(ValueError, match="repeated eigenvalues"):
        func(ad.DualNumber(np.eye(2)))


def test_every_linalg_function_is_registered_once():
    from numpy._core.overrides import ARRAY_FUNCTIONS
    funcs = [f for f in ARRAY_FUNCTIONS if "linalg" in (getattr(f, "__module__", "") or "")]
    assert len(funcs) > 25
    for f in funcs:
        assert (f in HANDLED) != (f in UNSUPPORTED), f.__name__
